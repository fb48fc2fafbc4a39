package monitor

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// maxProbeOutput is what Docker keeps of a probe's output.
const maxProbeOutput = 4096

// keepProbes is how many probe results State.Health.Log keeps.
const keepProbes = 5

// health probes the container until stop is closed. Each probe is a
// short-lived helper, `berth-shim probe RUNDIR STARTED` (probeMain), that
// runs the command through the OCI runtime and records the result in
// state.json itself, and the monitor only starts it (with a spawner: no
// allocation) and waits for it. The monitor lives as long as its container
// and is paid per container: a probe done here (os/exec, JSON, the state
// file) allocated ~19 KiB, so at one probe a second its heap grew to the
// collector's goal within a minute and the collector's metadata came on
// top, ~2 MiB more than an idle monitor. This one allocates nothing per
// probe, so it never collects and costs what an idle monitor does.
func (m *monitor) health(stop <-chan struct{}, started time.Time, init int) {
	h := m.cfg.Health
	null, err := os.Open(os.DevNull)
	if err == nil {
		defer null.Close()
	}
	// The container's init has the open files limit the runtime started
	// with, which os/exec gave it (see newSpawner): the probe's runtime
	// exec gets the same.
	var nofile *unix.Rlimit
	if lim := new(unix.Rlimit); unix.Prlimit(init, unix.RLIMIT_NOFILE, nil, lim) == nil {
		nofile = lim
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "GOMAXPROCS=1"}
	// /proc/self/exe: this very binary, even if an upgrade replaced the file.
	args := []string{"berth-shim", "probe", m.cfg.RunDir, strconv.FormatInt(started.UnixNano(), 10)}
	var sp *spawner
	if err == nil {
		sp, err = newSpawner("/proc/self/exe", args, env, null.Fd(), nofile)
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		d := h.Interval
		if h.StartInterval > 0 && time.Since(started) < h.StartPeriod {
			d = h.StartInterval
		}
		timer.Reset(d)
		select {
		case <-stop:
			return
		case <-timer.C:
		}
		if err != nil {
			m.probeFailed(started, "cannot start the health probe: "+err.Error())
			continue
		}
		pid, err := sp.start()
		if err != nil {
			m.probeFailed(started, "cannot start the health probe: "+err.Error())
			continue
		}
		// The helper ends with its probe's timeout, give or take the state
		// lock. A container that exits meanwhile ends the probe too (the
		// runtime's exec fails), and the helper then records nothing.
		var ws syscall.WaitStatus
		for {
			if _, err := syscall.Wait4(pid, &ws, 0, nil); err != syscall.EINTR {
				break
			}
		}
		if code := ws.ExitStatus(); !ws.Exited() || (code != 0 && code != probeRunEnded) {
			m.probeFailed(started, "health probe helper failed: exit code "+strconv.Itoa(exitCode(ws.Exited(), ws.ExitStatus(), ws.Signaled(), int(ws.Signal()))))
		}
		// What the probe's fork, wait and the runtime's work meanwhile
		// brought in of this binary's pages goes again (without it the
		// monitor's RSS crept up by ~400 KiB of them in three minutes).
		trimMemory()
	}
}

// probeFailed records a probe that could not be made at all (the helper
// did not start, or failed before recording), as Docker records a probe
// whose exec fails: a failure, so that the status does not stay
// "starting" or "healthy" unseen. It allocates, which is fine for what
// should never happen.
func (m *monitor) probeFailed(started time.Time, msg string) {
	now := time.Now().UTC()
	_ = recordProbe(&m.cfg, started, Probe{Start: now, End: now, ExitCode: -1, Output: msg})
}

// probeRunEnded is probeMain's exit status when the run it probed has
// ended: nothing was recorded, and rightly.
const probeRunEnded = 3

// probeMain is `berth-shim probe RUNDIR STARTED`: one healthcheck probe of
// the container whose run started at STARTED (Unix nanoseconds), recorded
// in its state unless that run has ended meanwhile (a probe failing
// because the container exited is not a verdict). A change of health
// status goes to the event log, as Docker logs it.
func probeMain(args []string) int {
	if len(args) != 2 {
		os.Stderr.WriteString("usage: berth-shim probe RUNDIR STARTED\n")
		return 2
	}
	ns, err := strconv.ParseInt(args[1], 10, 64)
	if err != nil {
		os.Stderr.WriteString("berth-shim probe: bad start time " + strconv.Quote(args[1]) + "\n")
		return 2
	}
	started := time.Unix(0, ns)
	cfg, err := ReadConfig(args[0])
	if err != nil || cfg.Health == nil {
		return 1
	}
	p := probe(context.Background(), &cfg)
	switch err := recordProbe(&cfg, started, p); {
	case errors.Is(err, errRunEnded):
		return probeRunEnded
	case err != nil:
		os.Stderr.WriteString("berth-shim probe: " + err.Error() + "\n")
		return 1
	}
	return 0
}

// errRunEnded is recordProbe's refusal of a probe of an ended run.
var errRunEnded = errors.New("run ended")

// recordProbe applies p to the health of the run that started at started,
// unless that run has ended (not running or paused any more, another run,
// or its init gone), and logs a change of status as Docker does.
func recordProbe(cfg *Config, started time.Time, p Probe) error {
	var status string
	_, err := Update(context.Background(), cfg.StateDir, func(st *State) error {
		if (st.Status != Running && st.Status != Paused) || !st.StartedAt.Equal(started) || !Alive(st.Pid, st.PidStart) {
			return errRunEnded
		}
		old := ""
		if st.Health != nil {
			old = st.Health.Status
		}
		st.Health = ApplyProbe(st.Health, p, p.Start.Sub(started) < cfg.Health.StartPeriod, cfg.Health.Retries)
		if st.Health.Status != old {
			status = st.Health.Status // Docker logs changes only
		}
		return nil
	})
	if err == nil && status != "" {
		_ = AppendEvent(cfg.EventLog, NewEvent(cfg.ID, "health_status: "+status, cfg.EventAttrs))
	}
	return err
}

// ApplyProbe is Docker's health state machine: a success makes the
// container healthy; a failure counts towards retries unless it happens
// during the start period before any success; retries failures in a row
// make it unhealthy. The log keeps the last five probes.
func ApplyProbe(hs *HealthState, p Probe, inStartPeriod bool, retries int) *HealthState {
	next := HealthState{Status: "starting"}
	if hs != nil {
		next = *hs
		next.Log = append([]Probe(nil), hs.Log...)
	}
	next.Log = append(next.Log, p)
	if len(next.Log) > keepProbes {
		next.Log = next.Log[len(next.Log)-keepProbes:]
	}
	if p.ExitCode == 0 {
		next.Status, next.FailingStreak = "healthy", 0
		return &next
	}
	if inStartPeriod && next.Status == "starting" {
		return &next
	}
	next.FailingStreak++
	if retries <= 0 {
		retries = 3
	}
	if next.FailingStreak >= retries {
		next.Status = "unhealthy"
	}
	return &next
}

// probe runs the healthcheck command in the container through the OCI
// runtime's exec.
func probe(ctx context.Context, cfg *Config) Probe {
	h := cfg.Health
	p := Probe{Start: time.Now().UTC()}
	var args []string
	switch {
	case len(h.Test) >= 2 && h.Test[0] == "CMD-SHELL":
		args = []string{"/bin/sh", "-c", h.Test[1]}
	case len(h.Test) >= 2 && h.Test[0] == "CMD":
		args = h.Test[1:]
	default:
		p.End, p.ExitCode, p.Output = time.Now().UTC(), -1, "invalid healthcheck test"
		return p
	}
	ctx, cancel := context.WithTimeout(ctx, h.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, cfg.Runtime, cfg.runtimeArgs(append([]string{"exec", cfg.ID}, args...)...)...)
	// The output comes through one pipe read here, not os/exec's copying
	// goroutines.
	r, w, err := os.Pipe()
	if err == nil {
		cmd.Stdout, cmd.Stderr = w, w
		err = cmd.Start()
		w.Close()
		if err == nil {
			if dl, ok := ctx.Deadline(); ok {
				_ = r.SetReadDeadline(dl) // a command that outlives runc keeps the pipe open
			}
			p.Output = readProbeOutput(r)
			err = cmd.Wait()
		}
		r.Close()
	}
	p.End = time.Now().UTC()
	var ee *exec.ExitError
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		p.ExitCode = -1
		p.Output = "Health check exceeded timeout (" + h.Timeout.String() + ")"
	case err == nil:
		p.ExitCode = 0
	case errors.As(err, &ee):
		p.ExitCode = ee.ExitCode()
		if p.ExitCode < 0 {
			p.ExitCode = 1
		}
	default:
		p.ExitCode = -1
		p.Output = err.Error()
	}
	return p
}

// readProbeOutput reads a probe's output to its end (or the read
// deadline), keeping the first maxProbeOutput bytes.
func readProbeOutput(r *os.File) string {
	out := make([]byte, 0, 512)
	var buf [512]byte
	for {
		n, err := r.Read(buf[:])
		if room := maxProbeOutput - len(out); room > 0 {
			out = append(out, buf[:min(n, room)]...)
		}
		if err != nil {
			return string(out)
		}
	}
}

// oomKilled reads the oom_kill counters of the container's memory cgroup.
func (m *monitor) oomKilled() bool {
	for _, f := range m.cfg.OOMFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "oom_kill "); ok {
				if n, _ := strconv.Atoi(strings.TrimSpace(v)); n > 0 {
					return true
				}
			}
		}
	}
	return false
}
