package watch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/spec"
)

// ContainerOps are the operations on one container the develop.watch
// actions need; cmd/berth implements them on the runc runtime (copies
// through the container's root filesystem, exec as `compose exec`).
type ContainerOps interface {
	List(ctx context.Context) ([]runtime.Container, error)
	// Sync puts each host file or directory at its ContainerPath in the
	// container (creating the parent directories, replacing what is
	// there), or removes the path (all of it) when Delete, in order. A
	// copy whose host path is gone by then is a removal.
	Sync(ctx context.Context, id string, copies []Copy) error
	// Exec runs the hook's command and fails unless it exits 0.
	Exec(ctx context.Context, id string, hook types.ServiceHook) error
	Restart(ctx context.Context, id string) error
}

// StackExecutor is an Executor for one stack: each action goes to every
// running replica of the service (not one-off containers), in replica
// order; a rebuild is RebuildService's (build with build: always and
// converge the service, as up --build SERVICE does).
type StackExecutor struct {
	Stack          string
	Ops            ContainerOps
	RebuildService func(ctx context.Context, service string) error
}

// running is the service's running replicas; none is an error
// (errdefs.ErrNotFound), so the watcher retries once one is up.
func (e *StackExecutor) running(ctx context.Context, service string) ([]runtime.Container, error) {
	all, err := e.Ops.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var out []runtime.Container
	for _, c := range all {
		if c.Labels[spec.LabelStack] != e.Stack || c.Labels[spec.LabelService] != service ||
			strings.EqualFold(c.Labels[spec.LabelOneoff], "true") || c.Status != runtime.StatusRunning {
			continue
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no running container of service %s: %w", service, errdefs.ErrNotFound)
	}
	slices.SortFunc(out, func(a, b runtime.Container) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// each runs fn on every running replica, going on after a failure and
// returning every failure.
func (e *StackExecutor) each(ctx context.Context, service string, fn func(runtime.Container) error) error {
	cs, err := e.running(ctx, service)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range cs {
		if err := fn(c); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (e *StackExecutor) Sync(ctx context.Context, service string, copies []Copy) error {
	return e.each(ctx, service, func(c runtime.Container) error { return e.Ops.Sync(ctx, c.ID, copies) })
}

func (e *StackExecutor) Exec(ctx context.Context, service string, hook types.ServiceHook) error {
	return e.each(ctx, service, func(c runtime.Container) error { return e.Ops.Exec(ctx, c.ID, hook) })
}

func (e *StackExecutor) Restart(ctx context.Context, service string) error {
	return e.each(ctx, service, func(c runtime.Container) error { return e.Ops.Restart(ctx, c.ID) })
}

func (e *StackExecutor) Rebuild(ctx context.Context, service string) error {
	if e.RebuildService == nil {
		return fmt.Errorf("rebuild of service %s: %w", service, errdefs.ErrNotImplemented)
	}
	return e.RebuildService(ctx, service)
}
