package monitor

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Main is the monitor's entry point: `berth-shim RUNDIR` with the CLI's
// sync pipe as fd 3, `berth-shim init -- CMD...` as a container's init, or
// `berth-shim probe RUNDIR STARTED` for one healthcheck probe (probeMain).
// It returns the process exit status.
func Main(args []string) int {
	// As --init, the binary is bind-mounted at /sbin/berth-init and run as
	// `berth-init -- CMD...`.
	if filepath.Base(args[0]) == "berth-init" {
		return initMain(args[1:])
	}
	if len(args) >= 2 && args[1] == "init" {
		return initMain(args[2:])
	}
	if len(args) >= 2 && args[1] == "probe" {
		return probeMain(args[2:])
	}
	if len(args) != 2 {
		os.Stderr.WriteString("usage: berth-shim RUNDIR | berth-shim init -- CMD [ARG...] | berth-shim probe RUNDIR STARTED\n")
		return 2
	}
	standby := os.Getenv(StandbyEnv) == "1"
	if standby && !awaitGo(os.NewFile(4, "go")) {
		return 0 // the CLI ended before its container was ready
	}
	// Small heap, few threads: this process is paid per container.
	debug.SetGCPercent(25)
	cfg, err := ReadConfig(args[1])
	sync := os.NewFile(3, "sync")
	if err != nil {
		report(sync, err)
		return 1
	}
	m := &monitor{cfg: cfg, sync: sync, hub: newHub(cfg.StdinOnce), wake: make(chan os.Signal, 1), marked: standby}
	err = m.run()
	if len(cfg.OnExit) > 0 {
		if m.hookNeeded() {
			cmd := exec.Command(cfg.OnExit[0], cfg.OnExit[1:]...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			_ = cmd.Start()
		} else {
			m.sweep()
		}
	}
	if err != nil {
		return 1
	}
	return 0
}

// StandbyEnv=1 in its environment makes the monitor a standby
// (runc.Runtime.PrepareMonitor): started before its container is ready,
// it waits until the CLI writes "go" on fd 4, and exits if fd 4 closes
// first.
const StandbyEnv = "BERTH_SHIM_STANDBY"

// awaitGo waits for a standby's go; false if the CLI closed fd 4 without.
func awaitGo(f *os.File) bool {
	defer f.Close()
	var b []byte
	buf := make([]byte, 8)
	for {
		n, err := f.Read(buf)
		b = append(b, buf[:n]...)
		if bytes.HasPrefix(b, []byte("go\n")) {
			return true
		}
		if err != nil || len(b) >= 3 {
			return false
		}
	}
}

// hookNeeded tells whether the OnExit hook still has work to do. An
// attached `run --rm` removes its container itself once it hears the exit,
// and a stop, rm or down releases the network itself once the monitor is
// gone; running a second berth for it would cost a whole process start
// (~60 ms of CPU) per container and contend for its lock. It waits (10
// minutes at most, polling slower after 10 s: a remove deleting large
// anonymous volumes can take long) for the attached clients that said they
// remove it to finish first; if one was killed before removing, the
// container is still there and the hook runs.
func (m *monitor) hookNeeded() bool {
	start := time.Now()
	for _, c := range m.exitClients {
		for Alive(c.pid, c.start) && time.Since(start) < 10*time.Minute {
			if time.Since(start) < 10*time.Second {
				time.Sleep(5 * time.Millisecond)
			} else {
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
	if _, err := os.Stat(m.cfg.StateDir); errors.Is(err, os.ErrNotExist) {
		return false
	}
	if m.cfg.AutoRemove {
		return true
	}
	st, err := ReadState(m.cfg.StateDir)
	return err != nil || !st.StopReleases
}

// sweep deletes what the remove of an attached run --rm left to us (see
// Config.RemovedDir), once that client is gone (hookNeeded waited for it)
// and has removed the container.
func (m *monitor) sweep() {
	if m.cfg.RemovedDir == "" || len(m.exitClients) == 0 {
		return
	}
	if _, err := os.Stat(m.cfg.StateDir); !errors.Is(err, os.ErrNotExist) {
		return
	}
	_ = os.RemoveAll(m.cfg.RemovedDir)
	_ = os.RemoveAll(m.cfg.RunDir)
}

// report tells the waiting CLI how the first start went, once.
func report(sync *os.File, err error) {
	if sync == nil {
		return
	}
	if err != nil {
		sync.WriteString("error: " + err.Error() + "\n")
	} else {
		sync.WriteString("ok\n")
	}
	sync.Close()
}

type monitor struct {
	cfg Config
	// The clients attached when the container exited for good that remove
	// it themselves (an attached `run --rm`).
	exitClients []proc
	sync        *os.File
	hub         *hub
	log         *LogWriter
	logm        sync.Mutex
	wake        chan os.Signal // SIGUSR1: the CLI changed state (stop during back-off)
	oom         bool           // the last run ended with an OOM kill
	marked      bool           // the CLI marked the start with our pid (a standby)
	deleteLater bool           // removedAfterExit and cgroupsEmpty held at the exit: deleteExited after sending it
}

func (m *monitor) run() error {
	ctx := context.Background()
	signal.Notify(m.wake, unix.SIGUSR1)
	signal.Ignore(unix.SIGHUP, unix.SIGINT, unix.SIGPIPE)
	defer m.cleanup()
	// The CLI marks this start too, right after spawning us; marking it
	// here as well covers a CLI killed in between. A standby was told its
	// container after the CLI had marked it.
	if !m.marked {
		self := os.Getpid()
		selfStart, _ := StartTime(self)
		m.record(ctx, func(st *State) { st.Starting, st.MonitorPid, st.MonitorStart = true, self, selfStart })
	}

	lw, err := OpenLog(m.cfg.LogPath, m.cfg.LogMaxSize, m.cfg.LogMaxFiles)
	if err != nil {
		m.fail(ctx, err)
		return err
	}
	m.log = lw
	defer lw.Close()
	sock := filepath.Join(m.cfg.RunDir, AttachSocket)
	_ = os.Remove(sock)
	ln, err := listenUnix(sock)
	if err != nil {
		m.fail(ctx, err)
		return err
	}
	defer ln.Close()
	go m.hub.serve(ln)

	var backoff time.Duration
	for first := true; ; first = false {
		started := time.Now()
		code, err := m.once(ctx, first)
		if err != nil {
			if first {
				m.fail(ctx, err)
				return err
			}
			m.record(ctx, func(st *State) { st.Status, st.Error, st.ExitCode = Exited, err.Error(), startErrorCode(err) })
			return err
		}
		ran := time.Since(started)
		restart := false
		if !m.cfg.AutoRemove {
			if c, err := ReadConfig(m.cfg.RunDir); err == nil {
				m.cfg.Restart = c.Restart // `update --restart` may have changed it
			}
		}
		oom := m.oom
		_, _ = Update(ctx, m.cfg.StateDir, func(st *State) error {
			st.Status, st.ExitCode, st.FinishedAt, st.Pid, st.PidStart = Exited, code, time.Now().UTC(), 0, 0
			st.OOMKilled = oom
			restart = ShouldRestart(m.cfg.Restart, code, st.RestartCount, st.StoppedByUser)
			if restart {
				st.Status = Restarting
				st.RestartCount++
			}
			return nil
		})
		_ = AppendEvent(m.cfg.EventLog, NewEvent(m.cfg.ID, "die", m.cfg.EventAttrs, "exitCode", strconv.Itoa(code)))
		if oom {
			_ = AppendEvent(m.cfg.EventLog, NewEvent(m.cfg.ID, "oom", m.cfg.EventAttrs))
		}
		if !restart {
			// Those attached as the exit goes out: one may hang up as
			// soon as it has it.
			m.exitClients = m.hub.removers()
			if m.cfg.RemovedDir != "" && len(m.exitClients) > 0 {
				m.hub.send(KindSweeps, nil) // sweep() will
			}
		}
		m.hub.sendExit(code)
		if m.deleteLater {
			m.deleteExited(ctx)
			m.deleteLater = false
		}
		if !restart {
			return nil
		}
		backoff = NextBackoff(backoff, ran)
		select {
		case <-time.After(backoff):
		case <-m.wake:
		}
		st, _ := ReadState(m.cfg.StateDir)
		if st.StoppedByUser {
			m.record(ctx, func(st *State) { st.Status = Exited })
			return nil
		}
	}
}

// fail records a start that never got going and tells the CLI.
func (m *monitor) fail(ctx context.Context, err error) {
	m.record(ctx, func(st *State) {
		st.Error, st.ExitCode, st.Pid, st.PidStart = err.Error(), startErrorCode(err), 0, 0
		st.Starting = false
		if st.Status != Created {
			st.Status = Exited
		}
	})
	report(m.sync, err)
	m.sync = nil
}

func (m *monitor) record(ctx context.Context, fn func(*State)) {
	_, _ = Update(ctx, m.cfg.StateDir, func(st *State) error { fn(st); return nil })
}

// startErrorCode is Docker's exit code for a process that could not start:
// 127 when the command is not found, 126 when it cannot be executed.
func startErrorCode(err error) int {
	s := err.Error()
	switch {
	case strings.Contains(s, "executable file not found"), strings.Contains(s, "no such file or directory"):
		return 127
	case strings.Contains(s, "permission denied"):
		return 126
	}
	return 128
}

func (m *monitor) cleanup() {
	m.hub.closeAll()
	if m.cfg.Rootfs != "" {
		_ = unix.Unmount(m.cfg.Rootfs, unix.MNT_DETACH)
	}
	_ = os.Remove(filepath.Join(m.cfg.RunDir, AttachSocket))
	_ = os.Remove(filepath.Join(m.cfg.RunDir, consoleSocket))
	report(m.sync, nil)
}

func (m *monitor) runtime(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, m.cfg.Runtime, m.cfg.runtimeArgs(args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return out, errors.New(args[0] + ": " + msg)
	}
	return out, nil
}

// once creates and starts the container, pumps its output until it exits
// and returns its exit code. An error means it never started.
func (m *monitor) once(ctx context.Context, first bool) (int, error) {
	cfg := &m.cfg
	if m.runtimeHas(cfg.ID) {
		_, _ = m.runtime(ctx, "delete", "--force", cfg.ID) // leftovers of a killed monitor
	}
	pidPath := filepath.Join(cfg.RunDir, pidFile)
	_ = os.Remove(pidPath)
	// One `run --detach` instead of create then start: one runtime exec
	// less per start. The init is reparented to us, the subreaper.
	args := []string{"run", "--detach", "--bundle", cfg.Bundle, "--pid-file", pidPath}
	cmd := exec.CommandContext(ctx, cfg.Runtime)
	io, extra, err := m.openIO(cmd)
	if err != nil {
		return 0, err
	}
	cmd.Args = append([]string{cfg.Runtime}, cfg.runtimeArgs(append(append(args, extra...), cfg.ID)...)...)
	if io.stdinW != nil {
		// Before the client attaches: what it sends waits in the pipe.
		m.hub.setStdin(io.stdinW, nil)
	}
	// A client waits to attach (run, start -a): it attaches once it hears
	// from us. Without a terminal the container starts meanwhile, its
	// output waiting in the pipes until the client is there (awaitClient
	// before the pumps), so that none of it is lost and the client's
	// round trip is not on the way to the start. With one, the process
	// waits for the client, whose first message sets the terminal's size.
	waitClient := first && cfg.AttachWait
	if waitClient {
		report(m.sync, nil)
		m.sync = nil
		if cfg.Tty {
			m.awaitClient()
			waitClient = false
		}
	}
	// A stop or rm while we were starting (the CLI that started us gone)
	// or in a restart back-off: the container must not run.
	if st, _ := ReadState(cfg.StateDir); st.StoppedByUser {
		m.hub.setStdin(nil, nil)
		io.close()
		if first {
			return 0, errors.New("stopped before it started")
		}
		return 0, errors.New("stopped during restart")
	}
	setSubreaper(true)
	err = cmd.Run()
	io.closeChild()
	if err != nil {
		setSubreaper(false)
		m.hub.setStdin(nil, nil)
		reapOrphans(0)
		if waitClient {
			m.awaitClient() // it hears of the failure as it would have
		}
		return 0, io.failure(err)
	}
	defer io.close()
	pid, err := readPid(pidPath)
	if err == nil {
		awaitAdoption(pid)
	}
	setSubreaper(false)
	reapOrphans(pid)
	if err == nil {
		if waitClient {
			m.awaitClient()
		}
		var pumps sync.WaitGroup
		if err = m.connect(io, &pumps); err == nil {
			code := m.supervise(ctx, pid, first)
			drain(&pumps)
			m.hub.setStdin(nil, nil)
			m.oom = m.oomKilled() // read before delete removes the cgroup
			if m.deleteLater = m.removedAfterExit() && m.cgroupsEmpty(); !m.deleteLater {
				m.deleteExited(ctx)
			}
			return code, nil
		}
	}
	_, _ = m.runtime(ctx, "delete", "--force", cfg.ID)
	return 0, err
}

// removedAfterExit tells whether an attached client removes the container
// after its exit (run --rm, which never restarts): the runtime's state and
// cgroups are then deleted after the exit is recorded and sent, while that
// client removes the rest (runc.Runtime.Remove leaves them to us), instead
// of before, which every other exit needs (a stop or rm right after must
// find them gone).
func (m *monitor) removedAfterExit() bool {
	return m.cfg.AutoRemove && m.cfg.RemovedDir != "" && len(m.hub.removers()) > 0
}

// cgroupsEmpty tells whether no process is left in the container's memory
// cgroup (the directories of OOMFiles): only then may its exit go out
// before its cgroups are deleted, for deleting them is what waits for, or
// kills, what the init left running (with --pid host, say). Unknown is not
// empty.
func (m *monitor) cgroupsEmpty() bool {
	seen := false
	for _, f := range m.cfg.OOMFiles {
		data, err := os.ReadFile(filepath.Join(filepath.Dir(f), "cgroup.procs"))
		if err != nil {
			continue
		}
		if len(bytes.TrimSpace(data)) > 0 {
			return false
		}
		seen = true
	}
	return seen
}

// awaitClient waits for the first client to attach, for a stop or rm (the
// CLI that started us gone), or 10 s at most.
func (m *monitor) awaitClient() {
	select {
	case <-m.hub.attached:
	case <-m.wake:
	case <-time.After(10 * time.Second):
	}
}

// trimAfter is how long a container runs before its monitor drops the
// code pages starting it brought in (trimMemory).
const trimAfter = 2 * time.Second

// setSubreaper makes this process a child subreaper while runc starts the
// container, so that its init, whose parent exits, becomes our child, and
// not after: what later runtime execs orphan (a probe's runc exec
// intermediate process, a probe command that outlives its timeout) goes to
// the system's init, which reaps it. A monitor that stayed a subreaper
// collected a zombie per probe, and a container whose pid 1 could not
// finish exiting while zombies of its namespace remained unreaped.
func setSubreaper(on bool) {
	v := uintptr(0)
	if on {
		v = 1
	}
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, v, 0, 0, 0)
}

// awaitAdoption waits (a second at most) until the container's init is
// our child: runc's intermediate process, its parent, may exit a moment
// after runc itself, and we must still be a subreaper then.
func awaitAdoption(init int) {
	self := os.Getpid()
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if ppid, ok := parentOf(init); !ok || ppid == self {
			return
		}
	}
}

// reapOrphans reaps the exited children that runc's start left us (its
// intermediate process), leaving init, whose exit status waitPid is for.
// Right after `runc run` every other child of ours is such an orphan.
func reapOrphans(init int) {
	for {
		var info unix.Siginfo
		if err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil); err != nil {
			return
		}
		pid := siginfoPid(&info)
		if pid <= 0 || pid == init {
			return // none, or init first: the next start reaps the rest
		}
		var ws unix.WaitStatus
		if _, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil); err != nil {
			return
		}
	}
}

// siginfoPid is si_pid of a SIGCHLD siginfo (waitid's), which
// x/sys/unix does not name: the first field of the union after signo,
// errno and code, at byte 16 on 64-bit Linux.
func siginfoPid(info *unix.Siginfo) int {
	return int(*(*int32)(unsafe.Add(unsafe.Pointer(info), 16)))
}

// supervise records the running container, runs its healthcheck and waits
// for its init to exit, returning the exit code.
func (m *monitor) supervise(ctx context.Context, pid int, first bool) int {
	cfg := &m.cfg
	pidStart, _ := StartTime(pid)
	startedAt := time.Now().UTC()
	self := os.Getpid()
	selfStart, _ := StartTime(self)
	stopped := false
	m.record(ctx, func(st *State) {
		st.Status, st.Pid, st.PidStart, st.MonitorPid, st.MonitorStart = Running, pid, pidStart, self, selfStart
		st.StartedAt, st.Error, st.ExitCode, st.OOMKilled = startedAt, "", 0, false
		st.Starting, stopped = false, st.StoppedByUser
		if cfg.Health != nil {
			st.Health = &HealthState{Status: "starting", Log: st.HealthLog()}
		}
	})
	if stopped {
		// Stopped while runc was starting it: the stop found nothing to
		// signal yet. The init is pid 1 of its own namespace, so this
		// takes the whole container.
		_ = unix.Kill(pid, unix.SIGKILL)
	}
	_ = AppendEvent(cfg.EventLog, NewEvent(cfg.ID, "start", cfg.EventAttrs))
	if first {
		report(m.sync, nil)
		m.sync = nil
	}
	// Trimmed once the container has run a while: one that exits at once
	// (run --rm ... true) would only fault back, a page at a time, the
	// code its exit takes.
	trim := time.AfterFunc(trimAfter, trimMemory)
	stopHealth := make(chan struct{})
	var health sync.WaitGroup
	if cfg.Health != nil {
		health.Add(1)
		go func() { defer health.Done(); m.health(stopHealth, startedAt, pid) }()
	}
	code := waitPid(pid)
	trim.Stop()
	close(stopHealth)
	health.Wait()
	return code
}

type nopCloser struct{ f *os.File }

func (n nopCloser) Write(p []byte) (int, error) { return n.f.Write(p) }
func (n nopCloser) Close() error                { return nil }

func (m *monitor) pump(wg *sync.WaitGroup, r *os.File, stream string, kind byte) {
	defer wg.Done()
	defer r.Close()
	buf := make([]byte, 16*1024)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			m.logm.Lock()
			_ = m.log.Write(stream, buf[:n])
			m.logm.Unlock()
			m.hub.send(kind, buf[:n])
		}
		if err != nil {
			return
		}
	}
}

func readPid(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, errorf("read pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, errorf("read pid file: %w", err)
	}
	return pid, nil
}

// waitPid reaps pid (our child: we are a subreaper, so the container's init
// was reparented to us when the runtime's create exited).
func waitPid(pid int) int {
	for {
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			// Not our child (should not happen): poll until it is gone.
			for {
				if _, ok := StartTime(pid); !ok {
					return 255
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
		return exitCode(ws.Exited(), ws.ExitStatus(), ws.Signaled(), int(ws.Signal()))
	}
}

// cleanRuntimeError keeps the useful part of the runtime's error output.
func cleanRuntimeError(msg string, err error) string {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return err.Error()
	}
	lines := strings.Split(msg, "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// HealthLog returns the probes kept so far (nil without a healthcheck).
func (st *State) HealthLog() []Probe {
	if st.Health == nil {
		return nil
	}
	return st.Health.Log
}

// runtimeHas reports whether the OCI runtime may still know the container
// (runc and crun keep a directory per container under their --root), so
// that the common case skips a needless delete.
func (m *monitor) runtimeHas(id string) bool {
	if m.cfg.RuntimeRoot == "" {
		return true
	}
	_, err := os.Stat(filepath.Join(m.cfg.RuntimeRoot, id))
	return err == nil
}
