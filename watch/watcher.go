package watch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/fsnotify/fsnotify"
)

// Executor carries out the actions on every running container of a
// service; cmd/berth implements it on the runtime and the up code path.
type Executor interface {
	// Sync copies each file in (a directory recursively), or removes it
	// when Delete, creating the parent directories.
	Sync(ctx context.Context, service string, copies []Copy) error
	Exec(ctx context.Context, service string, hook types.ServiceHook) error
	Restart(ctx context.Context, service string) error
	// Rebuild builds the service's image and recreates its containers.
	Rebuild(ctx context.Context, service string) error
}

// maxWait is the longest a batch of changes waits for a pause in the
// events before it is acted on.
const maxWait = time.Second

// Watcher watches the rules' paths and hands what changed to Exec.
//
// Run owns the rules once it started: change them with Update. Update and
// Resync may be called from any goroutine, before or during Run.
type Watcher struct {
	Rules []Rule
	Exec  Executor
	Log   io.Writer
	// Debounce is how long a burst of events settles (default 100ms):
	// editors save in several steps. A burst without a pause is acted on
	// a second after its first event all the same.
	Debounce time.Duration
	// Retry is how long after a failed action its changes are tried again
	// (default 1s). A failed action is never dropped: it is reported and
	// retried, merged with the changes that arrived meanwhile, unless its
	// error is Permanent (then the next change of its files tries again).
	Retry time.Duration
	// Watching, if set, is called once the rules' paths are watched: a
	// change made after it is seen.
	Watching func()

	once    sync.Once
	updates chan []Rule
	resyncs chan []string
}

func (w *Watcher) init() {
	w.once.Do(func() {
		w.updates = make(chan []Rule, 1)
		w.resyncs = make(chan []string, 16)
	})
}

// Update replaces the rules (the stack file changed): paths new to the
// watch are added, and the initial_sync rules that are new run their
// initial sync. Only the latest of several quick updates counts.
func (w *Watcher) Update(rules []Rule) {
	w.init()
	for {
		select {
		case w.updates <- rules:
			return
		default:
			select { // drop an older update not yet taken
			case <-w.updates:
			default:
			}
		}
	}
}

// Resync copies again, into the services' current containers, every file
// their sync rules copied since the watch began (every matching file for
// initial_sync rules): a container recreated by a stack change starts from
// its image and would lose them. It only syncs; no exec, restart or
// rebuild.
func (w *Watcher) Resync(services []string) {
	if len(services) == 0 {
		return
	}
	w.init()
	w.resyncs <- slices.Clone(services)
}

func (w *Watcher) logf(format string, args ...any) {
	if w.Log != nil {
		fmt.Fprintf(w.Log, format+"\n", args...)
	}
}

// Run does the initial syncs, then watches until ctx ends (nil error).
func (w *Watcher) Run(ctx context.Context) error {
	w.init()
	debounce, retry := w.Debounce, w.Retry
	if debounce <= 0 {
		debounce = 100 * time.Millisecond
	}
	if retry <= 0 {
		retry = time.Second
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("develop watch: %w", err)
	}
	defer fw.Close()
	watched := map[string]bool{} // rule paths already added
	watch := func(rules []Rule) error {
		for _, r := range rules {
			if watched[r.Path] {
				continue
			}
			watched[r.Path] = true
			if fi, err := os.Stat(r.Path); err != nil || !fi.IsDir() {
				// A file, or a path not there yet: its directory tells.
				if err := fw.Add(filepath.Dir(r.Path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("develop watch %s: %w", r.Path, err)
				}
				continue
			}
			if err := addTree(fw, r.Path); err != nil {
				return fmt.Errorf("develop watch %s: %w", r.Path, err)
			}
		}
		return nil
	}
	if err := watch(w.Rules); err != nil {
		return err
	}
	if w.Watching != nil {
		w.Watching()
	}

	pending := map[string]Change{}
	// history is the last change of every path seen, for Resync.
	history := map[string]Change{}
	var settle <-chan time.Time
	var burst time.Time // the first event of the batch being debounced
	// run applies a batch and queues what failed for a retry, unless a
	// newer change of the same path is already pending.
	run := func(rules []Rule, batch map[string]Change) {
		failed := w.apply(ctx, rules, batch)
		for p, c := range failed {
			if _, newer := pending[p]; !newer {
				pending[p] = c
			}
		}
		if len(failed) > 0 && settle == nil {
			settle = time.After(retry)
		}
	}
	// The initial syncs only sync (no restart, rebuild or exec of other
	// rules); a failure is retried with the next batch.
	initialSync := func(rules []Rule) {
		var init []Rule
		for _, r := range rules {
			if r.InitialSync {
				init = append(init, r)
			}
		}
		if batch := initial(init); len(batch) > 0 {
			run(syncOnly(init), batch)
		}
	}
	initialSync(w.Rules)
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-fw.Errors:
			w.logf("develop watch: %v", err)
		case rules := <-w.updates:
			var added []Rule
			for _, r := range rules {
				if !slices.ContainsFunc(w.Rules, r.same) {
					added = append(added, r)
				}
			}
			w.Rules = rules
			if err := watch(rules); err != nil {
				w.logf("%v", err)
			}
			initialSync(added)
		case services := <-w.resyncs:
			var rules []Rule
			for _, r := range syncOnly(w.Rules) {
				if slices.Contains(services, r.Service) {
					rules = append(rules, r)
				}
			}
			batch := initial(rules)
			for p, c := range history {
				batch[p] = c
			}
			run(rules, batch)
		case ev := <-fw.Events:
			if ev.Op == fsnotify.Chmod {
				continue
			}
			fi, err := os.Lstat(ev.Name)
			removed := err != nil
			pending[ev.Name] = Change{Path: ev.Name, Removed: removed}
			if !removed && fi.IsDir() {
				// A new directory: watch it, and what is already in it
				// (written before the watch began) is changed too.
				addTree(fw, ev.Name)
				filepath.WalkDir(ev.Name, func(p string, d fs.DirEntry, err error) error {
					if err == nil && !d.IsDir() {
						pending[p] = Change{Path: p}
					}
					return nil
				})
			}
			// Each event restarts the debounce, but a batch waits at most
			// maxWait from its first event: a tool that writes without a
			// pause does not hold every sync back.
			if burst.IsZero() {
				burst = time.Now()
			}
			settle = time.After(min(debounce, max(0, time.Until(burst.Add(maxWait)))))
		case <-settle:
			settle, burst = nil, time.Time{}
			batch := pending
			pending = map[string]Change{}
			for p, c := range batch {
				history[p] = c
			}
			run(w.Rules, batch)
		}
	}
}

// syncOnly is the sync-type rules of rules, as plain sync rules: what an
// initial sync or a resync runs.
func syncOnly(rules []Rule) []Rule {
	var out []Rule
	for _, r := range rules {
		switch r.Action {
		case types.WatchActionSync, types.WatchActionSyncRestart, types.WatchActionSyncExec:
			r.Action = types.WatchActionSync
			out = append(out, r)
		}
	}
	return out
}

// apply runs the actions of a batch, each service on its own, and returns
// the changes of the services whose action failed and is worth retrying.
func (w *Watcher) apply(ctx context.Context, rules []Rule, batch map[string]Change) map[string]Change {
	changes := make([]Change, 0, len(batch))
	for _, c := range batch {
		changes = append(changes, c)
	}
	failed := map[string]Change{}
	for _, a := range Plan(rules, changes) {
		err := w.do(ctx, a)
		switch {
		case err == nil:
			continue
		case ctx.Err() != nil:
			return nil
		case IsPermanent(err):
			w.logf("develop watch: service %s: %v", a.Service, err)
			continue
		}
		w.logf("develop watch: service %s: %v; retrying", a.Service, err)
		for _, c := range changes {
			for _, r := range rules {
				if r.Service == a.Service && r.Matches(c.Path) {
					failed[c.Path] = c
				}
			}
		}
	}
	return failed
}

func (w *Watcher) do(ctx context.Context, a Action) error {
	if a.Rebuild {
		w.logf("develop watch: rebuilding service %s", a.Service)
		if err := w.Exec.Rebuild(ctx, a.Service); err != nil {
			return fmt.Errorf("rebuild: %w", err)
		}
		w.logf("develop watch: rebuilt service %s", a.Service)
		return nil
	}
	if len(a.Sync) > 0 {
		if err := w.Exec.Sync(ctx, a.Service, a.Sync); err != nil {
			return fmt.Errorf("sync: %w", err)
		}
		w.logf("develop watch: synced %d paths into service %s", len(a.Sync), a.Service)
	}
	for _, h := range a.Exec {
		if err := w.Exec.Exec(ctx, a.Service, h); err != nil {
			return fmt.Errorf("exec %v: %w", []string(h.Command), err)
		}
	}
	if a.Restart {
		w.logf("develop watch: restarting service %s", a.Service)
		if err := w.Exec.Restart(ctx, a.Service); err != nil {
			return fmt.Errorf("restart: %w", err)
		}
	}
	return nil
}

// initial is what the initial_sync rules among rules copy: every file
// under their paths that they match.
func initial(rules []Rule) map[string]Change {
	out := map[string]Change{}
	for _, r := range rules {
		if !r.InitialSync {
			continue
		}
		filepath.WalkDir(r.Path, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && r.Matches(p) {
				out[p] = Change{Path: p}
			}
			return nil
		})
	}
	return out
}

// addTree watches dir and every directory under it (fsnotify is not
// recursive). A missing dir is not an error: it may appear.
func addTree(fw *fsnotify.Watcher, dir string) error {
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return fw.Add(p)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
