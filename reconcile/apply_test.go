package reconcile

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/fake"
)

// tickingClock fires at once and calls tick before each wait, standing in
// for time passing while a dependency gets healthy.
type tickingClock struct {
	ticks atomic.Int32
	tick  func(n int32)
}

func (c *tickingClock) After(time.Duration) <-chan time.Time {
	c.tick(c.ticks.Add(1))
	ch := make(chan time.Time, 1)
	ch <- time.Time{}
	return ch
}

// events records the order in which operations finish.
type events struct {
	mu   sync.Mutex
	done []string
}

func (ev *events) progress(e Event) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if e.State == StateDone {
		ev.done = append(ev.done, string(e.Op.Kind)+" "+e.Op.Name)
	}
}

func TestApplyWaitsForHealthy(t *testing.T) {
	e := newEnv(fake.WithHealthOnStart("starting"))
	p := webDB()
	plan := e.plan(t, p, Options{})
	var webCreatedEarly atomic.Bool
	clock := &tickingClock{}
	clock.tick = func(n int32) {
		cs, _ := e.rt.List(t.Context())
		for _, c := range cs {
			if c.Name == "demo-web-1" {
				webCreatedEarly.Store(true)
			}
		}
		if n == 3 { // db turns healthy after three polls
			if err := e.rt.Update(e.container(t, "demo-db-1").ID, func(c *runtime.Container) { c.Health = "healthy" }); err != nil {
				t.Error(err)
			}
		}
	}
	ev := &events{}
	if err := Apply(t.Context(), plan, e.deps(), ApplyOptions{Clock: clock, Progress: ev.progress}); err != nil {
		t.Fatal(err)
	}
	if webCreatedEarly.Load() {
		t.Error("web was created before db was healthy")
	}
	if got := clock.ticks.Load(); got != 3 {
		t.Errorf("polled %d times, want 3", got)
	}
	// The network and the volume are independent and finish in any order;
	// db must come after both and web last.
	want := []string{"create demo-db-1", "create demo-web-1"}
	if len(ev.done) != 4 {
		t.Fatalf("done = %v, want 4 ops", ev.done)
	}
	if diff := cmp.Diff(want, ev.done[2:]); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestApplyDependencyConditionFails(t *testing.T) {
	tests := []struct {
		name      string
		condition string
		db        func(*runtime.Container)
		want      string
	}{
		{"unhealthy", types.ServiceConditionHealthy, func(c *runtime.Container) { c.Health = "unhealthy" }, "is unhealthy"},
		{"unhealthy with probe output", types.ServiceConditionHealthy, func(c *runtime.Container) {
			c.Health, c.HealthOutput = "unhealthy", "pg_isready: no response\n"
		}, `is unhealthy (last probe: "pg_isready: no response")`},
		{"exited before healthy", types.ServiceConditionHealthy, func(c *runtime.Container) { c.Status, c.ExitCode = runtime.StatusExited, 1 }, "exited (1) before it was healthy"},
		{"completed with failure", types.ServiceConditionCompletedSuccessfully, func(c *runtime.Container) { c.Status, c.ExitCode = runtime.StatusExited, 3 }, "exited with code 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(fake.WithHealthOnStart("starting"))
			p := project("demo",
				service("db", "postgres:16", withHealthcheck("CMD", "true")),
				service("web", "nginx:1.27", withDependsOn("db", tc.condition, false)))
			clock := &tickingClock{tick: func(int32) {
				e.rt.Update(e.container(t, "demo-db-1").ID, tc.db)
			}}
			err := Apply(t.Context(), e.plan(t, p, Options{}), e.deps(), ApplyOptions{Clock: clock})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errdefs.IsFailedPrecondition(err) {
				t.Fatalf("err = %v, want one containing %q classed FailedPrecondition", err, tc.want)
			}
			cs, _ := e.rt.List(t.Context())
			for _, c := range cs {
				if c.Name == "demo-web-1" {
					t.Error("web was created although its dependency failed")
				}
			}
		})
	}
}

func TestApplyCompletedSuccessfully(t *testing.T) {
	e := newEnv()
	p := project("demo",
		service("migrate", "busybox"),
		service("web", "nginx:1.27", withDependsOn("migrate", types.ServiceConditionCompletedSuccessfully, false)))
	clock := &tickingClock{tick: func(int32) {
		e.rt.Update(e.container(t, "demo-migrate-1").ID, func(c *runtime.Container) { c.Status, c.ExitCode = runtime.StatusExited, 0 })
	}}
	if err := Apply(t.Context(), e.plan(t, p, Options{}), e.deps(), ApplyOptions{Clock: clock}); err != nil {
		t.Fatal(err)
	}
	if st := e.container(t, "demo-web-1").Status; st != runtime.StatusRunning {
		t.Errorf("web is %s, want running", st)
	}
}

// A failure stops the operations that depend on the failed one; what was
// done stays done, and planning again resumes from there.
func TestApplyFailureThenResume(t *testing.T) {
	e := newEnv()
	p := project("demo",
		service("db", "postgres:16"),
		service("web", "nginx:1.27", withDependsOn("db", types.ServiceConditionStarted, false)),
		service("cache", "redis:7"))
	boom := errors.New("boom")
	e.rt.SetHook(func(call fake.Call, key string) error {
		if call == fake.CallCreate && key == "demo-db-1" {
			return boom
		}
		return nil
	})
	err := Apply(t.Context(), e.plan(t, p, Options{}), e.deps(), ApplyOptions{Clock: instant{}, Parallel: 1})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "create container demo-db-1") {
		t.Fatalf("err = %v, want boom from create container demo-db-1", err)
	}
	cs, _ := e.rt.List(t.Context())
	for _, c := range cs {
		if c.Name == "demo-web-1" {
			t.Error("web was created although db failed")
		}
	}
	e.rt.SetHook(nil)
	var b strings.Builder
	e.plan(t, p, Options{}).WriteText(&b)
	if got := b.String(); !strings.Contains(got, "+ db-1 (create)") || !strings.Contains(got, "+ web-1 (create)") {
		t.Errorf("plan after failure:\n%s", got)
	}
	e.up(t, p, Options{})
	if again := e.plan(t, p, Options{}); !again.Empty() {
		t.Error("plan after resume is not empty")
	}
}

// Independent operations run at the same time, within the bound.
func TestApplyParallel(t *testing.T) {
	var services []types.ServiceConfig
	for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
		services = append(services, service(n, "busybox"))
	}
	p := project("demo", services...)
	e := newEnv()
	var running, peak atomic.Int32
	gate := make(chan struct{})
	var open sync.Once
	e.rt.SetHook(func(call fake.Call, key string) error {
		if call != fake.CallCreate {
			return nil
		}
		n := running.Add(1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		if n == 3 {
			open.Do(func() { close(gate) })
		}
		select {
		case <-gate:
		case <-time.After(2 * time.Second):
		}
		running.Add(-1)
		return nil
	})
	if err := Apply(t.Context(), e.plan(t, p, Options{}), e.deps(), ApplyOptions{Clock: instant{}, Parallel: 3}); err != nil {
		t.Fatal(err)
	}
	if got := peak.Load(); got != 3 {
		t.Errorf("peak concurrency %d, want 3", got)
	}
}
