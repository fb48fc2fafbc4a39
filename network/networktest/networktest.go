// Package networktest is the conformance suite every network.Manager must
// pass, so the in-memory fake and the CNI implementation behave alike.
// Every network the suite creates is removed in t.Cleanup, even when a test
// fails.
package networktest

import (
	"crypto/rand"
	"encoding/hex"
	"slices"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/network"
)

// Harness adapts an implementation to the suite.
type Harness struct {
	// New returns a manager for one test.
	New func(t *testing.T) network.Manager
	// Config returns a valid config for a network with the given name
	// (a real implementation may need a free subnet).
	Config func(t *testing.T, name string) network.Config
}

// Run runs the suite as subtests of t.
func Run(t *testing.T, h Harness) {
	t.Run("CreateListRemove", func(t *testing.T) {
		m := h.New(t)
		name := create(t, h, m)
		ns, err := m.List(t.Context())
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		i := slices.IndexFunc(ns, func(n network.Network) bool { return n.Name == name })
		if i < 0 {
			t.Fatalf("created network %s not listed", name)
		}
		if got := ns[i].Config.Labels["io.berth.stack"]; got != "conformance" {
			t.Errorf("label io.berth.stack = %q, want conformance", got)
		}
		if err := m.Remove(t.Context(), name); err != nil {
			t.Fatalf("remove: %v", err)
		}
		ns, _ = m.List(t.Context())
		if slices.ContainsFunc(ns, func(n network.Network) bool { return n.Name == name }) {
			t.Error("removed network still listed")
		}
		if _, err := m.Create(t.Context(), h.Config(t, name)); err != nil {
			t.Errorf("create again after remove: %v", err)
		}
	})
	t.Run("NameTaken", func(t *testing.T) {
		m := h.New(t)
		name := create(t, h, m)
		if _, err := m.Create(t.Context(), h.Config(t, name)); !errdefs.IsAlreadyExists(err) {
			t.Errorf("second create: err = %v, want ErrAlreadyExists", err)
		}
	})
	t.Run("RemoveUnknown", func(t *testing.T) {
		m := h.New(t)
		if err := m.Remove(t.Context(), "berth-conformance-no-such-network"); !errdefs.IsNotFound(err) {
			t.Errorf("remove unknown: err = %v, want ErrNotFound", err)
		}
	})
}

func create(t *testing.T, h Harness, m network.Manager) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := "berthct" + hex.EncodeToString(b[:])
	cfg := h.Config(t, name)
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	cfg.Labels["io.berth.stack"] = "conformance"
	if _, err := m.Create(t.Context(), cfg); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := m.Remove(t.Context(), name); err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("cleanup: remove network %s: %v", name, err)
		}
	})
	return name
}
