// Package volumestest is the conformance suite every volumes.Manager must
// pass, so the in-memory fake and the local driver behave alike. Every
// volume the suite creates is removed in t.Cleanup, even when a test fails.
package volumestest

import (
	"crypto/rand"
	"encoding/hex"
	"slices"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/volumes"
)

// Harness adapts an implementation to the suite.
type Harness struct {
	// New returns a manager for one test.
	New func(t *testing.T) volumes.Manager
}

// Run runs the suite as subtests of t.
func Run(t *testing.T, h Harness) {
	t.Run("CreateListRemove", func(t *testing.T) {
		m := h.New(t)
		name := create(t, m)
		vs, err := m.List(t.Context())
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		i := slices.IndexFunc(vs, func(v volumes.Volume) bool { return v.Name == name })
		if i < 0 {
			t.Fatalf("created volume %s not listed", name)
		}
		if vs[i].Mountpoint == "" {
			t.Error("volume has no mountpoint")
		}
		if got := vs[i].Config.Labels["io.berth.stack"]; got != "conformance" {
			t.Errorf("label io.berth.stack = %q, want conformance", got)
		}
		if err := m.Remove(t.Context(), name, false); err != nil {
			t.Fatalf("remove: %v", err)
		}
		vs, _ = m.List(t.Context())
		if slices.ContainsFunc(vs, func(v volumes.Volume) bool { return v.Name == name }) {
			t.Error("removed volume still listed")
		}
	})
	t.Run("NameTaken", func(t *testing.T) {
		m := h.New(t)
		name := create(t, m)
		if _, err := m.Create(t.Context(), volumes.Config{Name: name, Driver: "local"}); !errdefs.IsAlreadyExists(err) {
			t.Errorf("second create: err = %v, want ErrAlreadyExists", err)
		}
	})
	t.Run("RemoveUnknown", func(t *testing.T) {
		m := h.New(t)
		if err := m.Remove(t.Context(), "berth-conformance-no-such-volume", false); !errdefs.IsNotFound(err) {
			t.Errorf("remove unknown: err = %v, want ErrNotFound", err)
		}
	})
}

func create(t *testing.T, m volumes.Manager) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := "berth-conformance-" + hex.EncodeToString(b[:])
	cfg := volumes.Config{Name: name, Driver: "local", Labels: map[string]string{"io.berth.stack": "conformance"}}
	if _, err := m.Create(t.Context(), cfg); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := m.Remove(t.Context(), name, true); err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("cleanup: remove volume %s: %v", name, err)
		}
	})
	return name
}
