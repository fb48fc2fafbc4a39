package fake_test

import (
	"errors"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/volumes"
	"github.com/berth-dev/berth/volumes/fake"
	"github.com/berth-dev/berth/volumes/volumestest"
)

func TestManager(t *testing.T) {
	ctx := t.Context()
	m := &fake.Manager{}
	if _, err := m.Create(ctx, volumes.Config{Name: "a", Labels: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(ctx, volumes.Config{Name: "a"}); !errdefs.IsAlreadyExists(err) {
		t.Errorf("duplicate create: err = %v, want ErrAlreadyExists", err)
	}
	if err := m.Remove(ctx, "nope", false); !errdefs.IsNotFound(err) {
		t.Errorf("remove unknown: err = %v, want ErrNotFound", err)
	}
	m.InUse = func(name string) bool { return name == "a" }
	if err := m.Remove(ctx, "a", false); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("remove in use: err = %v, want ErrFailedPrecondition", err)
	}
	boom := errors.New("boom")
	m.Hook = func(call, name string) error {
		if call == "list" {
			return boom
		}
		return nil
	}
	if _, err := m.List(ctx); !errors.Is(err, boom) {
		t.Errorf("hooked list: err = %v, want boom", err)
	}
	m.Hook = nil
	if err := m.Remove(ctx, "a", true); err != nil {
		t.Fatalf("forced remove in use: %v", err)
	}
	if vs, _ := m.List(ctx); len(vs) != 0 {
		t.Errorf("list after remove = %+v", vs)
	}
}

func TestConformance(t *testing.T) {
	volumestest.Run(t, volumestest.Harness{New: func(*testing.T) volumes.Manager { return &fake.Manager{} }})
}
