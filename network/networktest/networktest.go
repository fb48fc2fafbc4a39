// Package networktest is the conformance suite every network.Manager must
// pass, so the in-memory fake (network/fake, run from its fake_test.go) and
// the CNI implementation (network/cni) behave alike.
//
// It drives only the Manager interface. Every network the suite creates
// has a name unique to the run and is removed in t.Cleanup, even when a
// test fails.
package networktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/network"
)

// Harness adapts an implementation to the suite.
type Harness struct {
	// New returns a manager for one test, over state of its own.
	New func(t *testing.T) network.Manager
	// Config returns a valid config for a network with the given name
	// (a real implementation may need a free subnet).
	Config func(t *testing.T, name string) network.Config
}

// Run runs the suite as subtests of t.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness, m network.Manager)
	}{
		{"CreateListRemove", testCreateListRemove},
		{"NameTaken", testNameTaken},
		{"RemoveUnknown", testRemoveUnknown},
		{"EmptyNameInvalid", testEmptyName},
		{"DistinctIDsSortedList", testDistinctIDs},
		{"ConfigKept", testConfigKept},
		{"CallerCopiesAreIndependent", testCallerCopies},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h, h.New(t)) })
	}
}

// newName returns a network name unique to this run.
func newName(t *testing.T) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "berthct" + hex.EncodeToString(b[:])
}

// create makes a network from h.Config with the suite's label and removes
// it in cleanup.
func create(t *testing.T, h Harness, m network.Manager, mutate func(*network.Config)) (network.Network, network.Config) {
	t.Helper()
	cfg := h.Config(t, newName(t))
	cfg.Labels = maps.Clone(cfg.Labels)
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	cfg.Labels["io.berth.stack"] = "conformance"
	if mutate != nil {
		mutate(&cfg)
	}
	n, err := m.Create(t.Context(), cfg)
	if err != nil {
		t.Fatalf("create %s: %v", cfg.Name, err)
	}
	t.Cleanup(func() {
		// t.Context() is already cancelled when cleanups run.
		if err := m.Remove(context.Background(), cfg.Name); err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("cleanup: remove network %s: %v", cfg.Name, err)
		}
	})
	return n, cfg
}

func listed(t *testing.T, m network.Manager, name string) (network.Network, bool) {
	t.Helper()
	ns, err := m.List(t.Context())
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	i := slices.IndexFunc(ns, func(n network.Network) bool { return n.Name == name })
	if i < 0 {
		return network.Network{}, false
	}
	return ns[i], true
}

func testCreateListRemove(t *testing.T, h Harness, m network.Manager) {
	n, cfg := create(t, h, m, nil)
	got, ok := listed(t, m, cfg.Name)
	if !ok {
		t.Fatalf("created network %s not listed", cfg.Name)
	}
	if got.ID != n.ID || got.Config.Labels["io.berth.stack"] != "conformance" {
		t.Errorf("listed %+v, created %+v", got, n)
	}
	if err := m.Remove(t.Context(), cfg.Name); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if _, ok := listed(t, m, cfg.Name); ok {
		t.Error("removed network still listed")
	}
	again, err := m.Create(t.Context(), h.Config(t, cfg.Name))
	if err != nil {
		t.Fatalf("create again after remove: %v", err)
	}
	if again.ID == n.ID {
		t.Errorf("re-created network reuses ID %s", n.ID)
	}
}

func testNameTaken(t *testing.T, h Harness, m network.Manager) {
	_, cfg := create(t, h, m, nil)
	if _, err := m.Create(t.Context(), h.Config(t, cfg.Name)); !errdefs.IsAlreadyExists(err) {
		t.Errorf("second create: err = %v, want ErrAlreadyExists", err)
	}
}

func testRemoveUnknown(t *testing.T, h Harness, m network.Manager) {
	if err := m.Remove(t.Context(), "berth-conformance-no-such-network"); !errdefs.IsNotFound(err) {
		t.Errorf("remove unknown: err = %v, want ErrNotFound", err)
	}
}

func testEmptyName(t *testing.T, h Harness, m network.Manager) {
	cfg := h.Config(t, "")
	if _, err := m.Create(t.Context(), cfg); !errdefs.IsInvalidArgument(err) {
		t.Errorf("create with empty name: err = %v, want ErrInvalidArgument", err)
	}
}

func testDistinctIDs(t *testing.T, h Harness, m network.Manager) {
	a, _ := create(t, h, m, nil)
	b, _ := create(t, h, m, nil)
	if a.ID == "" || a.ID == b.ID {
		t.Errorf("IDs %q and %q: want distinct and non-empty", a.ID, b.ID)
	}
	ns, err := m.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(ns); i++ {
		if ns[i-1].Name > ns[i].Name {
			t.Errorf("list not sorted by name: %s before %s", ns[i-1].Name, ns[i].Name)
		}
	}
}

// testConfigKept: what the caller asked for comes back from List.
// Implementations may fill in what was left out (a subnet from a pool, a
// gateway) but not change what was given.
func testConfigKept(t *testing.T, h Harness, m network.Manager) {
	_, cfg := create(t, h, m, func(c *network.Config) {
		c.Driver = "bridge"
		c.Labels["io.berth.network"] = "back"
		c.Options = map[string]string{"com.docker.network.driver.mtu": "1400"}
		c.Internal = true
		c.Attachable = true
	})
	got, ok := listed(t, m, cfg.Name)
	if !ok {
		t.Fatalf("%s not listed", cfg.Name)
	}
	if len(cfg.Subnets) == 0 {
		got.Config.Subnets = nil // the implementation's choice
	}
	if diff := cmp.Diff(cfg, got.Config); diff != "" {
		t.Errorf("listed config differs (-created +listed):\n%s", diff)
	}
}

func testCallerCopies(t *testing.T, h Harness, m network.Manager) {
	var labels map[string]string
	_, cfg := create(t, h, m, func(c *network.Config) { labels = c.Labels })
	labels["io.berth.stack"] = "changed"
	if got, _ := listed(t, m, cfg.Name); got.Config.Labels["io.berth.stack"] != "conformance" {
		t.Errorf("label after the caller changed its map = %q", got.Config.Labels["io.berth.stack"])
	}
}

// OrphanChains reports berth's iptables chains left on the host with no
// berth rule in them (the save command is iptables-save or ip6tables-save),
// as the lines naming them, or "" when there are none. go test runs
// packages side by side, so another package's test may be between making
// its chains and its first rule, or between its last rule and removing the
// chains: the check gives that a few seconds to settle before it reports.
func OrphanChains(save string) string {
	orphan := func() (string, bool) {
		out, _ := exec.Command(save).Output()
		s := string(out)
		if strings.Contains(s, "berth:") || !strings.Contains(s, "BERTH-") {
			return "", false
		}
		var lines []string
		for _, l := range strings.Split(s, "\n") {
			if strings.Contains(l, "BERTH-") {
				lines = append(lines, l)
			}
		}
		return strings.Join(lines, "\n"), true
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		lines, ok := orphan()
		if !ok || time.Now().After(deadline) {
			return lines
		}
		time.Sleep(100 * time.Millisecond)
	}
}
