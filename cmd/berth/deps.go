package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/reconcile"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/runc"
	"github.com/berth-dev/berth/volumes/local"
)

// stackWorld is what the stack commands act through: reconcile's Deps
// (the runtime.Runtime, networks, volumes and image resolution) plus the
// runtime operations beyond runtime.Runtime's five that some commands use.
// Each of those is nil when the runtime does not offer it; the commands
// that need it then say so.
type stackWorld struct {
	reconcile.Deps
	Logs    logSource
	Control containerControl
	Procs   containerProcs
	Runner  containerRunner
	Rmi     imageRemover
	Puller  imagePuller
	Builder imageBuilder
	// Status, if set, is Docker's STATUS column for each container by ID
	// ("Up 3 minutes (healthy)"), with the times only the runtime knows.
	Status func(ctx context.Context) (map[string]string, error)
}

// logSource reads a container's log, as `docker logs` does.
type logSource interface {
	Logs(ctx context.Context, id string, o logOptions, stdout, stderr io.Writer) error
}

// logOptions are the log flags the stack commands use.
type logOptions struct {
	Follow     bool
	Tail       int // < 0: all
	Since      time.Time
	Timestamps bool
}

// containerControl is what kill, pause and unpause need.
type containerControl interface {
	Kill(ctx context.Context, id, sig string) error
	Pause(ctx context.Context, id string) error
	Unpause(ctx context.Context, id string) error
}

// containerProcs is what exec, top and wait need.
type containerProcs interface {
	Exec(ctx context.Context, id string, o runc.ExecOptions) (int, error)
	Top(ctx context.Context, id string, psArgs []string) (string, error)
	Wait(ctx context.Context, id string) (int, error)
}

// containerRunner makes and runs the one-off containers of compose run.
type containerRunner interface {
	// CreateOneoff creates the container; autoRemove has its monitor
	// remove it after it exits (run --rm -d).
	CreateOneoff(ctx context.Context, cfg runtime.Config, autoRemove bool) (string, error)
	// RunAttached starts the container attached to the terminal's streams
	// and returns its exit code.
	RunAttached(ctx context.Context, id string, tty, interactive bool) (int, error)
}

// runcRunner is containerRunner on the runc runtime and the attach session
// of `berth run`.
type runcRunner struct{ rt *runc.Runtime }

func (r runcRunner) CreateOneoff(ctx context.Context, cfg runtime.Config, autoRemove bool) (string, error) {
	return r.rt.CreateContainer(ctx, cfg, runc.CreateOptions{AutoRemove: autoRemove, StdinOnce: cfg.OpenStdin})
}

func (r runcRunner) RunAttached(ctx context.Context, id string, tty, interactive bool) (int, error) {
	if err := r.rt.StartContainer(ctx, id, runc.StartOptions{Attach: true}); err != nil {
		return 0, err
	}
	code, _, err := attachSession(ctx, r.rt, id, streams{stdin: interactive, stdout: true, stderr: true, tty: tty, sigProxy: true})
	return code, err
}

// imagePuller fetches an image into the local store and returns its ID
// (images.Puller).
type imagePuller interface {
	Pull(ctx context.Context, ref string) (string, error)
}

// registryPuller is the image store's puller, with the registry settings
// read on the first pull only: a no-op up never needs them.
type registryPuller struct {
	g     *globals
	store *images.Store
}

// imageRemover removes local images (down --rmi).
type imageRemover interface {
	Remove(ctx context.Context, ref string, force bool) ([]images.Removal, error)
}

// stackEnv is how the stack commands reach the world and the terminal; tests
// replace open with fakes and signals with a channel of their own.
type stackEnv struct {
	g    *globals
	open func(*globals) (*stackWorld, error)
	// signals, if set, replaces SIGINT/SIGTERM for the foreground up.
	signals <-chan os.Signal
	// poll is how often container states are polled (default 500ms).
	poll time.Duration
}

func (e *stackEnv) pollInterval() time.Duration {
	if e.poll > 0 {
		return e.poll
	}
	return 500 * time.Millisecond
}

// stackDeps returns the real world: the runc runtime (newRuntime, with the
// image store), network/cni's manager, volumes/local under --root and the
// image store as resolver. Nothing is created on disk until first used.
func stackDeps(g *globals) (*stackWorld, error) {
	rt, err := newRuntime(g)
	if err != nil {
		return nil, err
	}
	store, err := openImageStore(g)
	if err != nil {
		return nil, err
	}
	vols, err := local.New(g.root)
	if err != nil {
		return nil, err
	}
	return &stackWorld{
		Deps: reconcile.Deps{
			Runtime:  rt,
			Networks: networkManager(g),
			Volumes:  vols,
			Images:   store,
		},
		Logs:    runcLogs{rt},
		Control: rt,
		Procs:   rt,
		Runner:  runcRunner{rt},
		Rmi:     store,
		Puller:  registryPuller{g: g, store: store},
		Builder: lazyBuilder{g},
		Status: func(ctx context.Context) (map[string]string, error) {
			obs, err := rt.ListObserved(ctx)
			if err != nil {
				return nil, err
			}
			now := time.Now()
			out := make(map[string]string, len(obs))
			for _, o := range obs {
				out[o.Record.ID] = statusText(o, now)
			}
			return out, nil
		},
	}, nil
}

// runcLogs adapts the runc runtime's Logs to logSource.
type runcLogs struct{ rt *runc.Runtime }

func (l runcLogs) Logs(ctx context.Context, id string, o logOptions, stdout, stderr io.Writer) error {
	return l.rt.Logs(ctx, id, runc.LogOptions{Follow: o.Follow, Tail: o.Tail, Since: o.Since, Timestamps: o.Timestamps}, stdout, stderr)
}

// errUnsupported says a command needs an operation this berth's runtime
// does not have.
func errUnsupported(what string) error {
	return fmt.Errorf("%s is not supported by this runtime yet: %w", what, errdefs.ErrNotImplemented)
}
