package cni_test

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/network/cni"
	"github.com/berth-dev/berth/network/networktest"
	"github.com/berth-dev/berth/runtime"
)

// fakeHost is a Host in memory: fixed routes, and the set of networks
// whose host side is up.
type fakeHost struct {
	mu     sync.Mutex
	routes []netip.Prefix
	up     map[string]bool
	fail   error // returned by Setup
	// failTeardown is returned by Teardown; prunes counts Prune calls.
	failTeardown error
	prunes       int
}

func (h *fakeHost) Routes() ([]netip.Prefix, error) { return h.routes, nil }

func (h *fakeHost) Setup(_ context.Context, n cni.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail != nil {
		return h.fail
	}
	if h.up == nil {
		h.up = map[string]bool{}
	}
	h.up[n.ID] = true
	return nil
}

func (h *fakeHost) Teardown(_ context.Context, n cni.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.up, n.ID)
	return h.failTeardown
}

func (h *fakeHost) Prune(context.Context, []cni.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.prunes++
	return nil
}

func newFakeManager(t *testing.T, h *fakeHost) *cni.Manager {
	dir := t.TempDir()
	return cni.New(cni.Options{Root: dir, RunRoot: t.TempDir(), Host: h, HostLock: filepath.Join(dir, "host.lock")})
}

func TestConformanceFakeHost(t *testing.T) {
	networktest.Run(t, networktest.Harness{
		New:    func(t *testing.T) network.Manager { return newFakeManager(t, &fakeHost{}) },
		Config: func(_ *testing.T, name string) network.Config { return network.Config{Name: name} },
	})
}

func TestConformanceRoot(t *testing.T) {
	needRoot(t)
	networktest.Run(t, networktest.Harness{
		New: func(t *testing.T) network.Manager {
			return cni.New(cni.Options{Root: t.TempDir(), RunRoot: t.TempDir()})
		},
		// Subnets come from the pool, clear of the host's routes.
		Config: func(_ *testing.T, name string) network.Config { return network.Config{Name: name} },
	})
}

func TestCreateAllocatesAroundRoutesAndNetworks(t *testing.T) {
	h := &fakeHost{routes: []netip.Prefix{netip.MustParsePrefix("172.17.0.0/16"), netip.MustParsePrefix("172.19.5.0/24")}}
	m := newFakeManager(t, h)
	ctx := t.Context()
	var got []network.Subnet
	for _, n := range []string{"a", "b", "c"} {
		if _, err := m.Create(ctx, network.Config{Name: n}); err != nil {
			t.Fatal(err)
		}
		r, _ := m.Get(ctx, n)
		got = append(got, r.Config.Subnets...)
		if !h.up[r.ID] || !r.Ready {
			t.Errorf("network %s: host side not set up (ready=%v)", n, r.Ready)
		}
	}
	want := []network.Subnet{
		{Subnet: "172.18.0.0/16", Gateway: "172.18.0.1"},
		{Subnet: "172.20.0.0/16", Gateway: "172.20.0.1"},
		{Subnet: "172.21.0.0/16", Gateway: "172.21.0.1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("subnets (-want +got):\n%s", diff)
	}
	_, err := m.Create(ctx, network.Config{Name: "d", Subnets: []network.Subnet{{Subnet: "172.20.128.0/17"}}})
	if !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("overlapping subnet: %v, want ErrConflict", err)
	}
}

func TestDefaultNetwork(t *testing.T) {
	h := &fakeHost{}
	m := newFakeManager(t, h)
	// A user network made first leaves 172.17.0.0/16 to the default.
	if _, err := m.Create(t.Context(), network.Config{Name: "user"}); err != nil {
		t.Fatal(err)
	}
	if u, _ := m.Get(t.Context(), "user"); u.Config.Subnets[0].Subnet != "172.18.0.0/16" {
		t.Errorf("user network subnet %s, want 172.18.0.0/16", u.Config.Subnets[0].Subnet)
	}
	r, err := m.EnsureDefault(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "bridge" || r.Bridge != "berth0" || r.Config.Subnets[0].Subnet != "172.17.0.0/16" {
		t.Errorf("default network = %+v", r)
	}
	again, err := m.EnsureDefault(t.Context())
	if err != nil || again.ID != r.ID {
		t.Errorf("second EnsureDefault: %v, %s want %s", err, again.ID, r.ID)
	}
	// Docker's refusal, by name or ID, and for its other predefined names.
	for _, ref := range []string{"bridge", r.ID[:12], "host", "none"} {
		err := m.Remove(t.Context(), ref)
		want := map[string]string{r.ID[:12]: "bridge"}[ref]
		if want == "" {
			want = ref
		}
		if !errors.Is(err, errdefs.ErrPermissionDenied) || err.Error() != want+" is a pre-defined network and cannot be removed" {
			t.Errorf("remove %s: %v, want ErrPermissionDenied %q", ref, err, want+" is a pre-defined network and cannot be removed")
		}
	}
	if _, err := m.Get(t.Context(), "bridge"); err != nil {
		t.Errorf("default network gone after a refused remove: %v", err)
	}
}

func TestCreateRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  network.Config
		want error
	}{
		{"bad name", network.Config{Name: "a/b"}, errdefs.ErrInvalidArgument},
		{"unknown driver", network.Config{Name: "n", Driver: "overlay"}, errdefs.ErrInvalidArgument},
		{"macvlan without parent", network.Config{Name: "n", Driver: "macvlan"}, errdefs.ErrInvalidArgument},
		{"bad subnet", network.Config{Name: "n", Subnets: []network.Subnet{{Subnet: "10.0.0.0/33"}}}, errdefs.ErrInvalidArgument},
		{"gateway outside", network.Config{Name: "n", Subnets: []network.Subnet{{Subnet: "10.9.0.0/24", Gateway: "10.9.1.1"}}}, errdefs.ErrInvalidArgument},
		{"ip-range outside", network.Config{Name: "n", Subnets: []network.Subnet{{Subnet: "10.9.0.0/24", IPRange: "10.8.0.0/25"}}}, errdefs.ErrInvalidArgument},
		{"v6 without --ipv6", network.Config{Name: "n", Subnets: []network.Subnet{{Subnet: "fd00:1::/64"}}}, errdefs.ErrInvalidArgument},
		{"long bridge name", network.Config{Name: "n", Options: map[string]string{cni.OptBridgeName: "a-very-long-bridge-name"}}, errdefs.ErrInvalidArgument},
		{"bad mtu", network.Config{Name: "n", Options: map[string]string{cni.OptMTU: "x"}}, errdefs.ErrInvalidArgument},
		{"the default's name", network.Config{Name: "bridge"}, errdefs.ErrAlreadyExists},
		{"host", network.Config{Name: "host"}, errdefs.ErrAlreadyExists},
		{"none", network.Config{Name: "none"}, errdefs.ErrAlreadyExists},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newFakeManager(t, &fakeHost{})
			if _, err := m.Create(t.Context(), tc.cfg); !errors.Is(err, tc.want) {
				t.Errorf("create: %v, want %v", err, tc.want)
			}
			if ns, _ := m.List(t.Context()); len(ns) != 0 {
				t.Errorf("rejected create left %d networks", len(ns))
			}
		})
	}
}

func TestSetupFailureLeavesNothing(t *testing.T) {
	h := &fakeHost{fail: errors.New("no bridge for you")}
	m := newFakeManager(t, h)
	if _, err := m.Create(t.Context(), network.Config{Name: "n"}); err == nil {
		t.Fatal("create succeeded with a failing host")
	}
	if ns, _ := m.List(t.Context()); len(ns) != 0 {
		t.Errorf("failed create left %v", ns)
	}
}

// Cleanup lists the host's rules (Host.Prune, iptables execs) only when a
// network's rules may have outlived its record; the runtime runs it after
// every container removal, so the usual case must exec nothing.
func TestCleanupPrunesRulesOnlyWhenStale(t *testing.T) {
	exists := func(string) bool { return true }
	tests := []struct {
		name   string
		before func(t *testing.T, m *cni.Manager, h *fakeHost, ipam string)
		want   []int // prunes after the first and the second Cleanup
	}{
		{"nothing stale", func(*testing.T, *cni.Manager, *fakeHost, string) {}, []int{0, 0}},
		{"create failed, teardown too", func(t *testing.T, m *cni.Manager, h *fakeHost, _ string) {
			h.fail, h.failTeardown = errors.New("setup"), errors.New("teardown")
			if _, err := m.Create(t.Context(), network.Config{Name: "n"}); err == nil {
				t.Fatal("create succeeded")
			}
			h.fail, h.failTeardown = nil, nil
		}, []int{1, 1}},
		{"leases of a vanished network", func(t *testing.T, _ *cni.Manager, _ *fakeHost, ipam string) {
			if err := os.MkdirAll(filepath.Join(ipam, "gone"), 0o700); err != nil {
				t.Fatal(err)
			}
		}, []int{1, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &fakeHost{}
			run := t.TempDir()
			dir := t.TempDir()
			m := cni.New(cni.Options{Root: dir, RunRoot: run, Host: h, HostLock: filepath.Join(dir, "host.lock")})
			if _, err := m.Create(t.Context(), network.Config{Name: "live"}); err != nil {
				t.Fatal(err)
			}
			tc.before(t, m, h, filepath.Join(run, "cni", "ipam"))
			var got []int
			for range 2 {
				if err := m.Cleanup(t.Context(), filepath.Join(run, "netns"), exists); err != nil {
					t.Fatal(err)
				}
				got = append(got, h.prunes)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("prunes after each Cleanup (-want +got):\n%s", diff)
			}
			if err := m.PruneRules(t.Context()); err != nil || h.prunes != got[1]+1 {
				t.Errorf("PruneRules: %v, prunes %d, want %d", err, h.prunes, got[1]+1)
			}
		})
	}
}

func TestGetByIDPrefix(t *testing.T) {
	m := newFakeManager(t, &fakeHost{})
	n, err := m.Create(t.Context(), network.Config{Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"web", n.ID, n.ID[:6]} {
		if r, err := m.Get(t.Context(), ref); err != nil || r.ID != n.ID {
			t.Errorf("Get(%q) = %v, %v", ref, r.ID, err)
		}
	}
	if _, err := m.Get(t.Context(), "../etc"); !errdefs.IsNotFound(err) {
		t.Errorf("Get(../etc): %v, want ErrNotFound", err)
	}
}

func TestIPv6GetsULASubnet(t *testing.T) {
	m := newFakeManager(t, &fakeHost{})
	if _, err := m.Create(t.Context(), network.Config{Name: "six", IPv6: true}); err != nil {
		t.Fatal(err)
	}
	r, _ := m.Get(t.Context(), "six")
	if len(r.Config.Subnets) != 2 {
		t.Fatalf("subnets = %+v", r.Config.Subnets)
	}
	p := netip.MustParsePrefix(r.Config.Subnets[1].Subnet)
	if !netip.MustParsePrefix("fd00::/8").Contains(p.Addr()) || p.Bits() != 64 {
		t.Errorf("v6 subnet %s, want a ULA /64", p)
	}
}

func TestPairSubnets(t *testing.T) {
	tests := []struct {
		name                 string
		subnets, gws, ranges []string
		want                 []network.Subnet
		wantErr              bool
	}{
		{name: "none"},
		{name: "one of each", subnets: []string{"10.1.0.0/16"}, gws: []string{"10.1.0.254"}, ranges: []string{"10.1.2.0/24"},
			want: []network.Subnet{{Subnet: "10.1.0.0/16", Gateway: "10.1.0.254", IPRange: "10.1.2.0/24"}}},
		{name: "matched by containment", subnets: []string{"10.1.0.0/16", "fd00:1::/64"}, gws: []string{"fd00:1::1", "10.1.0.1"},
			want: []network.Subnet{{Subnet: "10.1.0.0/16", Gateway: "10.1.0.1"}, {Subnet: "fd00:1::/64", Gateway: "fd00:1::1"}}},
		{name: "gateway without subnet", gws: []string{"10.1.0.1"}, wantErr: true},
		{name: "two gateways one subnet", subnets: []string{"10.1.0.0/16"}, gws: []string{"10.1.0.1", "10.1.0.2"}, wantErr: true},
		{name: "range wider than subnet", subnets: []string{"10.1.0.0/24"}, ranges: []string{"10.1.0.0/16"}, wantErr: true},
		{name: "bad subnet", subnets: []string{"10.1.0.0"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cni.PairSubnets(tc.subnets, tc.gws, tc.ranges)
			if tc.wantErr {
				if !errors.Is(err, errdefs.ErrInvalidArgument) {
					t.Errorf("err = %v, want ErrInvalidArgument", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRemoveRefusesPaths(t *testing.T) {
	m := newFakeManager(t, &fakeHost{})
	for _, ref := range []string{"../x", "a/b", "", "."} {
		if err := m.Remove(t.Context(), ref); !errdefs.IsNotFound(err) {
			t.Errorf("Remove(%q) = %v, want ErrNotFound", ref, err)
		}
	}
}

func TestAttachContractsWithoutRoot(t *testing.T) {
	m := newFakeManager(t, &fakeHost{})
	ctx := t.Context()
	if _, err := m.Create(ctx, network.Config{Name: "n"}); err != nil {
		t.Fatal(err)
	}
	for _, req := range []cni.AttachRequest{
		{ContainerID: "../x", NetNSPath: "/run/berth/netns/x"},
		{ContainerID: "c1"},
	} {
		if _, err := m.Attach(ctx, req); !errdefs.IsInvalidArgument(err) {
			t.Errorf("Attach(%+v) = %v, want ErrInvalidArgument", req, err)
		}
	}
	if _, err := m.Attach(ctx, cni.AttachRequest{ContainerID: "c1", NetNSPath: "/nonexistent",
		Networks: []runtime.NetworkAttachment{{Network: "nope"}}}); !errdefs.IsNotFound(err) {
		t.Errorf("attach to unknown network: %v, want ErrNotFound", err)
	}
	if err := m.Detach(ctx, "c1", ""); err != nil {
		t.Errorf("Detach of a container not attached: %v, want nil", err)
	}
	if _, err := m.Connect(ctx, "c1", runtime.NetworkAttachment{Network: "n"}); !errdefs.IsNotFound(err) {
		t.Errorf("Connect of a container not attached: %v, want ErrNotFound", err)
	}
	if _, err := m.Attachment(ctx, "c1"); !errdefs.IsNotFound(err) {
		t.Errorf("Attachment: %v, want ErrNotFound", err)
	}
}

func TestAttachSameNetworkTwice(t *testing.T) {
	m := newFakeManager(t, &fakeHost{})
	if _, err := m.Create(t.Context(), network.Config{Name: "n"}); err != nil {
		t.Fatal(err)
	}
	_, err := m.Attach(t.Context(), cni.AttachRequest{ContainerID: "c1", NetNSPath: "/nonexistent",
		Networks: []runtime.NetworkAttachment{{Network: "n"}, {Network: "n"}}})
	if !errdefs.IsInvalidArgument(err) {
		t.Errorf("attach twice to one network: %v, want ErrInvalidArgument", err)
	}
}
