package runc

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/runtime/ocispec"
	"github.com/berth-dev/berth/runtime/runc/monitor"
)

// notRunning is Docker's error for an operation that needs a running
// container.
func notRunning(rec *Record) error {
	return fmt.Errorf("container %s is not running: %w", rec.ID, errdefs.ErrFailedPrecondition)
}

// Kill sends sig (a name like "KILL", "SIGHUP" or a number) to the
// container's init. SIGKILL or the stop signal count as a stop by the user:
// the restart policy does not apply afterwards, as in Docker.
func (r *Runtime) Kill(ctx context.Context, ref, sig string) error {
	rec, unlock, err := r.lockedRecord(ctx, ref)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := r.observe(ctx, rec)
	if err != nil {
		return err
	}
	if st.Status != monitor.Running && st.Status != monitor.Paused {
		return notRunning(rec)
	}
	n, err := ocispec.ParseSignal(sig)
	if err != nil {
		return err
	}
	sig = strconv.Itoa(int(n))
	if n == syscall.SIGKILL || sig == rec.StopSignal {
		if _, err = monitor.Update(ctx, r.containerDir(rec.ID), func(st *monitor.State) error {
			st.StoppedByUser = true
			return nil
		}); err != nil {
			return err
		}
	}
	if _, err := r.runtime(ctx, killArgs(r.opts.RuntimeRoot, rec.ID, sig, false)...); err != nil {
		return fmt.Errorf("kill %s: %w", rec.Name, err)
	}
	return nil
}

// Pause freezes every process of the container (cgroup freezer).
func (r *Runtime) Pause(ctx context.Context, ref string) error {
	return r.freeze(ctx, ref, true)
}

// Unpause thaws a paused container.
func (r *Runtime) Unpause(ctx context.Context, ref string) error {
	return r.freeze(ctx, ref, false)
}

func (r *Runtime) freeze(ctx context.Context, ref string, pause bool) error {
	rec, unlock, err := r.lockedRecord(ctx, ref)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := r.observe(ctx, rec)
	if err != nil {
		return err
	}
	switch {
	case pause && st.Status == monitor.Paused:
		return fmt.Errorf("container %s is already paused: %w", rec.ID, errdefs.ErrFailedPrecondition)
	case !pause && st.Status != monitor.Paused:
		return fmt.Errorf("container %s is not paused: %w", rec.ID, errdefs.ErrFailedPrecondition)
	case pause && st.Status != monitor.Running:
		return notRunning(rec)
	}
	args, status := pauseArgs(r.opts.RuntimeRoot, rec.ID), monitor.Paused
	if !pause {
		args, status = resumeArgs(r.opts.RuntimeRoot, rec.ID), monitor.Running
	}
	if _, err := r.runtime(ctx, args...); err != nil {
		return err
	}
	_, err = monitor.Update(ctx, r.containerDir(rec.ID), func(st *monitor.State) error {
		if isActive(st.Status) {
			st.Status = status
		}
		return nil
	})
	return err
}

// Restart stops (with timeout, nil for the container's own) and starts.
func (r *Runtime) Restart(ctx context.Context, ref string, timeout *time.Duration) error {
	rec, unlock, err := r.lockedRecord(ctx, ref)
	if err != nil {
		return err
	}
	defer unlock()
	if err := r.stop(ctx, rec, timeout); err != nil {
		return err
	}
	return r.start(ctx, rec, StartOptions{})
}

// Wait blocks until the container is not running (nor restarting) and
// returns its exit code, like `docker wait`.
func (r *Runtime) Wait(ctx context.Context, ref string) (int, error) {
	id, err := r.Resolve(ctx, ref)
	if err != nil {
		return 0, err
	}
	for {
		rec, err := r.readRecord(id)
		if err != nil {
			return 0, err
		}
		st, err := r.observe(ctx, rec)
		if err != nil {
			return 0, err
		}
		if !isActive(st.Status) {
			return st.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Rename gives a container a new name; the old name is free afterwards.
func (r *Runtime) Rename(ctx context.Context, ref, name string) error {
	name = strings.TrimPrefix(name, "/")
	rec, unlock, err := r.lockedRecord(ctx, ref)
	if err != nil {
		return err
	}
	defer unlock()
	if rec.Name == name {
		return fmt.Errorf("renaming a container with the same name as its current name: %w", errdefs.ErrInvalidArgument)
	}
	if err := r.reserveName(name, rec.ID); err != nil {
		return err
	}
	old := rec.Name
	rec.Name, rec.Config.Name = name, name
	if err := r.writeRecord(rec); err != nil {
		r.releaseName(name, rec.ID)
		return err
	}
	r.releaseName(old, rec.ID)
	return nil
}

// Top runs ps(1) on the container's processes with psArgs (default "-ef").
func (r *Runtime) Top(ctx context.Context, ref string, ps []string) (string, error) {
	rec, err := r.recordOf(ctx, ref)
	if err != nil {
		return "", err
	}
	st, err := r.observe(ctx, rec)
	if err != nil {
		return "", err
	}
	if !isActive(st.Status) {
		return "", notRunning(rec)
	}
	if len(ps) == 0 {
		ps = []string{"-ef"}
	}
	out, err := r.runtime(ctx, psArgs(r.opts.RuntimeRoot, rec.ID, ps)...)
	return string(out), err
}

func (r *Runtime) recordOf(ctx context.Context, ref string) (*Record, error) {
	id, err := r.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	return r.readRecord(id)
}

// State returns the observed run state of a container.
func (r *Runtime) State(ctx context.Context, ref string) (*Record, monitor.State, error) {
	rec, err := r.recordOf(ctx, ref)
	if err != nil {
		return nil, monitor.State{}, err
	}
	st, err := r.observe(ctx, rec)
	return rec, st, err
}
