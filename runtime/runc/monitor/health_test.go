package monitor

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/atomicfile"
)

// The health loop execs /proc/self/exe as `probe RUNDIR STARTED`: in this
// package's tests that is the test binary, which then does the probe.
func TestMain(m *testing.M) {
	if len(os.Args) >= 2 && os.Args[1] == "probe" {
		os.Exit(probeMain(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// probeFixture is a container "running" as this test process, with a fake
// OCI runtime whose exec runs the command on the host.
type probeFixture struct {
	cfg     Config
	started time.Time
}

func newProbeFixture(t *testing.T, test ...string) *probeFixture {
	t.Helper()
	dir := t.TempDir()
	rt := filepath.Join(dir, "runtime")
	// runtimeArgs puts the global flags first: skip to `exec ID`.
	script := "#!/bin/sh\nwhile [ \"$1\" != exec ]; do shift; done\nshift 2\nexec \"$@\"\n"
	if err := os.WriteFile(rt, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	f := &probeFixture{started: time.Now().UTC()}
	f.cfg = Config{
		ID: "c1", Runtime: rt, StateDir: filepath.Join(dir, "state"), RunDir: filepath.Join(dir, "run"),
		EventLog: filepath.Join(dir, "events.log"), EventAttrs: map[string]string{"name": "web"},
		Health: &Health{Test: test, Interval: 20 * time.Millisecond, Timeout: 5 * time.Second, Retries: 2},
	}
	for _, d := range []string{f.cfg.StateDir, f.cfg.RunDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := atomicfile.ReplaceJSON(filepath.Join(f.cfg.RunDir, ConfigFile), f.cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	self := os.Getpid()
	start, _ := StartTime(self)
	f.setState(t, func(st *State) {
		st.Status, st.Pid, st.PidStart, st.StartedAt = Running, self, start, f.started
		st.Health = &HealthState{Status: "starting"}
	})
	return f
}

func (f *probeFixture) setState(t *testing.T, fn func(*State)) {
	t.Helper()
	if _, err := Update(t.Context(), f.cfg.StateDir, func(st *State) error { fn(st); return nil }); err != nil {
		t.Fatal(err)
	}
}

func (f *probeFixture) probe(t *testing.T) (int, State) {
	t.Helper()
	code := probeMain([]string{f.cfg.RunDir, strconv.FormatInt(f.started.UnixNano(), 10)})
	st, err := ReadState(f.cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	return code, st
}

func (f *probeFixture) events(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(f.cfg.EventLog)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var actions []string
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		if _, rest, ok := strings.Cut(sc.Text(), `"Action":"`); ok {
			a, _, _ := strings.Cut(rest, `"`)
			actions = append(actions, a)
		}
	}
	return actions
}

func TestProbeRecordsResultAndStatusChanges(t *testing.T) {
	f := newProbeFixture(t, "CMD-SHELL", "echo up; exit ${FAIL:-0}")
	code, st := f.probe(t)
	if code != 0 || st.Health == nil || st.Health.Status != "healthy" || len(st.Health.Log) != 1 {
		t.Fatalf("probe = %d, health %+v; want a healthy probe recorded", code, st.Health)
	}
	if p := st.Health.Log[0]; p.ExitCode != 0 || p.Output != "up\n" || p.End.Before(p.Start) {
		t.Errorf("probe %+v; want exit 0, output \"up\\n\"", p)
	}
	t.Setenv("FAIL", "3")
	for range 2 {
		code, st = f.probe(t)
	}
	if code != 0 || st.Health.Status != "unhealthy" || st.Health.FailingStreak != 2 || st.Health.Log[2].ExitCode != 3 {
		t.Fatalf("after two failures: %+v; want unhealthy with a streak of 2", st.Health)
	}
	if got, want := strings.Join(f.events(t), ","), "health_status: healthy,health_status: unhealthy"; got != want {
		t.Errorf("events %q; want %q (changes only)", got, want)
	}
}

func TestProbeTimeout(t *testing.T) {
	f := newProbeFixture(t, "CMD", "sleep", "10")
	f.cfg.Health.Timeout = 100 * time.Millisecond
	if err := atomicfile.ReplaceJSON(filepath.Join(f.cfg.RunDir, ConfigFile), f.cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	_, st := f.probe(t)
	if p := st.Health.Log[0]; p.ExitCode != -1 || p.Output != "Health check exceeded timeout (100ms)" {
		t.Errorf("probe %+v; want Docker's timeout result", p)
	}
}

// A probe of a run that has ended (the container exited during the probe,
// or restarted) is not a verdict: nothing is recorded.
func TestProbeOfEndedRunRecordsNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(*State)
	}{
		{"exited", func(st *State) { st.Status = Exited }},
		{"restarted", func(st *State) { st.StartedAt = st.StartedAt.Add(time.Second) }},
		{"init gone", func(st *State) { st.PidStart++ }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newProbeFixture(t, "CMD", "false")
			f.setState(t, tc.end)
			code, st := f.probe(t)
			if code != probeRunEnded || len(st.HealthLog()) != 0 || len(f.events(t)) != 0 {
				t.Errorf("probe = %d, health %+v, events %v; want nothing recorded", code, st.Health, f.events(t))
			}
		})
	}
}

// The monitor's loop starts the helper every interval and stops with the
// container.
func TestHealthLoopProbesUntilStopped(t *testing.T) {
	f := newProbeFixture(t, "CMD", "true")
	m := &monitor{cfg: f.cfg}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); m.health(stop, f.started, os.Getpid()) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := ReadState(f.cfg.StateDir)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.HealthLog()) >= 3 {
			if st.Health.Status != "healthy" {
				t.Errorf("status %q after three successes", st.Health.Status)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d probes recorded after 10 s at 20 ms intervals", len(st.HealthLog()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the health loop did not stop")
	}
}

// A helper that fails before recording (here: no monitor.json to read) is
// recorded as a failed probe by the monitor, not left unseen.
func TestHealthLoopRecordsFailingHelper(t *testing.T) {
	f := newProbeFixture(t, "CMD", "true")
	if err := os.Remove(filepath.Join(f.cfg.RunDir, ConfigFile)); err != nil {
		t.Fatal(err)
	}
	m := &monitor{cfg: f.cfg}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); m.health(stop, f.started, os.Getpid()) }()
	defer func() { close(stop); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := ReadState(f.cfg.StateDir)
		if err != nil {
			t.Fatal(err)
		}
		if log := st.HealthLog(); len(log) > 0 {
			if p := log[0]; p.ExitCode != -1 || !strings.Contains(p.Output, "health probe helper failed: exit code 1") {
				t.Errorf("probe %+v; want the helper's failure", p)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no probe recorded after 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
