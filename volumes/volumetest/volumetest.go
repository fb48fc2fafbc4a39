// Package volumetest is the conformance suite every volumes.Manager must
// pass: the in-memory fake and the local driver run the same tests, so the
// fake cannot drift from the real thing.
//
// The behaviour it pins is Docker's: creating an existing name with the
// same driver and options returns the existing volume, with others it is
// ErrAlreadyExists; removing an unknown volume is ErrNotFound (nothing with
// force); a volume in use is never removed, force or not
// (ErrFailedPrecondition). It only drives the Manager interface plus the
// harness's way of putting a volume in use. Every volume it creates is
// removed in t.Cleanup.
package volumetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/berth-dev/berth/volumes"
)

// Harness adapts an implementation to the suite.
type Harness struct {
	// New returns an empty manager for one test, and use, which makes a
	// container use the named volume until release is called (for the
	// local driver, Mount and Unmount).
	New func(t *testing.T) (m volumes.Manager, use func(name string) (release func()))
}

// Run runs the whole suite as subtests of t.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s *suite)
	}{
		{"CreateThenList", testCreateThenList},
		{"CreateExistingSameConfigReturnsIt", testCreateExistingSame},
		{"CreateExistingOtherOptionsIsAlreadyExists", testCreateExistingOther},
		{"RemoveThenNameReusable", testRemove},
		{"RemoveUnknown", testRemoveUnknown},
		{"RemoveInUseRefused", testRemoveInUse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, use := h.New(t)
			tc.fn(t, &suite{m: m, use: use})
		})
	}
}

type suite struct {
	m   volumes.Manager
	use func(name string) func()
}

// name returns a volume name unique to this run.
func name(t *testing.T) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "berth-conformance-" + hex.EncodeToString(b[:])
}

// create makes a volume and registers its removal.
func (s *suite) create(t *testing.T, cfg volumes.Config) volumes.Volume {
	t.Helper()
	v, err := s.m.Create(t.Context(), cfg)
	if err != nil {
		t.Fatalf("create %s: %v", cfg.Name, err)
	}
	t.Cleanup(func() {
		// t.Context is cancelled by the time cleanups run.
		if err := s.m.Remove(context.WithoutCancel(t.Context()), v.Name, false); err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("cleanup: remove %s: %v", v.Name, err)
		}
	})
	return v
}

func (s *suite) names(t *testing.T) []string {
	t.Helper()
	vs, err := s.m.List(t.Context())
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	var out []string
	for _, v := range vs {
		out = append(out, v.Name)
	}
	return out
}

var equateEmpty = cmpopts.EquateEmpty()

func testCreateThenList(t *testing.T, s *suite) {
	n := name(t)
	a, b := n+"-a", n+"-b"
	cfgB := volumes.Config{Name: b, Driver: "local", Labels: map[string]string{"io.berth.stack": "demo"}}
	cfgA := volumes.Config{Name: a, Driver: "local"}
	vb := s.create(t, cfgB)
	va := s.create(t, cfgA)
	for _, c := range []struct {
		got  volumes.Volume
		want volumes.Config
	}{{va, cfgA}, {vb, cfgB}} {
		if c.got.Name != c.want.Name || c.got.Mountpoint == "" {
			t.Errorf("created %+v, want name %s and a mount point", c.got, c.want.Name)
		}
		if d := cmp.Diff(c.want, c.got.Config, equateEmpty); d != "" {
			t.Errorf("config of %s (-want +got):\n%s", c.want.Name, d)
		}
	}
	vs, err := s.m.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]volumes.Volume{va, vb}, vs, equateEmpty); d != "" {
		t.Errorf("list (-want +got):\n%s", d)
	}
}

func testCreateExistingSame(t *testing.T, s *suite) {
	n := name(t)
	cfg := volumes.Config{Name: n, Driver: "local", Labels: map[string]string{"k": "v"}}
	first := s.create(t, cfg)
	again, err := s.m.Create(t.Context(), cfg)
	if err != nil {
		t.Fatalf("second create with the same config: %v, want the existing volume", err)
	}
	if d := cmp.Diff(first, again, equateEmpty); d != "" {
		t.Errorf("second create (-first +second):\n%s", d)
	}
	if got := s.names(t); !slices.Equal(got, []string{n}) {
		t.Errorf("list = %v, want [%s]", got, n)
	}
}

func testCreateExistingOther(t *testing.T, s *suite) {
	n := name(t)
	s.create(t, volumes.Config{Name: n, Driver: "local"})
	other := volumes.Config{Name: n, Driver: "local", Options: map[string]string{"type": "tmpfs", "device": "tmpfs"}}
	if _, err := s.m.Create(t.Context(), other); !errdefs.IsAlreadyExists(err) {
		t.Fatalf("create %s again with other options: %v, want ErrAlreadyExists", n, err)
	}
}

func testRemove(t *testing.T, s *suite) {
	n := name(t)
	s.create(t, volumes.Config{Name: n, Driver: "local"})
	if err := s.m.Remove(t.Context(), n, false); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if got := s.names(t); slices.Contains(got, n) {
		t.Errorf("list after remove = %v, still has %s", got, n)
	}
	s.create(t, volumes.Config{Name: n, Driver: "local"})
}

func testRemoveUnknown(t *testing.T, s *suite) {
	n := name(t)
	if err := s.m.Remove(t.Context(), n, false); !errdefs.IsNotFound(err) {
		t.Errorf("remove unknown: %v, want ErrNotFound", err)
	}
	if err := s.m.Remove(t.Context(), n, true); err != nil {
		t.Errorf("remove unknown with force: %v, want nil as Docker", err)
	}
}

func testRemoveInUse(t *testing.T, s *suite) {
	n := name(t)
	s.create(t, volumes.Config{Name: n, Driver: "local"})
	release := s.use(n)
	released := false
	t.Cleanup(func() {
		if !released {
			release()
		}
	})
	for _, force := range []bool{false, true} {
		if err := s.m.Remove(t.Context(), n, force); !errdefs.IsFailedPrecondition(err) {
			t.Errorf("remove in use (force %v): %v, want ErrFailedPrecondition", force, err)
		}
	}
	if got := s.names(t); !slices.Contains(got, n) {
		t.Fatalf("list = %v, the volume in use is gone", got)
	}
	release()
	released = true
	if err := s.m.Remove(t.Context(), n, false); err != nil {
		t.Errorf("remove after release: %v", err)
	}
}
