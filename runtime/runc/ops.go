package runc

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/internal/overlay"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/ocispec"
	"github.com/berth-dev/berth/runtime/runc/monitor"
)

// notRunning is Docker's error for an operation that needs a running
// container.
func notRunning(rec *Record) error {
	return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s is not running", rec.ID))
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
	// A running container's init is signalled directly (see signal); a
	// paused one through the runtime.
	if st.Status != monitor.Running || !monitor.Signal(st.Pid, st.PidStart, n) {
		if _, err := r.runtime(ctx, killArgs(r.opts.RuntimeRoot, rec.ID, sig, false)...); err != nil {
			return fmt.Errorf("kill %s: %w", rec.Name, err)
		}
	}
	r.event(rec, "kill", "signal", sig)
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
		return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s is already paused", rec.ID))
	case !pause && st.Status != monitor.Paused:
		return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s is not paused", rec.ID))
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
	if err == nil {
		r.event(rec, map[bool]string{true: "pause", false: "unpause"}[pause])
	}
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
	if err := r.start(ctx, rec, StartOptions{}); err != nil {
		return err
	}
	r.event(rec, "restart")
	return nil
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
		if endedForGood(st) {
			r.finishExit(ctx, rec)
			return st.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// endedForGood tells a container that neither runs nor is being started:
// during an attached start the monitor is at work (and its op lock free)
// while the state still says created or exited.
func endedForGood(st monitor.State) bool {
	return !isActive(st.Status) && !(st.Starting && monitor.Alive(st.MonitorPid, st.MonitorStart))
}

// finishExit does for an exited container what its monitor does right
// after recording the exit (`berth container release-network`, then the
// unmount as it exits), when Wait sees the exit first: so that what follows
// a wait finds the address, ports and endpoint released and the root
// filesystem unmounted, as after Docker's wait. Errors leave it to the
// monitor.
func (r *Runtime) finishExit(ctx context.Context, rec *Record) {
	_, err := os.Lstat(r.netnsPath(rec.ID))
	network := err == nil && attachedKind(rec) && r.networksWired()
	if !network && !isMounted(r.rootfs(rec.ID)) {
		return
	}
	l, err := r.opLock(ctx, rec.ID)
	if err != nil {
		return
	}
	defer l.Unlock()
	rec, err = r.readRecord(rec.ID)
	if err != nil {
		return
	}
	if st, err := r.observe(ctx, rec); err != nil || !endedForGood(st) || st.Status == monitor.Created {
		return
	}
	if network {
		r.releaseNetwork(ctx, rec)
	}
	_ = overlay.Unmount(r.rootfs(rec.ID))
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
		return errdefs.ErrInvalidArgument.WithMessage("renaming a container with the same name as its current name")
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
	if n, ok := r.opts.Networks.(renamer); ok {
		// DNS answers for the new name at once (best effort: the next
		// start attaches with it anyway).
		_ = n.Rename(ctx, rec.ID, name)
	}
	r.event(rec, "rename", "oldName", "/"+old)
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

// UpdateOptions are `docker update` flags; nil fields are left alone.
type UpdateOptions struct {
	Memory     *int64
	MemorySwap *int64
	NanoCPUs   *int64
	CPUShares  *int64
	PidsLimit  *int64
	CpusetCpus *string
	Restart    *runtime.RestartPolicy
}

// Update changes a container's resources and restart policy: in its record
// and spec for the next start, live through the runtime when it runs, and
// in the monitor's config, which it reads at each exit.
func (r *Runtime) Update(ctx context.Context, ref string, u UpdateOptions) error {
	rec, unlock, err := r.lockedRecord(ctx, ref)
	if err != nil {
		return err
	}
	defer unlock()
	res := &rec.Config.Resources
	set := func(dst *int64, v *int64) {
		if v != nil {
			*dst = *v
		}
	}
	set(&res.Memory, u.Memory)
	set(&res.MemorySwap, u.MemorySwap)
	set(&res.NanoCPUs, u.NanoCPUs)
	set(&res.CPUShares, u.CPUShares)
	set(&res.PidsLimit, u.PidsLimit)
	if u.CpusetCpus != nil {
		res.CpusetCpus = *u.CpusetCpus
	}
	if u.Restart != nil {
		if rec.AutoRemove && u.Restart.Name != "" && u.Restart.Name != "no" {
			return errdefs.ErrInvalidArgument.WithMessage("restart policy cannot be updated because AutoRemove is enabled for the container")
		}
		rec.Config.Restart = *u.Restart
	}
	if err := r.updateSpec(rec); err != nil {
		return err
	}
	if err := r.writeRecord(rec); err != nil {
		return err
	}
	st, err := r.observe(ctx, rec)
	if err != nil || !isActive(st.Status) {
		return err
	}
	mcfg, err := monitor.ReadConfig(r.runDir(rec.ID))
	if err == nil {
		mcfg.Restart = monitor.RestartPolicy{Name: rec.Config.Restart.Name, MaximumRetryCount: rec.Config.Restart.MaximumRetryCount}
		if err := atomicfile.ReplaceJSON(filepath.Join(r.runDir(rec.ID), monitor.ConfigFile), mcfg, 0o600); err != nil {
			return err
		}
	}
	us := updateSpec{Memory: res.Memory, MemorySwap: res.MemorySwap, CPUShares: res.CPUShares, PidsLimit: res.PidsLimit, CpusetCpus: res.CpusetCpus}
	if res.NanoCPUs > 0 {
		us.CPUPeriod = 100000
		us.CPUQuota = res.NanoCPUs * 100000 / 1e9
	}
	if st.Status == monitor.Running || st.Status == monitor.Paused {
		if _, err := r.runtime(ctx, updateArgs(r.opts.RuntimeRoot, rec.ID, us)...); err != nil {
			return fmt.Errorf("update %s: %w", rec.Name, err)
		}
	}
	return nil
}

// updateSpec rewrites the resources of the stored OCI spec.
func (r *Runtime) updateSpec(rec *Record) error {
	p := filepath.Join(r.containerDir(rec.ID), "config.json")
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	if s.Linux.Resources == nil {
		s.Linux.Resources = &specs.LinuxResources{}
	}
	lr, res := s.Linux.Resources, rec.Config.Resources
	if res.Memory != 0 {
		if lr.Memory == nil {
			lr.Memory = &specs.LinuxMemory{}
		}
		lr.Memory.Limit = &res.Memory
		if res.MemorySwap != 0 {
			lr.Memory.Swap = &res.MemorySwap
		}
	}
	if res.NanoCPUs != 0 || res.CPUShares != 0 || res.CpusetCpus != "" {
		if lr.CPU == nil {
			lr.CPU = &specs.LinuxCPU{}
		}
		if res.NanoCPUs != 0 {
			period := uint64(100000)
			quota := res.NanoCPUs * 100000 / 1e9
			lr.CPU.Period, lr.CPU.Quota = &period, &quota
		}
		if res.CPUShares != 0 {
			sh := uint64(res.CPUShares)
			lr.CPU.Shares = &sh
		}
		lr.CPU.Cpus = res.CpusetCpus
	}
	if res.PidsLimit != 0 {
		lr.Pids = &specs.LinuxPids{Limit: &res.PidsLimit}
	}
	return atomicfile.WriteJSON(p, &s, 0o600)
}
