package runc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/internal/overlay"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/ocispec"
	"github.com/berth-dev/berth/runtime/runc/monitor"
)

// StartError is a container whose process could not be started; Code is
// Docker's exit status for it (127 command not found, 126 not executable).
type StartError struct {
	Code int
	Msg  string
}

func (e *StartError) Error() string { return e.Msg }

// StartOptions change how Start runs the container.
type StartOptions struct {
	// Attach holds the container's process until a client attaches (at
	// most 10 s), so that an attached `run` loses no output. Start then
	// returns once the container is created, before its process runs.
	Attach bool
}

// Start starts a created or stopped container; starting a running one is a
// no-op.
func (r *Runtime) Start(ctx context.Context, ref string) error {
	return r.StartContainer(ctx, ref, StartOptions{})
}

// StartContainer is Start with options.
func (r *Runtime) StartContainer(ctx context.Context, ref string, o StartOptions) error {
	rec, unlock, err := r.lockedRecord(ctx, ref)
	if err != nil {
		return err
	}
	defer unlock()
	if err := r.settle(ctx, rec, false); err != nil {
		return err
	}
	st, err := r.observe(ctx, rec)
	if err != nil {
		return err
	}
	if isActive(st.Status) {
		return nil
	}
	return r.start(ctx, rec, o)
}

func isActive(status string) bool {
	return status == monitor.Running || status == monitor.Paused || status == monitor.Restarting
}

// lockedRecord resolves ref, takes the container's operation lock and reads
// its record.
func (r *Runtime) lockedRecord(ctx context.Context, ref string) (*Record, func(), error) {
	id, err := r.Resolve(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	l, err := r.opLock(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	rec, err := r.readRecord(id)
	if err != nil {
		l.Unlock()
		return nil, nil, err
	}
	return rec, func() { l.Unlock() }, nil
}

func (r *Runtime) start(ctx context.Context, rec *Record, o StartOptions) (err error) {
	if _, err := r.CheckRuntime(); err != nil {
		return err
	}
	mon, err := r.monitorPath()
	if err != nil {
		return err
	}
	sb := r.takeStandby(rec.ID, mon)
	defer func() {
		if sb != nil {
			sb.drop() // not launched
		}
	}()
	dir, runDir, rootfs := r.containerDir(rec.ID), r.runDir(rec.ID), r.rootfs(rec.ID)
	if err := os.MkdirAll(rootfs, 0o700); err != nil {
		return fmt.Errorf("start %s: %w", rec.Name, err)
	}
	// The previous run's monitor unmounts the rootfs as it exits, after it
	// has recorded the exit (so Wait may already have returned): wait for
	// it to be gone, or its unmount would pull the rootfs from under this run.
	if st, err := monitor.ReadState(dir); err == nil && st.MonitorPid != 0 {
		r.waitGone(st.MonitorPid, st.MonitorStart, 5*time.Second)
	}
	if !isMounted(rootfs) {
		if err := r.mountRootfs(rec, rootfs); err != nil {
			return fmt.Errorf("start %s: %w", rec.Name, err)
		}
	}
	defer func() {
		if err != nil {
			_ = overlay.Unmount(rootfs)
		}
	}()
	spec, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return fmt.Errorf("start %s: %w", rec.Name, err)
	}
	if bytes.Contains(spec, []byte(ocispec.AnnotationX86LeftOut)) && !r.ia32Refused() {
		// Made where 32-bit programs could not run; this kernel runs them.
		if spec, err = ocispec.RestoreX86(spec); err != nil {
			return fmt.Errorf("start %s: %w", rec.Name, err)
		}
	}
	if err := atomicfile.Replace(filepath.Join(runDir, "config.json"), spec, 0o600); err != nil {
		return fmt.Errorf("start %s: %w", rec.Name, err)
	}
	if len(rec.Volumes) > 0 {
		if err := r.copyUpVolumes(ctx, rec, rootfs); err != nil {
			return fmt.Errorf("start %s: %w", rec.Name, err)
		}
	}
	if err := r.setupNetwork(ctx, rec); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			r.releaseNetwork(ctx, rec)
		}
	}()
	mcfg := r.monitorConfig(rec, o)
	if err := atomicfile.ReplaceJSON(filepath.Join(runDir, monitor.ConfigFile), mcfg, 0o600); err != nil {
		return fmt.Errorf("start %s: %w", rec.Name, err)
	}
	if _, err := monitor.Update(ctx, dir, func(st *monitor.State) error {
		st.StoppedByUser, st.StopReleases, st.Error, st.RestartCount = false, false, "", 0
		if sb != nil {
			// Should this CLI die before the monitor reports, stop and rm
			// must know a start is under way (settle). A standby is told
			// its container only after this, so it need not mark it too.
			st.Starting, st.MonitorPid, st.MonitorStart = true, sb.pid, sb.pidStart
		}
		return nil
	}); err != nil {
		return fmt.Errorf("start %s: %w", rec.Name, err)
	}
	if sb != nil {
		launched := sb.launch() == nil
		syncR := sb.syncR
		sb = nil
		if launched {
			return r.awaitMonitor(ctx, rec, syncR)
		}
		// It died before it was told (killed): spawn one.
	}
	return r.spawnMonitor(ctx, mon, rec, runDir)
}

func (r *Runtime) monitorConfig(rec *Record, o StartOptions) monitor.Config {
	c := monitor.Config{
		ID: rec.ID, Runtime: r.opts.Runtime, RuntimeRoot: r.opts.RuntimeRoot,
		Bundle: r.runDir(rec.ID), StateDir: r.containerDir(rec.ID), RunDir: r.runDir(rec.ID),
		Rootfs: r.rootfs(rec.ID), LogPath: r.LogPath(rec.ID),
		LogMaxSize: r.opts.LogMaxSize, LogMaxFiles: r.opts.LogMaxFiles,
		Tty: rec.Config.Tty, OpenStdin: rec.Config.OpenStdin, StdinOnce: rec.StdinOnce,
		AttachWait: o.Attach,
		Restart:    monitor.RestartPolicy{Name: rec.Config.Restart.Name, MaximumRetryCount: rec.Config.Restart.MaximumRetryCount},
		OOMFiles: []string{
			"/sys/fs/cgroup/memory" + cgroupsPath(rec.ID) + "/memory.oom_control",
			"/sys/fs/cgroup" + cgroupsPath(rec.ID) + "/memory.events",
		},
	}
	if p, err := r.CheckRuntime(); err == nil {
		c.Runtime = p
	}
	if hc := rec.Healthcheck; hc != nil {
		c.Health = healthWithDefaults(*hc)
	}
	c.EventLog, c.EventAttrs = r.EventLog(), eventAttrs(rec)
	// --rm: the monitor removes the container after its final exit, also
	// when a client is attached: that client has the exit code by then
	// (the Exit frame goes out before the monitor's exit) and removes it
	// too, whichever comes first; the monitor's removal is what still
	// happens when the client was killed or detached.
	if rec.AutoRemove && r.opts.AutoRemove != nil {
		c.OnExit, c.AutoRemove = r.opts.AutoRemove(rec.ID), true
		c.RemovedDir = r.removedDir(rec.ID)
	} else if attachedKind(rec) && r.opts.Release != nil {
		// The token names this run: a release arriving after the next
		// start (which writes a new token) does nothing.
		c.OnExit = append(r.opts.Release(rec.ID), newID()[:16])
	}
	return c
}

// healthWithDefaults applies Docker's healthcheck defaults.
func healthWithDefaults(hc runtime.Healthcheck) *monitor.Health {
	h := &monitor.Health{Test: hc.Test, Interval: hc.Interval, Timeout: hc.Timeout, StartPeriod: hc.StartPeriod, StartInterval: hc.StartInterval, Retries: hc.Retries}
	if h.Interval <= 0 {
		h.Interval = 30 * time.Second
	}
	if h.Timeout <= 0 {
		h.Timeout = 30 * time.Second
	}
	if h.StartInterval <= 0 {
		h.StartInterval = 5 * time.Second
	}
	if h.Retries <= 0 {
		h.Retries = 3
	}
	return h
}

// spawnMonitor starts the monitor in its own session with its stdio on
// /dev/null, so that it survives the CLI and its terminal, and waits for its
// report on the sync pipe.
func (r *Runtime) spawnMonitor(ctx context.Context, mon string, rec *Record, runDir string) error {
	syncR, syncW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("start %s: %w", rec.Name, err)
	}
	cmd := monitorCommand(mon, runDir)
	cmd.ExtraFiles = []*os.File{syncW}
	err = cmd.Start()
	syncW.Close()
	if err != nil {
		syncR.Close()
		return fmt.Errorf("start %s: monitor: %w", rec.Name, err)
	}
	go func() { _ = cmd.Wait() }() // reap it if it exits while we live
	// Should this CLI die before the monitor reports, stop and rm must
	// know a start is under way (settle); the monitor marks it as well.
	pid := cmd.Process.Pid
	pidStart, _ := monitor.StartTime(pid)
	_, _ = monitor.Update(ctx, r.containerDir(rec.ID), func(st *monitor.State) error {
		st.Starting, st.MonitorPid, st.MonitorStart = true, pid, pidStart
		return nil
	})
	return r.awaitMonitor(ctx, rec, syncR)
}

// awaitMonitor waits for the monitor's report on its sync pipe, which it
// closes: "ok" once the container runs (or, for an attached start, is about
// to), else why it could not start.
func (r *Runtime) awaitMonitor(ctx context.Context, rec *Record, syncR *os.File) error {
	defer syncR.Close()
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(syncR).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	var msg string
	select {
	case msg = <-line:
	case <-ctx.Done():
		return fmt.Errorf("start %s: %w", rec.Name, ctx.Err())
	}
	if msg == "ok" {
		return nil
	}
	st, _ := monitor.ReadState(r.containerDir(rec.ID))
	msg, _ = strings.CutPrefix(msg, "error: ")
	if msg == "" {
		msg = st.Error
	}
	if msg == "" {
		msg = "monitor exited without a report"
	}
	code := st.ExitCode
	if code == 0 {
		code = 128
	}
	return &StartError{Code: code, Msg: fmt.Sprintf("start %s: %s", rec.Name, msg)}
}

// observe returns the container's state as it really is: the record is
// trusted only while its monitor lives; a container whose monitor died is
// repaired (killed, deleted from the runtime, unmounted) and reported
// exited, so that nothing shows a dead container as running.
func (r *Runtime) observe(ctx context.Context, rec *Record) (monitor.State, error) {
	dir := r.containerDir(rec.ID)
	st, err := monitor.ReadState(dir)
	if err != nil {
		return st, err
	}
	if !isActive(st.Status) || monitor.Alive(st.MonitorPid, st.MonitorStart) {
		return st, nil
	}
	repaired := false
	defer func() {
		// Only a container this call repaired: one never observed dead
		// before may be starting under its operation lock.
		if repaired {
			r.releaseNetwork(ctx, rec)
		}
	}()
	return monitor.Update(ctx, dir, func(st *monitor.State) error {
		if !isActive(st.Status) || monitor.Alive(st.MonitorPid, st.MonitorStart) {
			return nil // repaired meanwhile, or restarted
		}
		repaired = true
		if monitor.Alive(st.Pid, st.PidStart) {
			_, _ = r.runtime(ctx, killArgs(r.opts.RuntimeRoot, rec.ID, "KILL", true)...)
			r.waitGone(st.Pid, st.PidStart, 5*time.Second)
		}
		if r.runtimeHas(rec.ID) {
			_, _ = r.runtime(ctx, deleteArgs(r.opts.RuntimeRoot, rec.ID, true)...)
		}
		_ = overlay.Unmount(r.rootfs(rec.ID))
		st.Status, st.Pid, st.PidStart = monitor.Exited, 0, 0
		if st.ExitCode == 0 {
			st.ExitCode = 255
		}
		st.Error = "monitor exited unexpectedly"
		st.FinishedAt = time.Now().UTC()
		return nil
	})
}

// settle waits out a start in progress that no CLI holds the operation
// lock of any more (its CLI was killed, or it is attached to a `run -it`):
// its monitor is up but the container is not running yet, so the state
// still says "created" or "exited", and removing it now would leave the
// process runc is about to start running without a record. With stop set
// (stop, rm -f) the monitor is told not to let it run, or to kill it as it
// comes up; either way this returns once the start has ended one way or
// the other, and the caller observes the result.
func (r *Runtime) settle(ctx context.Context, rec *Record, stop bool) error {
	dir := r.containerDir(rec.ID)
	st, err := monitor.ReadState(dir)
	if err != nil || !st.Starting || !monitor.Alive(st.MonitorPid, st.MonitorStart) {
		return err
	}
	if stop {
		if _, err := monitor.Update(ctx, dir, func(st *monitor.State) error {
			st.StoppedByUser = true
			return nil
		}); err != nil {
			return fmt.Errorf("%s: %w", rec.Name, err)
		}
		_ = syscall.Kill(st.MonitorPid, syscall.SIGUSR1) // ends a wait for a client
	}
	// runc's start, or a `run -it` client's attach (10 s at most).
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := monitor.ReadState(dir)
		if err != nil {
			return err
		}
		if !st.Starting || !monitor.Alive(st.MonitorPid, st.MonitorStart) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: its start has not finished after 30 s: %w", rec.Name, errdefs.ErrUnavailable)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: waiting for its start: %w", rec.Name, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (r *Runtime) waitGone(pid int, start uint64, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for monitor.Alive(pid, start) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// Stop sends the stop signal, then SIGKILL after timeout (nil: the
// container's own). Stopping a stopped container is a no-op. The monitor
// will not restart a container stopped this way.
func (r *Runtime) Stop(ctx context.Context, ref string, timeout *time.Duration) error {
	rec, unlock, err := r.lockedRecord(ctx, ref)
	if err != nil {
		return err
	}
	defer unlock()
	if err := r.stop(ctx, rec, timeout); err != nil {
		return err
	}
	r.event(rec, "stop")
	return nil
}

func (r *Runtime) stop(ctx context.Context, rec *Record, timeout *time.Duration) error {
	if err := r.settle(ctx, rec, true); err != nil {
		return err
	}
	st, err := r.observe(ctx, rec)
	if err != nil || !isActive(st.Status) {
		return err
	}
	st, err = monitor.Update(ctx, r.containerDir(rec.ID), func(st *monitor.State) error {
		st.StoppedByUser = true
		st.StopReleases = true // below, once the monitor is gone
		return nil
	})
	if err != nil {
		return fmt.Errorf("stop %s: %w", rec.Name, err)
	}
	_ = syscall.Kill(st.MonitorPid, syscall.SIGUSR1) // wakes a restart back-off
	t := rec.StopTimeout
	if timeout != nil {
		t = *timeout
	}
	if st.Status != monitor.Restarting && t != 0 {
		r.signal(ctx, rec, st, rec.StopSignal, false)
		if t < 0 {
			t = 24 * 365 * time.Hour // Docker's -1: wait for ever
		}
		if r.waitGone(st.MonitorPid, st.MonitorStart, t) {
			r.releaseNetwork(ctx, rec)
			return nil
		}
	}
	r.signal(ctx, rec, st, "KILL", true)
	if r.waitGone(st.MonitorPid, st.MonitorStart, 10*time.Second) {
		r.releaseNetwork(ctx, rec)
		return nil
	}
	return fmt.Errorf("stop %s: container did not exit after SIGKILL", rec.Name)
}

// signal sends sig to the container's init, thawing a paused container so
// that it can act on it. A running one is signalled directly: its init is
// pid 1 of a PID namespace of its own (ocispec), so SIGKILL to it takes
// every process of the container, as `runc kill --all` would, and a stop
// costs no runtime exec.
func (r *Runtime) signal(ctx context.Context, rec *Record, st monitor.State, sig string, all bool) error {
	if st.Status == monitor.Running {
		if n, err := ocispec.ParseSignal(sig); err == nil && monitor.Signal(st.Pid, st.PidStart, n) {
			return nil
		}
	}
	_, err := r.runtime(ctx, killArgs(r.opts.RuntimeRoot, rec.ID, sig, all)...)
	if st.Status == monitor.Paused {
		_, _ = r.runtime(ctx, resumeArgs(r.opts.RuntimeRoot, rec.ID)...)
	}
	return err
}

// Remove deletes a container and everything it owns. A running container
// needs opts.Force (errdefs.ErrFailedPrecondition otherwise).
func (r *Runtime) Remove(ctx context.Context, ref string, opts runtime.RemoveOptions) error {
	rec, unlock, err := r.lockedRecord(ctx, ref)
	if err != nil {
		return err
	}
	defer unlock()
	if err := r.settle(ctx, rec, opts.Force); err != nil {
		return err
	}
	st, err := r.observe(ctx, rec)
	if err != nil {
		return err
	}
	if isActive(st.Status) {
		if !opts.Force {
			verb := "running"
			if st.Status == monitor.Paused {
				verb = "paused"
			}
			return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("cannot remove container \"/%s\": container is %s: stop the container before removing or force remove", rec.Name, verb))
		}
		zero := time.Duration(0)
		if err := r.stop(ctx, rec, &zero); err != nil {
			return fmt.Errorf("remove %s: %w", rec.Name, err)
		}
	}
	// An attached run --rm leaves the deletion of the two trees to the
	// container's monitor, which does it once this process has ended
	// (monitor.Config.RemovedDir), and the runtime's state too, which it
	// deletes after the exit it told us: the container is gone when the
	// record, the name and the directory's name are.
	swept := r.sweptByMonitor(rec.ID, st)
	if !swept && r.runtimeHas(rec.ID) {
		_, _ = r.runtime(ctx, deleteArgs(r.opts.RuntimeRoot, rec.ID, true)...)
	}
	r.releaseNetwork(ctx, rec)
	if err := overlay.Unmount(r.rootfs(rec.ID)); err != nil {
		return fmt.Errorf("remove %s: %w", rec.Name, err)
	}
	if err := r.releaseVolumes(ctx, rec.ID, rec.Volumes, opts.RemoveVolumes); err != nil {
		return fmt.Errorf("remove %s: %w", rec.Name, err)
	}
	// The run directory goes while the rest does (two trees of small
	// files, ~70 us an unlink here); one a crash leaves is RemoveOrphans'.
	runDirGone := make(chan error, 1)
	if swept {
		runDirGone <- nil
	} else {
		go func() { runDirGone <- os.RemoveAll(r.runDir(rec.ID)) }()
	}
	// The record goes first so that a crash midway leaves no half
	// container that List would show.
	if err := os.Remove(filepath.Join(r.containerDir(rec.ID), recordFile)); err != nil {
		<-runDirGone
		return fmt.Errorf("remove %s: %w", rec.Name, err)
	}
	r.releaseName(rec.Name, rec.ID)
	if swept {
		err = r.moveAside(rec.ID)
		if err == nil && !monitor.Alive(st.MonitorPid, st.MonitorStart) {
			// It died since (killed): nobody else will.
			err = r.sweepRemoved(ctx, rec.ID)
		}
	} else {
		err = r.removeContainerDir(rec.ID)
	}
	if rerr := <-runDirGone; err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("remove %s: %w", rec.Name, err)
	}
	if attachedKind(rec) && r.networksWired() {
		// Also what removed containers left when a berth was killed in the
		// middle of an attach, detach or rm: leases, namespaces, rules.
		_ = r.opts.Networks.Cleanup(ctx, r.netnsDir(), r.dirExists)
	}
	r.event(rec, "destroy")
	return nil
}

// sweepRemoved deletes what a remove left to a monitor that is gone: the
// moved-aside directory, the run directory and the runtime's state.
func (r *Runtime) sweepRemoved(ctx context.Context, id string) error {
	if r.runtimeHas(id) {
		_, _ = r.runtime(ctx, deleteArgs(r.opts.RuntimeRoot, id, true)...)
	}
	return errors.Join(os.RemoveAll(r.runDir(id)), os.RemoveAll(r.removedDir(id)))
}

// sweptByMonitor tells whether the container's monitor deletes what its
// remove moves aside (monitor.Config.RemovedDir): this process heard its
// exit attached as its remover after the monitor said it sweeps
// (monitor.KindSweeps), and the monitor, which waits for this process to
// end, still runs.
func (r *Runtime) sweptByMonitor(id string, st monitor.State) bool {
	r.mu.Lock()
	remover := r.removerOf[id]
	r.mu.Unlock()
	return remover && st.MonitorPid != 0 && monitor.Alive(st.MonitorPid, st.MonitorStart)
}

// List returns every container as observed, in no particular order.
func (r *Runtime) List(ctx context.Context) ([]runtime.Container, error) {
	obs, err := r.ListObserved(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]runtime.Container, len(obs))
	for i, o := range obs {
		out[i] = container(o.Record, o.State)
	}
	return out, nil
}

func container(rec *Record, st monitor.State) runtime.Container {
	c := runtime.Container{
		ID: rec.ID, Name: rec.Name, Image: rec.Image, ImageID: rec.ImageID,
		Labels: rec.Config.Labels, Status: runtime.Status(st.Status), ExitCode: st.ExitCode,
		Created: rec.Created, Config: rec.Config,
	}
	if st.Health != nil && isActive(st.Status) {
		c.Health = st.Health.Status
		if n := len(st.Health.Log); n > 0 {
			c.HealthOutput = st.Health.Log[n-1].Output
		}
	}
	return c
}

// runtime runs the OCI runtime binary: the one place that does. Its stderr
// is kept in the error.
func (r *Runtime) runtime(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, r.opts.Runtime, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		var name string
		for _, a := range args {
			if !strings.HasPrefix(a, "-") && a != r.opts.RuntimeRoot {
				name = a
				break
			}
		}
		return out, fmt.Errorf("%s %s: %s", r.opts.Runtime, name, msg)
	}
	return out, nil
}

// runtimeHas reports whether the OCI runtime may still hold state for id
// (runc and crun keep <root>/<id>), to skip needless deletes.
func (r *Runtime) runtimeHas(id string) bool {
	_, err := os.Stat(filepath.Join(r.opts.RuntimeRoot, id))
	return err == nil
}
