package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/reconcile"
	"github.com/berth-dev/berth/spec"
)

// watchDebounce is how long a burst of file events is let settle before
// the stack is reloaded: editors write a file in several steps.
const watchDebounce = 200 * time.Millisecond

// newWatchCmd is `berth watch`: up -d, then re-apply whenever a file that
// shaped the stack changes.
func newWatchCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	o := &upOptions{stack: sf, watch: true, detach: true}
	cmd := &cobra.Command{
		Use:   "watch [OPTIONS] [SERVICE...]",
		Short: "Apply the stack, then re-apply it whenever its files change",
		Long: `Apply the stack as up -d does, then watch every file that shaped it (stack
and override files, env files, included and extended files, the files of
configs and secrets, and the default files whose absence mattered). After
a change it reloads the stack, prints the plan and applies it. A bad edit
prints the problem and leaves the running stack alone; fixing the file
resumes.

At the same time it runs the services' develop.watch rules, as docker
compose watch does: sync copies changed files into every running
container of the service (and deletes deleted ones), sync+restart and
restart restart it, sync+exec runs the rule's command after the sync, and
rebuild builds the service's image and recreates only that service. A sync
that fails is reported and retried. Ctrl-C stops watching and leaves the
stack running.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUp(cmd, env, o, args)
		},
	}
	fs := cmd.Flags()
	if o.stack == nil {
		o.stack = &stackFlags{}
		o.stack.register(fs)
	}
	o.registerConv(cmd)
	fs.StringVar(&o.pull, "pull", "missing", `pull images: "always", "missing" or "never"`)
	fs.StringVar(&o.progress, "progress", "auto", "progress output: auto, tty, plain, json or quiet")
	return cmd
}

// watchStack applies the stack and re-applies it after every change of its
// input files until ctx ends or a signal arrives, and runs the services'
// develop.watch rules beside it (developWatch). Only the first load's
// error ends it; later ones are printed and waited out.
func watchStack(cmd *cobra.Command, env *stackEnv, w *stackWorld, o *upOptions, services []string, opts reconcile.Options, prog *progress) error {
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	sigs := env.signals
	if sigs == nil {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(ch)
		sigs = ch
	}
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-ctx.Done():
		}
	}()
	watcher, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	defer watcher.Close()
	errOut := &lockedWriter{w: cmd.ErrOrStderr()}

	files := map[string]bool{} // the inputs, absolute
	dirs := map[string]bool{}  // the directories watched for them
	load := func() (*spec.Stack, error) {
		st, err := o.stack.loadStack(ctx, nil)
		if err != nil {
			var ps spec.Problems
			if errors.As(err, &ps) {
				return nil, &exitError{code: 1, err: fmt.Errorf("invalid stack:\n%w", ps)}
			}
			return nil, err
		}
		clear(files)
		want := map[string]bool{}
		for _, f := range slices.Concat(st.Files, st.Absent) {
			files[filepath.Clean(f)] = true
			want[filepath.Dir(filepath.Clean(f))] = true
		}
		// Directories, not files: editors replace a file by renaming a new
		// one over it, and an absent file may appear.
		for d := range want {
			if !dirs[d] {
				if err := watcher.Add(d); err != nil && !errors.Is(err, os.ErrNotExist) {
					return nil, fmt.Errorf("watch %s: %w", d, err)
				}
				dirs[d] = true
			}
		}
		for d := range dirs {
			if !want[d] {
				watcher.Remove(d)
				delete(dirs, d)
			}
		}
		return st, nil
	}
	// apply converges the stack and returns the services whose containers
	// it created or recreated.
	apply := func(st *spec.Stack) ([]string, error) {
		if err := checkServices(st.Project, services); err != nil {
			return nil, err
		}
		var made []string
		ip := o.images(cmd)
		ip.onPlan = func(plan *reconcile.Plan) { made = createdServices(plan) }
		lock, err := converge(ctx, cmd, env, w, st.Project, opts, ip, prog)
		if err != nil {
			return nil, err
		}
		return made, lock.Unlock()
	}

	st, err := load()
	if err != nil {
		return err
	}
	if _, err := apply(st); err != nil {
		return err
	}
	if err := saveStackRecord(env.g, o.stack, st.Project); err != nil {
		return err
	}
	dev, err := newDevelopWatch(cmd, env, w, o, services, opts, prog, errOut, st.Project)
	if err != nil {
		return err
	}
	fmt.Fprintf(errOut, "Watching %d files of stack %s for changes (Ctrl-C to stop)\n", len(files), st.Project.Name)
	if n := len(dev.w.Rules); n > 0 {
		// Said once the paths are watched: an edit after it is seen.
		dev.w.Watching = func() { fmt.Fprintf(errOut, "Watching %d develop.watch paths\n", n) }
	}
	devDone := make(chan error, 1)
	go func() { devDone <- dev.run(ctx) }()
	defer func() {
		cancel()
		<-devDone
	}()

	var settle <-chan time.Time
	var changed string
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-devDone:
			devDone <- err // for the deferred receive
			if err != nil {
				return err
			}
			return nil
		case err := <-watcher.Errors:
			fmt.Fprintln(errOut, "berth: watch:", err)
		case ev := <-watcher.Events:
			if !files[filepath.Clean(ev.Name)] || ev.Op == fsnotify.Chmod {
				continue
			}
			changed = ev.Name
			settle = time.After(watchDebounce)
		case <-settle:
			settle = nil
			fmt.Fprintf(errOut, "Change in %s: reloading stack\n", changed)
			st, err := load()
			var made []string
			if err == nil {
				dev.update(st.Project)
				made, err = apply(st)
			}
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				// The running stack stays as it was; the next edit retries.
				fmt.Fprintln(errOut, "berth:", err)
				continue
			}
			// New containers start from their image: give them back what
			// develop.watch synced into the old ones.
			dev.w.Resync(made)
		}
	}
}

// createdServices are the services a plan creates or recreates containers
// of, sorted.
func createdServices(plan *reconcile.Plan) []string {
	var out []string
	for _, op := range plan.Ops {
		if op.Resource == reconcile.ResourceContainer && (op.Kind == reconcile.KindCreate || op.Kind == reconcile.KindRecreate) &&
			op.Service != "" && !slices.Contains(out, op.Service) {
			out = append(out, op.Service)
		}
	}
	slices.Sort(out)
	return out
}

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
