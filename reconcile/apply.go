package reconcile

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"golang.org/x/sync/errgroup"

	"github.com/berth-dev/berth/runtime"
)

// Clock is the time source Apply waits with; tests pass one that does not
// sleep.
type Clock interface {
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// ApplyOptions tune how a plan is executed, never what it does.
type ApplyOptions struct {
	// Parallel bounds the operations running at once (default 8).
	Parallel int
	// Progress, if set, is told when each operation starts and ends. Calls
	// are serialised.
	Progress func(Event)
	// Clock and PollInterval pace the polling of dependency conditions
	// (default: the real clock, every 500ms).
	Clock        Clock
	PollInterval time.Duration
	// FilesDir, if set, is where each container's secrets and configs are
	// written (FilesDir/<container>/), with the uid, gid and mode the
	// service asks for, and bind-mounted from; removing the container
	// removes them. Unset, those backed by host files are bound straight
	// from them and the others are not mounted.
	FilesDir string
}

// Event reports the progress of one operation.
type Event struct {
	Op    Op
	State State
	Err   error
}

// State is where an operation is.
type State string

// The states an Event reports.
const (
	StateWaiting State = "waiting" // for a dependency condition
	StateStarted State = "started"
	StateDone    State = "done"
	StateFailed  State = "failed"
	// StateSkipped is a removal of a network or volume still in use by
	// something outside the plan: reported with its Err, and not fatal.
	StateSkipped State = "skipped"
)

// Apply executes a plan: each operation once the operations it lists in
// After have finished and its dependency conditions hold, independent
// operations in parallel. It makes no decision of its own. On the first
// failure it stops starting operations and returns that error, wrapped
// with the operation; operations already done stay done, and planning
// again picks up from there.
func Apply(ctx context.Context, plan *Plan, d Deps, o ApplyOptions) error {
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 500 * time.Millisecond
	}
	a := &applier{plan: plan, d: d, o: o}
	done := make([]chan struct{}, len(plan.Ops))
	for i := range done {
		done[i] = make(chan struct{})
	}
	sem := make(chan struct{}, o.Parallel)
	g, ctx := errgroup.WithContext(ctx)
	for _, op := range plan.Ops {
		g.Go(func() error {
			for _, id := range op.After {
				select {
				case <-done[id]:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			if len(op.Waits) > 0 {
				a.report(Event{Op: op, State: StateWaiting})
				if err := a.waitFor(ctx, op.Waits); err != nil {
					a.report(Event{Op: op, State: StateFailed, Err: err})
					return fmt.Errorf("%s %s %s: %w", op.Kind, op.Resource, op.Name, err)
				}
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			a.report(Event{Op: op, State: StateStarted})
			err := a.run(ctx, op)
			<-sem
			if inUseElsewhere(op, err) {
				a.report(Event{Op: op, State: StateSkipped, Err: err})
				close(done[op.ID])
				return nil
			}
			if err != nil {
				a.report(Event{Op: op, State: StateFailed, Err: err})
				return fmt.Errorf("%s %s %s: %w", op.Kind, op.Resource, op.Name, err)
			}
			a.report(Event{Op: op, State: StateDone})
			close(done[op.ID])
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("apply %s: %w", plan.Stack, err)
	}
	return nil
}

type applier struct {
	plan *Plan
	d    Deps
	o    ApplyOptions
	mu   sync.Mutex
}

func (a *applier) report(e Event) {
	if a.o.Progress == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.o.Progress(e)
}

func (a *applier) run(ctx context.Context, op Op) error {
	rt := a.d.Runtime
	switch op.Resource {
	case ResourceNetwork:
		if op.Kind == KindCreate {
			_, err := a.d.Networks.Create(ctx, networkConfig(a.plan.Project, op.Key))
			return err
		}
		return ignoreNotFound(a.d.Networks.Remove(ctx, op.Name))
	case ResourceVolume:
		if op.Kind == KindCreate {
			_, err := a.d.Volumes.Create(ctx, volumeConfig(a.plan.Project, op.Key))
			return err
		}
		return ignoreNotFound(a.d.Volumes.Remove(ctx, op.Name, false))
	}
	switch op.Kind {
	case KindCreate:
		return a.create(ctx, op)
	case KindRecreate:
		if err := a.remove(ctx, op.ContainerID, false); err != nil {
			return err
		}
		if err := a.removeFiles(op.Name); err != nil {
			return err
		}
		return a.create(ctx, op)
	case KindStart:
		return rt.Start(ctx, op.ContainerID)
	case KindRestart:
		if err := rt.Stop(ctx, op.ContainerID, a.plan.StopTimeout); err != nil {
			return err
		}
		return rt.Start(ctx, op.ContainerID)
	case KindRemove:
		if err := a.remove(ctx, op.ContainerID, !op.KeepVolumes); err != nil {
			return err
		}
		return a.removeFiles(op.Name)
	}
	return fmt.Errorf("unknown operation %q: %w", op.Kind, errdefs.ErrInvalidArgument)
}

func (a *applier) create(ctx context.Context, op Op) error {
	cfg, err := containerConfigIn(a.plan.Project, op.Service, op.Number, op.Hash, a.o.FilesDir)
	if err != nil {
		return err
	}
	dir := filesDirOf(a.o.FilesDir, cfg.Name)
	if dir != "" {
		files, _ := containerFiles(a.plan.Project, a.plan.Project.Services[op.Service]) // checked by containerConfigIn
		if err := writeFiles(a.plan.Project, files, dir); err != nil {
			os.RemoveAll(dir)
			return err
		}
	}
	id, err := a.d.Runtime.Create(ctx, cfg)
	if err != nil {
		if dir != "" {
			os.RemoveAll(dir)
		}
		return err
	}
	if !op.Start {
		return nil
	}
	return a.d.Runtime.Start(ctx, id)
}

// remove stops a container gracefully, then removes it; one already gone
// is fine.
func (a *applier) remove(ctx context.Context, id string, anonVolumes bool) error {
	if err := ignoreNotFound(a.d.Runtime.Stop(ctx, id, a.plan.StopTimeout)); err != nil {
		return err
	}
	return ignoreNotFound(a.d.Runtime.Remove(ctx, id, runtime.RemoveOptions{RemoveVolumes: anonVolumes}))
}

// inUseElsewhere reports whether err is the removal of a network or volume
// that something outside the plan still uses (errdefs.ErrFailedPrecondition):
// Docker reports it and goes on.
func inUseElsewhere(op Op, err error) bool {
	return err != nil && op.Kind == KindRemove && op.Resource != ResourceContainer && errdefs.IsFailedPrecondition(err)
}

// removeFiles removes a removed container's secrets and configs.
func (a *applier) removeFiles(container string) error {
	if dir := filesDirOf(a.o.FilesDir, container); dir != "" {
		return os.RemoveAll(dir)
	}
	return nil
}

func ignoreNotFound(err error) error {
	if errdefs.IsNotFound(err) {
		return nil
	}
	return err
}
