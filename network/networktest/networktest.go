// Package networktest is the conformance suite every network.Manager must
// pass: the in-memory fake (network/fake) and the CNI implementation
// (network/cni) run the same tests, so the fake cannot drift from the real
// thing.
//
// It drives only the Manager interface. Every network the suite creates
// has a name unique to the run and is removed in t.Cleanup, even when a
// test fails.
package networktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/network"
)

// Harness adapts an implementation to the suite.
type Harness struct {
	// New returns a manager for one test, over state of its own.
	New func(t *testing.T) network.Manager
}

// Run runs the whole suite as subtests of t.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, m network.Manager)
	}{
		{"CreateThenList", testCreateThenList},
		{"NameTaken", testNameTaken},
		{"InvalidName", testInvalidName},
		{"RemoveUnknownIsNotFound", testRemoveUnknown},
		{"NameReusableAfterRemove", testNameReusable},
		{"ConfigKept", testConfigKept},
		{"CallerCopiesAreIndependent", testCallerCopies},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h.New(t)) })
	}
}

// name returns a network name unique to this run.
func name() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "conf-" + hex.EncodeToString(b[:])
}

func create(t *testing.T, m network.Manager, cfg network.Config) network.Network {
	t.Helper()
	n, err := m.Create(t.Context(), cfg)
	if err != nil {
		t.Fatalf("create %s: %v", cfg.Name, err)
	}
	t.Cleanup(func() {
		if err := m.Remove(context.Background(), cfg.Name); err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("cleanup: remove %s: %v", cfg.Name, err)
		}
	})
	return n
}

func names(t *testing.T, m network.Manager) map[string]network.Network {
	t.Helper()
	ns, err := m.List(t.Context())
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	out := map[string]network.Network{}
	for _, n := range ns {
		out[n.Name] = n
	}
	return out
}

func testCreateThenList(t *testing.T, m network.Manager) {
	a, b := name(), name()
	na := create(t, m, network.Config{Name: a})
	nb := create(t, m, network.Config{Name: b})
	if na.ID == "" || na.ID == nb.ID || na.Name != a {
		t.Errorf("created %+v and %+v: want distinct IDs and the given names", na, nb)
	}
	got := names(t, m)
	for _, n := range []network.Network{na, nb} {
		l, ok := got[n.Name]
		if !ok {
			t.Fatalf("list lacks %s", n.Name)
		}
		if l.ID != n.ID {
			t.Errorf("list ID of %s = %s, create said %s", n.Name, l.ID, n.ID)
		}
	}
	ls, _ := m.List(t.Context())
	for i := 1; i < len(ls); i++ {
		if ls[i-1].Name > ls[i].Name {
			t.Errorf("list not sorted by name: %s before %s", ls[i-1].Name, ls[i].Name)
		}
	}
}

func testNameTaken(t *testing.T, m network.Manager) {
	n := name()
	create(t, m, network.Config{Name: n})
	_, err := m.Create(t.Context(), network.Config{Name: n})
	if !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("second create of %s: %v, want ErrAlreadyExists", n, err)
	}
}

func testInvalidName(t *testing.T, m network.Manager) {
	_, err := m.Create(t.Context(), network.Config{Name: ""})
	if !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("create with empty name: %v, want ErrInvalidArgument", err)
	}
}

func testRemoveUnknown(t *testing.T, m network.Manager) {
	if err := m.Remove(t.Context(), name()); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("remove unknown: %v, want ErrNotFound", err)
	}
}

func testNameReusable(t *testing.T, m network.Manager) {
	n := name()
	first, err := m.Create(t.Context(), network.Config{Name: n})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(t.Context(), n); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if _, ok := names(t, m)[n]; ok {
		t.Fatalf("%s still listed after remove", n)
	}
	second := create(t, m, network.Config{Name: n})
	if second.ID == first.ID {
		t.Errorf("re-created network reuses ID %s", first.ID)
	}
}

// testConfigKept: what the caller asked for comes back from List;
// implementations may add (an allocated subnet, a gateway) but not change.
func testConfigKept(t *testing.T, m network.Manager) {
	cfg := network.Config{
		Name:     name(),
		Driver:   "bridge",
		Labels:   map[string]string{"io.berth.stack": "demo", "io.berth.network": "back"},
		Options:  map[string]string{"com.docker.network.driver.mtu": "1400"},
		Internal: true,
		Subnets:  []network.Subnet{{Subnet: "10.213.7.0/24", Gateway: "10.213.7.1", IPRange: "10.213.7.128/25"}},
	}
	create(t, m, cfg)
	got := names(t, m)[cfg.Name]
	if diff := cmp.Diff(cfg, got.Config); diff != "" {
		t.Errorf("listed config differs (-created +listed):\n%s", diff)
	}
}

func testCallerCopies(t *testing.T, m network.Manager) {
	labels := map[string]string{"a": "1"}
	cfg := network.Config{Name: name(), Labels: labels}
	create(t, m, cfg)
	labels["a"] = "changed"
	if got := names(t, m)[cfg.Name].Config.Labels["a"]; got != "1" {
		t.Errorf("label after the caller changed its map = %q, want 1", got)
	}
}
