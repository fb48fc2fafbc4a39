package monitor

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// maxProbeOutput is what Docker keeps of a probe's output.
const maxProbeOutput = 4096

// keepProbes is how many probe results State.Health.Log keeps.
const keepProbes = 5

// health probes the container until stop is closed.
func (m *monitor) health(ctx context.Context, stop <-chan struct{}, started time.Time) {
	h := m.cfg.Health
	for {
		d := h.Interval
		if h.StartInterval > 0 && time.Since(started) < h.StartPeriod {
			d = h.StartInterval
		}
		select {
		case <-stop:
			return
		case <-time.After(d):
		}
		p := m.probe(ctx)
		select {
		case <-stop:
			return // the container exited during the probe: not a verdict
		default:
		}
		var status string
		m.record(ctx, func(st *State) {
			if st.Status != Running && st.Status != Paused {
				return
			}
			old := ""
			if st.Health != nil {
				old = st.Health.Status
			}
			st.Health = ApplyProbe(st.Health, p, p.Start.Sub(started) < h.StartPeriod, h.Retries)
			if st.Health.Status != old {
				status = st.Health.Status // Docker logs changes only
			}
		})
		if status != "" {
			_ = AppendEvent(m.cfg.EventLog, NewEvent(m.cfg.ID, "health_status: "+status, m.cfg.EventAttrs))
		}
		// A probe forks the runtime: unmap the code it ran until the next.
		trimMemory()
	}
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
func (m *monitor) probe(ctx context.Context) Probe {
	h := m.cfg.Health
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
	cmd := exec.CommandContext(ctx, m.cfg.Runtime, m.cfg.runtimeArgs(append([]string{"exec", m.cfg.ID}, args...)...)...)
	// The output comes through one pipe read here with a small buffer,
	// not os/exec's copying goroutines and their 32 KiB buffers: a probe
	// runs every interval for the container's life, in a process paid per
	// container.
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
