package watch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
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

// Watcher watches the rules' paths and hands what changed to Exec.
type Watcher struct {
	Rules []Rule
	Exec  Executor
	Log   io.Writer
	// Debounce is how long a burst of events settles (default 100ms):
	// editors save in several steps.
	Debounce time.Duration
	// Retry is how long after a failed action its changes are tried again
	// (default 1s). A failed action is never dropped: it is reported and
	// retried, merged with the changes that arrived meanwhile.
	Retry time.Duration
}

func (w *Watcher) logf(format string, args ...any) {
	if w.Log != nil {
		fmt.Fprintf(w.Log, format+"\n", args...)
	}
}

// Run does the initial syncs, then watches until ctx ends (nil error).
func (w *Watcher) Run(ctx context.Context) error {
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
	for _, r := range w.Rules {
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

	// The initial syncs only sync (no restart, rebuild or exec of other
	// rules); a failure is retried with the first batch.
	pending := map[string]Change{}
	var settle <-chan time.Time
	if init := w.initial(); len(init) > 0 {
		var rules []Rule
		for _, r := range w.Rules {
			if r.InitialSync {
				rules = append(rules, r)
			}
		}
		pending = w.apply(ctx, rules, init)
		if len(pending) > 0 {
			settle = time.After(retry)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-fw.Errors:
			w.logf("develop watch: %v", err)
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
			settle = time.After(debounce)
		case <-settle:
			settle = nil
			batch := pending
			pending = map[string]Change{}
			failed := w.apply(ctx, w.Rules, batch)
			for p, c := range failed {
				if _, newer := pending[p]; !newer {
					pending[p] = c
				}
			}
			if len(failed) > 0 {
				settle = time.After(retry)
			}
		}
	}
}

// apply runs the actions of a batch, each service on its own, and returns
// the changes of the services whose action failed, to retry.
func (w *Watcher) apply(ctx context.Context, rules []Rule, batch map[string]Change) map[string]Change {
	changes := make([]Change, 0, len(batch))
	for _, c := range batch {
		changes = append(changes, c)
	}
	failed := map[string]Change{}
	for _, a := range Plan(rules, changes) {
		if err := w.do(ctx, a); err != nil {
			if ctx.Err() != nil {
				return nil
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
	}
	return failed
}

func (w *Watcher) do(ctx context.Context, a Action) error {
	if a.Rebuild {
		w.logf("develop watch: rebuilding service %s", a.Service)
		return w.Exec.Rebuild(ctx, a.Service)
	}
	if len(a.Sync) > 0 {
		if err := w.Exec.Sync(ctx, a.Service, a.Sync); err != nil {
			return fmt.Errorf("sync: %w", err)
		}
		w.logf("develop watch: synced %d paths into service %s", len(a.Sync), a.Service)
	}
	for _, h := range a.Exec {
		if err := w.Exec.Exec(ctx, a.Service, h); err != nil {
			return fmt.Errorf("exec %v: %w", h.Command, err)
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

// initial is what the initial_sync rules copy before watching: every file
// under their paths that they match.
func (w *Watcher) initial() map[string]Change {
	out := map[string]Change{}
	for _, r := range w.Rules {
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
