package build

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/hostresolv"
	"github.com/berth-dev/berth/network/cni"
	"github.com/berth-dev/berth/network/netns"
)

// network/netns leaves a thread that entered a namespace locked, to die
// with its goroutine; the main thread cannot die, and Go wedges it instead,
// in that namespace for good (its veth stays until the process exits).
// Keeping the main goroutine on the main thread keeps others off it.
func init() { runtime.LockOSThread() }

// testNetworks is the attacher cmd/berth wires (cni.NamespaceAttacher),
// over the test's own network root and default bridge.
type testNetworks struct {
	cni.NamespaceAttacher
	m      *cni.Manager
	root   string
	run    string
	dir    string // namespaces
	bridge string
}

// newTestNetworks makes the attacher; cleanup takes the default network's
// bridge and rules down. The name servers RUN sees are loopback only.
func newTestNetworks(t *testing.T) *testNetworks {
	dir := t.TempDir()
	resolv := filepath.Join(dir, "resolv.conf")
	// A documentation address (TEST-NET-1): written, never asked.
	if err := os.WriteFile(resolv, []byte("nameserver 192.0.2.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(hostresolv.Env, resolv)
	n := &testNetworks{root: filepath.Join(dir, "root"), run: filepath.Join(dir, "run"), dir: filepath.Join(dir, "netns"), bridge: "bb" + randomID()[:8]}
	n.m = cni.New(cni.Options{Root: n.root, RunRoot: n.run, DefaultBridge: n.bridge})
	n.NamespaceAttacher = cni.NamespaceAttacher{M: n.m, Dir: n.dir}
	t.Cleanup(func() {
		ctx := context.Background()
		recs, _ := n.m.Records(ctx)
		for _, r := range recs {
			_ = n.m.TeardownHost(ctx, r)
		}
		_ = n.m.PruneChains(ctx)
		if out, _ := exec.Command("ip", "-o", "link", "show", n.bridge).CombinedOutput(); strings.Contains(string(out), n.bridge+":") {
			t.Errorf("bridge %s left", n.bridge)
		}
	})
	return n
}

// leftovers lists what builds left of their networks: namespaces,
// attachments, leases, veths on the bridge. Veths go with their namespace,
// which the kernel destroys in the background: wait for them (seconds on
// a loaded machine).
func (n *testNetworks) leftovers(t *testing.T) []string {
	t.Helper()
	var left []string
	names, _ := netns.List(n.dir)
	for _, s := range names {
		left = append(left, "netns "+s)
	}
	atts, _ := n.m.Attachments(t.Context())
	for _, a := range atts {
		left = append(left, "attachment "+a.ContainerID)
	}
	filepath.WalkDir(filepath.Join(n.run, "cni", "ipam"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), "berth-build-") {
				left = append(left, "lease "+filepath.Base(p))
			}
		}
		return nil
	})
	var veths string
	for i := 0; i < 300; i++ {
		out, _ := exec.Command("ip", "-o", "link", "show", "master", n.bridge).Output()
		if veths = strings.TrimSpace(string(out)); veths == "" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if veths != "" {
		left = append(left, "veths "+veths)
	}
	return left
}

func TestBuildRunNetwork(t *testing.T) {
	e := newRootEnv(t)
	nets := newTestNetworks(t)
	base := e.baseImage()
	// Only local reads: /sys/class/net and the addresses; no traffic.
	df := "FROM " + base + `
RUN ls /sys/class/net > /links-default && ip -o -4 addr show dev eth0 > /eth0 && cat /etc/resolv.conf > /resolv
RUN --network=none ls /sys/class/net > /links-none
`
	id := e.mustBuild(Options{DockerfileInline: []byte(df), Network: "default", Attacher: nets})
	out, _ := e.runIn(id, "cat /links-default; echo -; cat /links-none; echo -; cat /eth0 /resolv")
	parts := strings.SplitN(out, "-\n", 3)
	if len(parts) != 3 {
		t.Fatalf("output %q", out)
	}
	if got := strings.Fields(parts[0]); strings.Join(got, " ") != "eth0 lo" {
		t.Errorf("default network links %v, want eth0 lo", got)
	}
	if got := strings.Fields(parts[1]); strings.Join(got, " ") != "lo" {
		t.Errorf("RUN --network=none links %v, want lo", got)
	}
	def, err := nets.m.Get(t.Context(), cni.DefaultName)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`inet (\S+)`).FindStringSubmatch(parts[2])
	if m == nil {
		t.Fatalf("no IPv4 address on eth0: %q", parts[2])
	}
	addr, err := netip.ParsePrefix(m[1])
	if err != nil {
		t.Fatal(err)
	}
	subnet := netip.MustParsePrefix(def.Config.Subnets[0].Subnet)
	if !subnet.Contains(addr.Addr()) {
		t.Errorf("eth0 %s is not in the default network's %s", addr, subnet)
	}
	if !strings.Contains(parts[2], "nameserver 192.0.2.1") {
		t.Errorf("resolv.conf is not the host's: %q", parts[2])
	}
	if left := nets.leftovers(t); len(left) > 0 {
		t.Errorf("left after the build: %v", left)
	}

	// A failing RUN releases its network too.
	_, _, err = e.build(Options{DockerfileInline: []byte("FROM " + base + "\nRUN ls /sys/class/net/eth0 && false\n"), Network: "default", Attacher: nets})
	if err == nil {
		t.Error("failing RUN succeeded")
	}
	if left := nets.leftovers(t); len(left) > 0 {
		t.Errorf("left after a failed build: %v", left)
	}

	// A cancelled build releases it (the RUN is killed first).
	e.cancelDuringRun(t, Options{DockerfileInline: []byte("FROM " + base + "\nRUN echo started && sleep 60\n"), Network: "default", Attacher: nets})
	if left := nets.leftovers(t); len(left) > 0 {
		t.Errorf("left after a cancelled build: %v", left)
	}

	// What a killed build left (its bundle with the ID, the attached
	// namespace) the next build reaps.
	stale := filepath.Join(e.b.RunRoot, "run-dead")
	if err := os.MkdirAll(stale, 0o700); err != nil {
		t.Fatal(err)
	}
	deadID := "berth-build-" + randomID()
	os.WriteFile(filepath.Join(stale, "id"), []byte(deadID), 0o600)
	if _, _, err := nets.Attach(t.Context(), deadID); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * staleAge)
	os.Chtimes(stale, old, old)
	e.mustBuild(Options{DockerfileInline: []byte("FROM " + base + "\nENV REAPED=1\n"), Network: "default", Attacher: nets})
	if left := nets.leftovers(t); len(left) > 0 {
		t.Errorf("a killed build's network not reaped: %v", left)
	}

	// What a RUN on the default network costs: the same five steps with
	// none and with default (the log says; no timing assertion).
	five := "FROM " + base + "\nRUN true\nRUN true\nRUN true\nRUN true\nRUN true\n"
	for _, net := range []string{"none", "default"} {
		start := time.Now()
		e.mustBuild(Options{DockerfileInline: []byte(five), Network: net, Attacher: nets, NoCache: true})
		t.Logf("5 RUN steps on network %s: %v", net, time.Since(start))
	}
	start := time.Now()
	if left := nets.leftovers(t); len(left) > 0 {
		t.Errorf("left after the builds: %v", left)
	}
	t.Logf("veths gone %v after the build", time.Since(start))
}
