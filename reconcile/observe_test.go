package reconcile

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/fake"
	"github.com/berth-dev/berth/spec"
)

func TestObserve(t *testing.T) {
	e := newEnv()
	p := webDB()
	e.up(t, p, Options{})
	if _, err := e.rt.Put(runtime.Container{Name: "other-web-1", Labels: map[string]string{spec.LabelStack: "other"}}); err != nil {
		t.Fatal(err)
	}
	obs, err := Observe(t.Context(), "demo", []string{"nginx:1.27", "missing:1"}, e.deps())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range obs.Containers {
		names = append(names, c.Name)
	}
	if diff := cmp.Diff([]string{"demo-db-1", "demo-web-1"}, names); diff != "" {
		t.Errorf("containers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"nginx:1.27": e.images["nginx:1.27"]}, obs.Images); diff != "" {
		t.Errorf("images (-want +got):\n%s", diff)
	}
	if len(obs.Networks) != 1 || len(obs.Volumes) != 1 {
		t.Errorf("networks %v, volumes %v", obs.Networks, obs.Volumes)
	}

	boom := errors.New("boom")
	e.rt.SetHook(func(call fake.Call, _ string) error {
		if call == fake.CallList {
			return boom
		}
		return nil
	})
	if _, err := Observe(t.Context(), "demo", nil, e.deps()); !errors.Is(err, boom) {
		t.Errorf("err = %v, want boom", err)
	}
}
