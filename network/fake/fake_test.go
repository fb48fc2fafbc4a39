package fake_test

import (
	"errors"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/network/fake"
	"github.com/berth-dev/berth/network/networktest"
)

func TestManager(t *testing.T) {
	ctx := t.Context()
	m := &fake.Manager{}
	if _, err := m.Create(ctx, network.Config{Name: "a", Labels: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(ctx, network.Config{Name: "a"}); !errdefs.IsAlreadyExists(err) {
		t.Errorf("duplicate create: err = %v, want ErrAlreadyExists", err)
	}
	if err := m.Remove(ctx, "nope"); !errdefs.IsNotFound(err) {
		t.Errorf("remove unknown: err = %v, want ErrNotFound", err)
	}
	m.InUse = func(name string) bool { return name == "a" }
	if err := m.Remove(ctx, "a"); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("remove in use: err = %v, want ErrFailedPrecondition", err)
	}
	m.InUse = nil
	boom := errors.New("boom")
	m.Hook = func(call, name string) error {
		if call == "remove" {
			return boom
		}
		return nil
	}
	if err := m.Remove(ctx, "a"); !errors.Is(err, boom) {
		t.Errorf("hooked remove: err = %v, want boom", err)
	}
	m.Hook = nil
	ns, err := m.List(ctx)
	if err != nil || len(ns) != 1 || ns[0].Config.Labels["k"] != "v" {
		t.Fatalf("list = %+v, %v", ns, err)
	}
	if err := m.Remove(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if ns, _ := m.List(ctx); len(ns) != 0 {
		t.Errorf("list after remove = %+v", ns)
	}
}

func TestConformance(t *testing.T) {
	networktest.Run(t, networktest.Harness{
		New:    func(*testing.T) network.Manager { return &fake.Manager{} },
		Config: func(_ *testing.T, name string) network.Config { return network.Config{Name: name} },
	})
}
