package cni_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/vishvananda/netlink"

	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/network/cni"
	"github.com/berth-dev/berth/network/netns"
	"github.com/berth-dev/berth/network/networktest"
	"github.com/berth-dev/berth/runtime"
)

// rootEnv is one test's manager over its own roots, with a check in
// t.Cleanup that nothing of the test is left on the host.
type rootEnv struct {
	t      *testing.T
	m      *cni.Manager
	opts   cni.Options // m's
	nsDir  string
	prefix string   // of every container ID of the test
	seen   struct { // what the test made, for the leftover check
		bridges, hostIfs, tags []string
	}
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Getenv("BERTH_TEST_ROOT") != "1" {
		t.Skip("root test: set BERTH_TEST_ROOT=1")
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newRootEnv(t *testing.T) *rootEnv {
	needRoot(t)
	run := t.TempDir()
	e := &rootEnv{t: t, nsDir: filepath.Join(run, "netns"), prefix: "bt" + randHex(4)}
	// BERTH_CNI_EXEC=1 runs the same tests on the plugin binaries.
	e.opts = cni.Options{Root: t.TempDir(), RunRoot: run, DefaultBridge: e.prefix, ExecPlugins: os.Getenv("BERTH_CNI_EXEC") == "1"}
	e.m = cni.New(e.opts)
	t.Cleanup(e.check)
	return e
}

// network creates a network with a unique name and removes it in cleanup.
func (e *rootEnv) network(cfg network.Config) cni.Record {
	t := e.t
	t.Helper()
	cfg.Name = e.prefix + "-" + randHex(3)
	if _, err := e.m.Create(t.Context(), cfg); err != nil {
		t.Fatalf("create network: %v", err)
	}
	r, err := e.m.Get(t.Context(), cfg.Name)
	if err != nil {
		t.Fatal(err)
	}
	e.seen.bridges = append(e.seen.bridges, r.Bridge)
	e.seen.tags = append(e.seen.tags, r.ID[:12])
	t.Cleanup(func() {
		if err := e.m.Remove(context.Background(), r.Name); err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("cleanup: remove network %s: %v", r.Name, err)
		}
	})
	return r
}

// container makes a namespace and attaches it; cleanup detaches and
// removes the namespace (registered before the network's removal runs).
func (e *rootEnv) container(req cni.AttachRequest) (string, cni.Result, error) {
	t := e.t
	t.Helper()
	id := e.prefix + randHex(8)
	path, err := netns.New(e.nsDir, id)
	if err != nil {
		t.Fatalf("netns: %v", err)
	}
	t.Cleanup(func() {
		if err := e.m.Detach(context.Background(), id, path); err != nil {
			t.Errorf("cleanup: detach %s: %v", id, err)
		}
		if err := netns.Remove(path); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	req.ContainerID, req.NetNSPath = id, path
	res, err := e.m.Attach(t.Context(), req)
	for _, i := range res.Interfaces {
		e.seen.hostIfs = append(e.seen.hostIfs, i.HostIf)
		for _, ip := range i.IPs {
			e.seen.tags = append(e.seen.tags, "--to-destination "+ip.Addr().String()+":")
		}
	}
	return path, res, err
}

// check fails the test if a bridge, veth, namespace, lease or rule of the
// test is left. It runs last (registered first).
func (e *rootEnv) check() {
	t := e.t
	links, _ := exec.Command("ip", "-o", "link").Output()
	for _, name := range append(append([]string{}, e.seen.bridges...), e.seen.hostIfs...) {
		if name != "" && strings.Contains(string(links), " "+name+":") || name != "" && strings.Contains(string(links), " "+name+"@") {
			t.Errorf("leftover link %s", name)
		}
	}
	if names, _ := netns.List(e.nsDir); len(names) > 0 {
		t.Errorf("leftover namespaces %v", names)
	}
	for _, cmd := range []string{"iptables-save", "ip6tables-save"} {
		out, _ := exec.Command(cmd).Output()
		for _, needle := range append([]string{e.prefix}, e.seen.tags...) {
			if strings.Contains(string(out), needle) {
				t.Errorf("%s still has rules for %s:\n%s", cmd, needle, grepLines(string(out), needle))
			}
		}
		// With no berth network left on the host (of any root), berth's
		// chains and their jumps must be gone too.
		if lines := networktest.OrphanChains(cmd); lines != "" {
			t.Errorf("%s still has berth's chains with no network left:\n%s", cmd, lines)
		}
	}
}

func grepLines(s, needle string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, needle) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func ipv4(t *testing.T, res cni.Result) netip.Addr {
	t.Helper()
	for _, p := range res.Interfaces[0].IPs {
		if p.Addr().Is4() {
			return p.Addr()
		}
	}
	t.Fatalf("no IPv4 in %+v", res)
	return netip.Addr{}
}

// serveEcho listens inside a namespace and echoes one line per connection
// until the test ends.
func serveEcho(t *testing.T, nsPath, addr string) net.Addr {
	t.Helper()
	var l net.Listener
	err := netns.Do(nsPath, func() (err error) {
		l, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen in netns: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				fmt.Fprintf(c, "echo %s", line)
			}()
		}
	}()
	return l.Addr()
}

func roundTrip(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	fmt.Fprintf(c, "hello\n")
	b, err := io.ReadAll(c)
	return string(b), err
}

func TestRootTrafficBetweenNamespaces(t *testing.T) {
	e := newRootEnv(t)
	n := e.network(network.Config{})
	nets := []runtime.NetworkAttachment{{Network: n.Name}}
	ns1, r1, err := e.container(cni.AttachRequest{Networks: nets})
	if err != nil {
		t.Fatal(err)
	}
	ns2, r2, err := e.container(cni.AttachRequest{Networks: nets})
	if err != nil {
		t.Fatal(err)
	}
	ip2 := ipv4(t, r2)
	if ip2 == ipv4(t, r1) || !netip.MustParsePrefix(n.Config.Subnets[0].Subnet).Contains(ip2) {
		t.Fatalf("addresses %v and %v, subnet %s", ipv4(t, r1), ip2, n.Config.Subnets[0].Subnet)
	}
	serveEcho(t, ns2, net.JoinHostPort(ip2.String(), "7000"))
	var got string
	err = netns.Do(ns1, func() (err error) {
		got, err = roundTrip(net.JoinHostPort(ip2.String(), "7000"))
		return err
	})
	if err != nil || got != "echo hello\n" {
		t.Fatalf("ns1 -> ns2: %q, %v", got, err)
	}
	// The default route of a non-internal network goes to the gateway.
	if gw := defaultGateway(t, ns1); gw != n.Config.Subnets[0].Gateway {
		t.Errorf("default gateway %q, want %s", gw, n.Config.Subnets[0].Gateway)
	}
}

// The in-process bridge and host-local are the binaries' equals: a
// container attached by the binaries and one attached in-process share the
// bridge and reach each other, with results of one shape, and each is
// detached by the other side, leaving no lease and no veth.
func TestRootInProcessMatchesBinaries(t *testing.T) {
	e := newRootEnv(t)
	n := e.network(network.Config{})
	nets := []runtime.NetworkAttachment{{Network: n.Name}}
	binOpts := e.opts
	binOpts.ExecPlugins = true
	bin := cni.New(binOpts)
	attach := func(m *cni.Manager, ports []runtime.PortBinding) (string, string, cni.Result) {
		id := e.prefix + randHex(8)
		path, err := netns.New(e.nsDir, id)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = e.m.Detach(context.Background(), id, path)
			_ = netns.Remove(path)
		})
		res, err := m.Attach(t.Context(), cni.AttachRequest{ContainerID: id, NetNSPath: path, Networks: nets, Ports: ports})
		if err != nil {
			t.Fatal(err)
		}
		e.seen.hostIfs = append(e.seen.hostIfs, res.Interfaces[0].HostIf)
		for _, ip := range res.Interfaces[0].IPs {
			e.seen.tags = append(e.seen.tags, "--to-destination "+ip.Addr().String()+":")
		}
		return id, path, res
	}
	// Both publish a port: portmap's rules for one, berth's for the other,
	// and each side's DEL takes the other's away.
	idBin, nsBin, rBin := attach(bin, []runtime.PortBinding{{ContainerPort: 80}})
	idIn, nsIn, rIn := attach(e.m, []runtime.PortBinding{{ContainerPort: 81}})
	shape := func(r cni.Result) cni.Interface {
		i := r.Interfaces[0]
		if i.MAC == "" || !strings.HasPrefix(i.HostIf, "veth") || len(i.IPs) != 1 || len(i.Gateways) != 1 {
			t.Errorf("interface %+v: want a MAC, a host veth, one address and one gateway", i)
		}
		return cni.Interface{Network: i.Network, IfName: i.IfName, Gateways: i.Gateways}
	}
	if diff := cmp.Diff(shape(rBin), shape(rIn), cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("binary vs in-process result (-bin +in):\n%s", diff)
	}
	if gw := defaultGateway(t, nsIn); gw != n.Config.Subnets[0].Gateway {
		t.Errorf("in-process default gateway %q, want %s", gw, n.Config.Subnets[0].Gateway)
	}
	ipBin := ipv4(t, rBin)
	serveEcho(t, nsBin, net.JoinHostPort(ipBin.String(), "7000"))
	var got string
	err := netns.Do(nsIn, func() (err error) {
		got, err = roundTrip(net.JoinHostPort(ipBin.String(), "7000"))
		return err
	})
	if err != nil || got != "echo hello\n" {
		t.Fatalf("in-process -> binary-attached: %q, %v", got, err)
	}
	if err := e.m.Detach(t.Context(), idBin, nsBin); err != nil {
		t.Errorf("in-process detach of a binary attach: %v", err)
	}
	if err := bin.Detach(t.Context(), idIn, nsIn); err != nil {
		t.Errorf("binary detach of an in-process attach: %v", err)
	}
	leases, _ := os.ReadDir(filepath.Join(e.opts.RunRoot, "cni", "ipam", n.Name))
	for _, l := range leases {
		if _, err := netip.ParseAddr(l.Name()); err == nil {
			t.Errorf("lease %s left", l.Name())
		}
	}
	nat, _ := exec.Command("iptables-save", "-t", "nat").Output()
	for _, r := range []cni.Result{rBin, rIn} {
		if to := "--to-destination " + ipv4(t, r).String() + ":"; strings.Contains(string(nat), to) {
			t.Errorf("port rules left after the other side's detach:\n%s", grepLines(string(nat), to))
		}
	}
	links, _ := exec.Command("ip", "-o", "link").Output()
	for _, r := range []cni.Result{rBin, rIn} {
		if strings.Contains(string(links), " "+r.Interfaces[0].HostIf+"@") {
			t.Errorf("veth %s left after detach", r.Interfaces[0].HostIf)
		}
	}
}

func defaultGateway(t *testing.T, nsPath string) string {
	t.Helper()
	var gw string
	err := netns.Do(nsPath, func() error {
		rs, err := netlink.RouteList(nil, netlink.FAMILY_V4)
		for _, r := range rs {
			if r.Dst == nil || r.Dst.IP.IsUnspecified() {
				gw = r.Gw.String()
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return gw
}

// Setup again (a network whose Create was interrupted is finished by the
// first Attach) leaves each rule once; Teardown takes them all.
func TestRootSetupTwiceLeavesRulesOnce(t *testing.T) {
	e := newRootEnv(t)
	for _, cfg := range []network.Config{{}, {Internal: true}, {IPv6: true}} {
		n := e.network(cfg)
		h := cni.LinuxHost{Scope: cni.Scope(e.opts.Root)}
		tag := n.ID[:12]
		count := func() int {
			c := 0
			for _, cmd := range []string{"iptables-save", "ip6tables-save"} {
				out, _ := exec.Command(cmd).Output()
				c += strings.Count(string(out), tag)
			}
			return c
		}
		want := len(cni.Rules(n, cni.Scope(e.opts.Root)))
		if got := count(); got != want {
			t.Errorf("%+v: %d rules after create, want %d", cfg, got, want)
		}
		if err := h.Setup(t.Context(), n); err != nil {
			t.Fatal(err)
		}
		if got := count(); got != want {
			t.Errorf("%+v: %d rules after a second Setup, want %d", cfg, got, want)
		}
	}
}

// DetachRemove releases the lease and port rules at once and removes the
// namespace; the veth goes with the namespace, shortly after.
func TestRootDetachRemove(t *testing.T) {
	e := newRootEnv(t)
	n := e.network(network.Config{})
	id := e.prefix + randHex(8)
	path, err := netns.New(e.nsDir, id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.m.Detach(context.Background(), id, path); _ = netns.Remove(path) })
	res, err := e.m.Attach(t.Context(), cni.AttachRequest{ContainerID: id, NetNSPath: path,
		Networks: []runtime.NetworkAttachment{{Network: n.Name}}, Ports: []runtime.PortBinding{{ContainerPort: 80}}})
	if err != nil {
		t.Fatal(err)
	}
	hostIf := res.Interfaces[0].HostIf
	e.seen.hostIfs = append(e.seen.hostIfs, hostIf)
	if err := e.m.DetachRemove(t.Context(), id, path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("namespace left")
	}
	if eps, _ := e.m.Endpoints(t.Context(), n.Name); len(eps) != 0 {
		t.Errorf("endpoints left: %+v", eps)
	}
	leases, _ := os.ReadDir(filepath.Join(e.opts.RunRoot, "cni", "ipam", n.Name))
	for _, l := range leases {
		if _, err := netip.ParseAddr(l.Name()); err == nil {
			t.Errorf("lease %s left", l.Name())
		}
	}
	if out, _ := exec.Command("iptables-save", "-t", "nat").Output(); strings.Contains(string(out), id) {
		t.Errorf("port rules left:\n%s", grepLines(string(out), id))
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := netlink.LinkByName(hostIf); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("veth %s still there 5 s after its namespace went", hostIf)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := e.m.DetachRemove(t.Context(), id, path); err != nil {
		t.Errorf("second DetachRemove: %v", err)
	}
}

// After a reboot records remain but bridges and rules are gone: the next
// attach sets the network up again, rules included.
func TestRootAttachAfterReboot(t *testing.T) {
	e := newRootEnv(t)
	n := e.network(network.Config{})
	h := cni.LinuxHost{Scope: cni.Scope(e.opts.Root)}
	if err := h.Teardown(t.Context(), n); err != nil { // the "reboot"
		t.Fatal(err)
	}
	if _, _, err := e.container(cni.AttachRequest{Networks: []runtime.NetworkAttachment{{Network: n.Name}}}); err != nil {
		t.Fatalf("attach after the bridge went: %v", err)
	}
	if _, err := netlink.LinkByName(n.Bridge); err != nil {
		t.Errorf("bridge %s not made again: %v", n.Bridge, err)
	}
	out, _ := exec.Command("iptables-save").Output()
	if got, want := strings.Count(string(out), n.ID[:12]), len(cni.Rules(n, cni.Scope(e.opts.Root))); got != want {
		t.Errorf("%d rules of the network after the attach, want %d", got, want)
	}
}

func TestRootInternalHasNoDefaultRoute(t *testing.T) {
	e := newRootEnv(t)
	n := e.network(network.Config{Internal: true})
	ns, _, err := e.container(cni.AttachRequest{Networks: []runtime.NetworkAttachment{{Network: n.Name}}})
	if err != nil {
		t.Fatal(err)
	}
	if gw := defaultGateway(t, ns); gw != "" {
		t.Errorf("internal network has default route via %s", gw)
	}
	out, _ := exec.Command("iptables-save", "-t", "nat").Output()
	if strings.Contains(string(out), n.Config.Subnets[0].Subnet) {
		t.Errorf("internal network is masqueraded:\n%s", grepLines(string(out), n.Config.Subnets[0].Subnet))
	}
}

func TestRootPublishedPortOnLocalhost(t *testing.T) {
	e := newRootEnv(t)
	n := e.network(network.Config{})
	nets := []runtime.NetworkAttachment{{Network: n.Name}}
	ns, res, err := e.container(cni.AttachRequest{Networks: nets, Ports: []runtime.PortBinding{{ContainerPort: 80}}})
	if err != nil {
		t.Fatal(err)
	}
	serveEcho(t, ns, ":80")
	hp := res.Ports[0].HostPort
	if hp == 0 {
		t.Fatalf("no host port chosen: %+v", res.Ports)
	}
	got, err := roundTrip(fmt.Sprintf("127.0.0.1:%d", hp))
	if err != nil || got != "echo hello\n" {
		t.Fatalf("127.0.0.1:%d: %q, %v", hp, got, err)
	}

	// The same host port again: refused before any plugin runs.
	_, _, err = e.container(cni.AttachRequest{Networks: nets, Ports: []runtime.PortBinding{{HostPort: hp, ContainerPort: 80}}})
	if !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("second container on port %d: %v, want ErrConflict", hp, err)
	}
	// A port a host process holds: refused too.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := uint16(l.Addr().(*net.TCPAddr).Port)
	_, _, err = e.container(cni.AttachRequest{Networks: nets, Ports: []runtime.PortBinding{{HostPort: busy, ContainerPort: 80}}})
	if !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "already allocated") {
		t.Errorf("host port %d held by the host: %v, want ErrConflict", busy, err)
	}
}

// A published port is reached through the host's address on the bridge
// (the gateway) by a neighbour on the network and by the container itself
// (hairpin), as portmap's snat does; after detach no rule of it is left.
func TestRootPublishedPortFromTheNetwork(t *testing.T) {
	e := newRootEnv(t)
	n := e.network(network.Config{})
	nets := []runtime.NetworkAttachment{{Network: n.Name}}
	nsA, resA, err := e.container(cni.AttachRequest{Networks: nets, Ports: []runtime.PortBinding{{ContainerPort: 80}}})
	if err != nil {
		t.Fatal(err)
	}
	nsB, _, err := e.container(cni.AttachRequest{Networks: nets})
	if err != nil {
		t.Fatal(err)
	}
	serveEcho(t, nsA, ":80")
	addr := net.JoinHostPort(n.Config.Subnets[0].Gateway, fmt.Sprint(resA.Ports[0].HostPort))
	for name, ns := range map[string]string{"neighbour": nsB, "itself": nsA} {
		var got string
		err := netns.Do(ns, func() (err error) {
			got, err = roundTrip(addr)
			return err
		})
		if err != nil || got != "echo hello\n" {
			t.Errorf("%s -> %s: %q, %v", name, addr, got, err)
		}
	}
	id := filepath.Base(nsA)
	if err := e.m.Detach(t.Context(), id, nsA); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command("iptables-save", "-t", "nat").Output()
	if strings.Contains(string(out), id) {
		t.Errorf("port rules of %s left after detach:\n%s", id, grepLines(string(out), id))
	}
}

func TestRootAddressesReleasedAndReused(t *testing.T) {
	e := newRootEnv(t)
	probe := e.network(network.Config{})
	sn := netip.MustParsePrefix(probe.Config.Subnets[0].Subnet)
	if err := e.m.Remove(t.Context(), probe.Name); err != nil {
		t.Fatal(err)
	}
	// Two addresses only: .4 and .5.
	base := sn.Addr().As4()
	base[3] = 4
	ipRange := netip.PrefixFrom(netip.AddrFrom4(base), 31).String()
	n := e.network(network.Config{Subnets: []network.Subnet{{Subnet: sn.String(), IPRange: ipRange}}})
	nets := []runtime.NetworkAttachment{{Network: n.Name}}
	ns1, r1, err := e.container(cni.AttachRequest{Networks: nets})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.container(cni.AttachRequest{Networks: nets}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.container(cni.AttachRequest{Networks: nets}); err == nil {
		t.Fatal("third container attached to a range of two addresses")
	}
	id1 := filepath.Base(ns1)
	if err := e.m.Detach(t.Context(), id1, ns1); err != nil {
		t.Fatal(err)
	}
	_, r4, err := e.container(cni.AttachRequest{Networks: nets})
	if err != nil {
		t.Fatalf("attach after detach: %v", err)
	}
	if ipv4(t, r4) != ipv4(t, r1) {
		t.Errorf("got %v, want the released %v", ipv4(t, r4), ipv4(t, r1))
	}
	// In use: the network cannot go.
	if err := e.m.Remove(t.Context(), n.Name); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("remove network in use: %v, want ErrFailedPrecondition", err)
	}
}

func TestRootCleanupAfterCrash(t *testing.T) {
	e := newRootEnv(t)
	n := e.network(network.Config{})
	nets := []runtime.NetworkAttachment{{Network: n.Name}}
	// A container attached with a published port, then "killed": nobody
	// detaches it. Cleanup with an exists hook that says it is gone.
	ns, _, err := e.container(cni.AttachRequest{Networks: nets, Ports: []runtime.PortBinding{{ContainerPort: 80}}})
	if err != nil {
		t.Fatal(err)
	}
	stray, err := netns.New(e.nsDir, e.prefix+"stray")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = netns.Remove(stray) })
	if err := e.m.Cleanup(t.Context(), e.nsDir, func(string) bool { return false }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(ns); err == nil {
		t.Error("namespace of a gone container left")
	}
	if _, err := os.Stat(stray); err == nil {
		t.Error("stray namespace left")
	}
	if eps, _ := e.m.Endpoints(t.Context(), n.Name); len(eps) != 0 {
		t.Errorf("endpoints left: %+v", eps)
	}
}

// benchNetwork skips b unless root benchmarks are asked for, and returns a
// manager on temporary state with a user network (removed at the end) and
// the directory for the benchmark's namespaces.
func benchNetwork(b *testing.B) (*cni.Manager, network.Network, string) {
	b.Helper()
	if os.Getenv("BERTH_TEST_ROOT") != "1" {
		b.Skip("root benchmark: set BERTH_TEST_ROOT=1")
	}
	run := b.TempDir()
	m := cni.New(cni.Options{Root: b.TempDir(), RunRoot: run})
	n, err := m.Create(context.Background(), network.Config{Name: "bench" + randHex(3)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Remove(context.Background(), n.Name) })
	return m, n, filepath.Join(run, "netns")
}

// BenchmarkAttach measures one container's attach (namespace included; the
// detach is not timed) on a
// user network, without and with a published port. Root only:
// BERTH_TEST_ROOT=1 go test -run '^$' -bench Attach ./network/cni
func BenchmarkAttach(b *testing.B) {
	m, n, nsDir := benchNetwork(b)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		ports []runtime.PortBinding
	}{{"plain", nil}, {"port", []runtime.PortBinding{{ContainerPort: 80}}}} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				id := fmt.Sprintf("bench%s%d", randHex(4), i)
				path, err := netns.New(nsDir, id)
				if err != nil {
					b.Fatal(err)
				}
				_, err = m.Attach(ctx, cni.AttachRequest{ContainerID: id, NetNSPath: path,
					Networks: []runtime.NetworkAttachment{{Network: n.Name}}, Ports: tc.ports})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := m.Detach(ctx, id, path); err != nil {
					b.Fatal(err)
				}
				if err := netns.Remove(path); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkDetach measures what removing one container costs the network
// layer: Detach, the namespace's removal and the Cleanup runtime/runc runs
// after every Remove, with 20 other containers attached. Root only:
// BERTH_TEST_ROOT=1 go test -run '^$' -bench Detach ./network/cni
func BenchmarkDetach(b *testing.B) {
	m, n, nsDir := benchNetwork(b)
	ctx := context.Background()
	live := map[string]bool{}
	attach := func(ports []runtime.PortBinding) (string, string) {
		id := "bench" + randHex(8)
		path, err := netns.New(nsDir, id)
		if err != nil {
			b.Fatal(err)
		}
		live[id] = true
		if _, err := m.Attach(ctx, cni.AttachRequest{ContainerID: id, NetNSPath: path,
			Networks: []runtime.NetworkAttachment{{Network: n.Name}}, Ports: ports}); err != nil {
			b.Fatal(err)
		}
		return id, path
	}
	for range 20 {
		id, path := attach(nil)
		b.Cleanup(func() { _ = m.Detach(ctx, id, path); _ = netns.Remove(path) })
	}
	exists := func(id string) bool { return live[id] }
	for _, tc := range []struct {
		name  string
		ports []runtime.PortBinding
		keep  bool // DetachRemove: the veth goes with the namespace
	}{{"plain", nil, false}, {"port", []runtime.PortBinding{{ContainerPort: 80}}, false}, {"detachremove", nil, true}} {
		b.Run(tc.name, func(b *testing.B) {
			var detach, remove, cleanup time.Duration
			for b.Loop() {
				b.StopTimer()
				id, path := attach(tc.ports)
				b.StartTimer()
				t0 := time.Now()
				detachFn := m.Detach
				if tc.keep {
					detachFn = m.DetachRemove
				}
				if err := detachFn(ctx, id, path); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := netns.Remove(path); err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				delete(live, id)
				if err := m.Cleanup(ctx, nsDir, exists); err != nil {
					b.Fatal(err)
				}
				detach += t1.Sub(t0)
				remove += t2.Sub(t1)
				cleanup += time.Since(t2)
			}
			b.ReportMetric(float64(detach.Microseconds())/float64(b.N), "detach-us/op")
			b.ReportMetric(float64(remove.Microseconds())/float64(b.N), "netns-us/op")
			b.ReportMetric(float64(cleanup.Microseconds())/float64(b.N), "cleanup-us/op")
		})
	}
}

func TestRootDualStack(t *testing.T) {
	e := newRootEnv(t)
	n := e.network(network.Config{IPv6: true})
	_, res, err := e.container(cni.AttachRequest{Networks: []runtime.NetworkAttachment{{Network: n.Name}}})
	if err != nil {
		t.Fatal(err)
	}
	var fams []bool
	for _, ip := range res.Interfaces[0].IPs {
		fams = append(fams, ip.Addr().Is4())
	}
	if len(fams) != 2 || fams[0] == fams[1] {
		t.Errorf("addresses %v: want one IPv4 and one IPv6", res.Interfaces[0].IPs)
	}
}

func TestRootStaticIPAndMacvlan(t *testing.T) {
	e := newRootEnv(t)
	// The parent is one end of a veth pair the test makes: the macvlan's
	// packets go to the other end and nowhere else.
	parent := e.prefix + "a"
	attrs := netlink.NewLinkAttrs()
	attrs.Name = parent
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: e.prefix + "b"}); err != nil {
		t.Fatal(err)
	}
	e.seen.bridges = append(e.seen.bridges, parent)
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(parent); err == nil {
			_ = netlink.LinkDel(l)
		}
	})
	l, _ := netlink.LinkByName(parent)
	_ = netlink.LinkSetUp(l)
	n := e.network(network.Config{Driver: "macvlan", Options: map[string]string{cni.OptParent: parent},
		Subnets: []network.Subnet{{Subnet: "198.18.77.0/24", Gateway: "198.18.77.1"}}})
	_, res, err := e.container(cni.AttachRequest{Networks: []runtime.NetworkAttachment{{Network: n.Name, IPv4: "198.18.77.50"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := ipv4(t, res); got != netip.MustParseAddr("198.18.77.50") {
		t.Errorf("static address: got %v", got)
	}
	if res.Interfaces[0].MAC == "" {
		t.Errorf("no MAC in %+v", res.Interfaces[0])
	}
}

func TestRootConnectDisconnect(t *testing.T) {
	e := newRootEnv(t)
	a := e.network(network.Config{})
	b := e.network(network.Config{})
	ns1, _, err := e.container(cni.AttachRequest{Networks: []runtime.NetworkAttachment{{Network: a.Name}}})
	if err != nil {
		t.Fatal(err)
	}
	ns2, r2, err := e.container(cni.AttachRequest{Networks: []runtime.NetworkAttachment{{Network: b.Name}}})
	if err != nil {
		t.Fatal(err)
	}
	id1 := filepath.Base(ns1)
	iface, err := e.m.Connect(t.Context(), id1, runtime.NetworkAttachment{Network: b.Name, Aliases: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	e.seen.hostIfs = append(e.seen.hostIfs, iface.HostIf)
	if iface.IfName != "eth1" {
		t.Errorf("connected as %s, want eth1", iface.IfName)
	}
	if _, err := e.m.Connect(t.Context(), id1, runtime.NetworkAttachment{Network: b.Name}); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("second connect: %v, want ErrAlreadyExists", err)
	}
	ip2 := ipv4(t, r2)
	serveEcho(t, ns2, net.JoinHostPort(ip2.String(), "7000"))
	err = netns.Do(ns1, func() error {
		got, err := roundTrip(net.JoinHostPort(ip2.String(), "7000"))
		if err == nil && got != "echo hello\n" {
			err = fmt.Errorf("got %q", got)
		}
		return err
	})
	if err != nil {
		t.Fatalf("over the connected network: %v", err)
	}
	if eps, _ := e.m.Endpoints(t.Context(), b.Name); len(eps) != 2 {
		t.Errorf("network %s has %d endpoints, want 2", b.Name, len(eps))
	}
	if err := e.m.Disconnect(t.Context(), id1, b.Name); err != nil {
		t.Fatal(err)
	}
	err = netns.Do(ns1, func() error {
		if _, err := netlink.LinkByName("eth1"); err == nil {
			return errors.New("eth1 still there")
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if eps, _ := e.m.Endpoints(t.Context(), b.Name); len(eps) != 1 {
		t.Errorf("after disconnect network %s has %d endpoints, want 1", b.Name, len(eps))
	}
	if err := e.m.Disconnect(t.Context(), id1, b.Name); !errdefs.IsNotFound(err) {
		t.Errorf("second disconnect: %v, want ErrNotFound", err)
	}
}

// A container disconnected from its last network keeps its namespace and
// can be connected again (issue #5), and one attached Isolated (a stopped
// container so disconnected, started again) has loopback only until it is
// connected.
func TestRootReconnectAfterLastDisconnect(t *testing.T) {
	e := newRootEnv(t)
	a := e.network(network.Config{})
	nets := []runtime.NetworkAttachment{{Network: a.Name}}
	ns1, _, err := e.container(cni.AttachRequest{Networks: nets})
	if err != nil {
		t.Fatal(err)
	}
	ns2, res2, err := e.container(cni.AttachRequest{Networks: nets, Isolated: true,
		Ports: []runtime.PortBinding{{ContainerPort: 80}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res2.Interfaces) != 0 || len(res2.Ports) != 0 {
		t.Errorf("isolated attach = %+v, want no interface and no port", res2)
	}
	id1, id2 := filepath.Base(ns1), filepath.Base(ns2)
	if err := e.m.Disconnect(t.Context(), id1, a.Name); err != nil {
		t.Fatal(err)
	}
	if eps, _ := e.m.Endpoints(t.Context(), a.Name); len(eps) != 0 {
		t.Errorf("endpoints after the last disconnect: %+v", eps)
	}
	for _, id := range []string{id1, id2} {
		iface, err := e.m.Connect(t.Context(), id, runtime.NetworkAttachment{Network: a.Name})
		if err != nil {
			t.Fatalf("connect %s: %v", id, err)
		}
		e.seen.hostIfs = append(e.seen.hostIfs, iface.HostIf)
		if iface.IfName != "eth0" || len(iface.IPs) == 0 {
			t.Errorf("connected %s as %+v, want eth0 with an address", id, iface)
		}
	}
	if eps, _ := e.m.Endpoints(t.Context(), a.Name); len(eps) != 2 {
		t.Errorf("endpoints after connecting again: %d, want 2", len(eps))
	}
}

func TestRootConcurrentAttach(t *testing.T) {
	e := newRootEnv(t)
	n := e.network(network.Config{})
	nets := []runtime.NetworkAttachment{{Network: n.Name}}
	const count = 6
	type out struct {
		res cni.Result
		err error
	}
	results := make(chan out, count)
	paths := make([]string, count)
	ids := make([]string, count)
	for i := range count {
		ids[i] = e.prefix + randHex(8)
		p, err := netns.New(e.nsDir, ids[i])
		if err != nil {
			t.Fatal(err)
		}
		paths[i] = p
		t.Cleanup(func() {
			if err := e.m.Detach(context.Background(), ids[i], p); err != nil {
				t.Errorf("cleanup: %v", err)
			}
			_ = netns.Remove(p)
		})
	}
	for i := range count {
		go func() {
			res, err := e.m.Attach(t.Context(), cni.AttachRequest{ContainerID: ids[i], NetNSPath: paths[i],
				Networks: nets, Ports: []runtime.PortBinding{{ContainerPort: 80}}})
			results <- out{res, err}
		}()
	}
	ips := map[netip.Addr]bool{}
	ports := map[uint16]bool{}
	for range count {
		o := <-results
		if o.err != nil {
			t.Errorf("attach: %v", o.err)
			continue
		}
		for _, i := range o.res.Interfaces {
			e.seen.hostIfs = append(e.seen.hostIfs, i.HostIf)
		}
		ips[ipv4(t, o.res)] = true
		ports[o.res.Ports[0].HostPort] = true
	}
	if len(ips) != count || len(ports) != count {
		t.Errorf("%d distinct addresses and %d distinct host ports for %d containers", len(ips), len(ports), count)
	}
}

// berth's shared chains go with the last network: checked inside a
// namespace of the test's own, whose iptables no other berth root shares.
func TestChainsGoWithTheLastNetwork(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	path, err := netns.New(dir, "chains")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = netns.Remove(path) })
	saved := func() string {
		out, _ := exec.Command("iptables-save").Output()
		return string(out)
	}
	err = netns.Do(path, func() error {
		ctx := context.Background()
		m := cni.New(cni.Options{Root: t.TempDir(), RunRoot: t.TempDir(), HostLock: filepath.Join(dir, "host.lock"), DefaultBridge: "btc" + randHex(3)})
		a, err := m.Create(ctx, network.Config{Name: "a"})
		if err != nil {
			return err
		}
		if _, err := m.Create(ctx, network.Config{Name: "b", Internal: true}); err != nil {
			return err
		}
		if !strings.Contains(saved(), "-A FORWARD -j BERTH-FORWARD") {
			return fmt.Errorf("no jump to berth's chain after create:\n%s", saved())
		}
		if err := m.Remove(ctx, a.Name); err != nil {
			return err
		}
		if !strings.Contains(saved(), ":BERTH-FORWARD") {
			return fmt.Errorf("chains removed while network b still has rules")
		}
		if err := m.Remove(ctx, "b"); err != nil {
			return err
		}
		if s := saved(); strings.Contains(s, "BERTH-") {
			return fmt.Errorf("berth's chains left after the last network:\n%s", s)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
