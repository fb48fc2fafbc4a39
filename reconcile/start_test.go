package reconcile

import (
	"bytes"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/fake"
)

func TestStartPlan(t *testing.T) {
	e := newEnv(fake.WithHealthOnStart("healthy"))
	p := webDB()
	e.up(t, p, Options{NoStart: true})
	plan, err := MakeStartPlan(p, e.observe(t, p), nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := plan.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	want := "> db-1 (start): created, not started\n> web-1 (start): created, not started\n\nPlan: 2 to start.\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Wait{{Service: "db", Condition: types.ServiceConditionHealthy}}, plan.Ops[1].Waits); diff != "" {
		t.Errorf("web's waits (-want +got):\n%s", diff)
	}
	checkGraph(t, plan)
	if err := Apply(t.Context(), plan, e.deps(), ApplyOptions{Clock: instant{}}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"demo-web-1", "demo-db-1"} {
		if c := e.container(t, n); c.Status != runtime.StatusRunning {
			t.Errorf("%s is %s", n, c.Status)
		}
	}
	// Started containers are left alone; nothing is created.
	again, _ := MakeStartPlan(p, e.observe(t, p), []string{"web"})
	if !again.Empty() {
		t.Errorf("second start plan: %+v", again.Ops)
	}
}
