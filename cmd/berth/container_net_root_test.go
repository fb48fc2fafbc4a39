package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testimage"
	"github.com/berth-dev/berth/network/cni"
	"github.com/berth-dev/berth/network/netns"
	"github.com/berth-dev/berth/network/networktest"
	"github.com/berth-dev/berth/runtime"
)

// Root tests of containers on networks and with volumes, through the real
// binaries. Traffic goes only to loopback and to the test's own containers.
// Each test checks at its end that nothing of it is left: namespaces,
// links, iptables rules of its root, mounts and the DNS server.

// netCLI is newCLI, whose cleanup runs teardown.
func netCLI(t *testing.T) *cli { t.Helper(); return newCLI(t) }

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// unique makes a name unique to this run.
func unique(name string) string { return name + randHex(3) }

// teardown removes everything the test made, then fails it if anything of
// it is left.
func (c *cli) teardown() {
	t := c.t
	ctx := context.Background()
	var links []string
	if ents, _ := filepath.Glob(filepath.Join(c.runRoot, "cni", "attachments", "*.json")); len(ents) > 0 {
		for _, f := range ents {
			var a cni.Attachment
			if b, err := os.ReadFile(f); err == nil && json.Unmarshal(b, &a) == nil {
				for _, ep := range a.Endpoints {
					links = append(links, ep.HostIf)
				}
			}
		}
	}
	ids, _, _ := c.run("ps", "-aq", "--no-trunc")
	for _, id := range strings.Fields(ids) {
		_, _, _ = c.run("rm", "-f", "-v", id)
	}
	m := cni.New(cni.Options{Root: c.root, RunRoot: c.runRoot, DefaultBridge: c.bridge})
	recs, _ := m.Records(ctx)
	for _, r := range recs {
		links = append(links, r.Bridge)
		if r.Default {
			// The default network cannot be removed through berth: take
			// its host side down directly.
			_ = m.TeardownHost(ctx, r)
			continue
		}
		if err := m.Remove(ctx, r.Name); err != nil {
			t.Errorf("cleanup: remove network %s: %v", r.Name, err)
		}
	}
	_ = m.PruneChains(ctx)
	vols, _, _ := c.run("volume", "ls", "-q")
	for _, v := range strings.Fields(vols) {
		if _, errs, code := c.run("volume", "rm", v); code != 0 {
			t.Errorf("cleanup: volume rm %s: %s", v, errs)
		}
	}
	if b, err := os.ReadFile(filepath.Join(c.runRoot, "dns", "pid")); err == nil {
		if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGTERM)
		}
	}

	if names, _ := netns.List(filepath.Join(c.runRoot, "netns")); len(names) > 0 {
		t.Errorf("namespaces left: %v", names)
	}
	// Veths go with their namespace, which the kernel destroys in the
	// background (rm leaves them to it): give it the time reset does.
	if err := waitLinksGone(links, 5*time.Second); err != nil {
		t.Error(err)
	}
	tag := "berth:" + cni.Scope(c.root) + ":"
	for _, cmd := range []string{"iptables-save", "ip6tables-save"} {
		out, _ := exec.Command(cmd).Output()
		if bytes.Contains(out, []byte(tag)) {
			t.Errorf("%s has rules of the test's root (%s) left", cmd, tag)
		}
		if lines := networktest.OrphanChains(cmd); lines != "" {
			t.Errorf("%s still has berth's chains with no berth network on the host:\n%s", cmd, lines)
		}
	}
	if data, _ := os.ReadFile("/proc/self/mountinfo"); bytes.Contains(data, []byte(c.root)) {
		t.Errorf("mounts left under %s", c.root)
	}
}

const httpGet = `printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 %s 80`

// web runs a detached busybox httpd serving body on port 80.
func (c *cli) web(body string, args ...string) string {
	c.t.Helper()
	args = append(append([]string{"run", "-d"}, args...), "busybox", "sh", "-c",
		fmt.Sprintf("mkdir -p /www && echo %s > /www/index.html && exec httpd -f -p 80 -h /www", body))
	return strings.TrimSpace(c.must(args...))
}

// fetch asks host for / from inside container ref; it returns the output.
func (c *cli) fetch(ref, host string) (string, int) {
	out, errs, code := c.run("exec", ref, "sh", "-c", fmt.Sprintf(httpGet, host))
	return out + errs, code
}

// eventually retries fetch until its output contains (or, with !want, no
// longer contains) body, and returns how long that took from start.
func (c *cli) eventually(ref, host, body string, want bool, start time.Time) time.Duration {
	c.t.Helper()
	for {
		attempt := time.Now()
		out, _ := c.fetch(ref, host)
		if strings.Contains(out, body) == want {
			return attempt.Sub(start)
		}
		if time.Since(start) > 5*time.Second {
			diag, _, _ := c.run("exec", ref, "sh", "-c", "nslookup "+host+"; ip neigh; ip route")
			dnsLog, _ := os.ReadFile(filepath.Join(c.runRoot, "dns", "log"))
			pid, _ := os.ReadFile(filepath.Join(c.runRoot, "dns", "pid"))
			ss, _ := exec.Command("ss", "-lunp").Output()
			diag += "\ndns log:\n" + string(dnsLog) + "\npid " + string(pid) + "\n" + string(ss)
			apiAddr, _, _ := c.run("exec", "api", "ip", "-o", "-4", "addr")
			ps, _, _ := c.run("ps", "-a")
			links, _ := exec.Command("ip", "-o", "link").Output()
			diag += apiAddr + ps + string(links)
			c.t.Fatalf("fetch %s from %s: want body %v, got %q\n%s", host, ref, want, out, diag)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRootNetNamesAliasesAndDNSChanges(t *testing.T) {
	c := netCLI(t)
	n1, n2 := unique("front"), unique("back")
	// Both networks are internal, so a name a container does not know is
	// NXDOMAIN at once and never forwarded to the host's resolvers.
	c.must("network", "create", "--internal", n1)
	c.must("network", "create", "--internal", n2)
	c.web("hello-web", "--name", "web", "--network", n1, "--network-alias", "www")
	c.web("hello-api", "--name", "api", "--network", n2)
	client := strings.TrimSpace(c.must("run", "-d", "--name", "client", "--network", n1, "busybox", "sleep", "60"))
	for _, host := range []string{"web", "www"} {
		c.eventually(client, host, "hello-web", true, time.Now()) // httpd and DNS come up after run -d
	}
	if out, _ := c.fetch(client, "api"); strings.Contains(out, "hello-api") {
		t.Fatalf("api answered from another network: %q", out)
	}
	start := time.Now()
	c.must("network", "connect", n1, "api")
	if d := c.eventually(client, "api", "hello-api", true, start); d > time.Second {
		t.Errorf("api found %v after connect, want within a second", d)
	}
	// api asks its first network's server (n2) for a name on n1.
	c.eventually("api", "web", "hello-web", true, time.Now())
	start = time.Now()
	c.must("network", "disconnect", n1, "api")
	if d := c.eventually(client, "api", "hello-api", false, start); d > time.Second {
		t.Errorf("api still found %v after disconnect, want gone within a second", d)
	}
	// A stopped container connected joins at its next start.
	c.must("stop", "-t", "0", "api")
	c.must("network", "connect", "--alias", "backend", n1, "api")
	c.must("start", "api")
	c.eventually(client, "backend", "hello-api", true, time.Now())
	// --internal: no way out, not even a default route.
	in := unique("int")
	c.must("network", "create", "--internal", in)
	out := c.must("run", "--rm", "--network", in, "busybox", "ip", "route")
	if strings.Contains(out, "default") {
		t.Errorf("internal network has a default route:\n%s", out)
	}
}

func TestRootNetDefaultPortsAndClash(t *testing.T) {
	c := netCLI(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // a free port, for the container
	c.web("hello-pub", "--name", "pub", "-p", fmt.Sprintf("%d:80", port))
	if got := httpFrom(t, fmt.Sprintf("127.0.0.1:%d", port)); !strings.Contains(got, "hello-pub") {
		t.Errorf("published port answered %q", got)
	}
	if out := c.must("port", "pub"); out != fmt.Sprintf("80/tcp -> 0.0.0.0:%d\n", port) {
		t.Errorf("port: %q", out)
	}
	if out := c.must("ps", "--format", "{{.Ports}}", "-f", "name=pub"); !strings.Contains(out, fmt.Sprintf("0.0.0.0:%d->80/tcp", port)) {
		t.Errorf("ps PORTS: %q", out)
	}
	// The default network has no name resolution, as in Docker: the
	// host's resolvers, not berth's (no query is sent: they are outside).
	gw := strings.TrimSpace(c.must("inspect", "-f", "{{.NetworkSettings.Gateway}}", "pub"))
	c.must("run", "-d", "--name", "other", "busybox", "sleep", "60")
	if gw == "" {
		t.Fatal("no gateway on the default network")
	}
	if out := c.must("exec", "other", "cat", "/etc/resolv.conf", "/etc/hosts"); strings.Contains(out, "nameserver "+gw) || strings.Contains(out, "pub") {
		t.Errorf("the default network resolves names:\n%s", out)
	}
	// A clash is refused before the container's process starts.
	_, errs, code := c.run("run", "-d", "--name", "clash", "-p", fmt.Sprintf("%d:80", port), "busybox", "sh", "-c", "touch /started; sleep 60")
	if code == 0 || !strings.Contains(errs, "port is already allocated") {
		t.Errorf("clash: exit %d, %q", code, errs)
	}
	if st := strings.TrimSpace(c.must("inspect", "-f", "{{.State.Status}}", "clash")); st != "created" {
		t.Errorf("clashing container is %s, want created", st)
	}
	// --network container: shares the namespace: httpd answers on its loopback.
	out := c.must("run", "--rm", "--network", "container:pub", "busybox", "sh", "-c", fmt.Sprintf(httpGet, "127.0.0.1"))
	if !strings.Contains(out, "hello-pub") {
		t.Errorf("container: network: %q", out)
	}
}

// httpFrom fetches / from addr (loopback only), waiting up to 5 s for the
// server to listen.
func httpFrom(t *testing.T, addr string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	for err != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		conn, err = net.DialTimeout("tcp", addr, 2*time.Second)
	}
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	_, _ = io.WriteString(conn, "GET / HTTP/1.0\r\n\r\n")
	b, _ := io.ReadAll(conn)
	return string(b)
}

func TestRootNetAddressesReleasedAndReused(t *testing.T) {
	c := netCLI(t)
	n := unique("reuse")
	c.must("network", "create", "--subnet", "10.231.7.0/24", n)
	c.must("run", "-d", "--name", "a", "--network", n, "--ip", "10.231.7.50", "busybox", "sleep", "60")
	if _, errs, code := c.run("run", "-d", "--name", "b", "--network", n, "--ip", "10.231.7.50", "busybox", "sleep", "60"); code == 0 {
		t.Fatalf("second container got a taken address")
	} else {
		t.Logf("taken address refused: %s", strings.TrimSpace(errs))
	}
	c.must("rm", "-f", "a", "b")
	c.must("run", "-d", "--name", "c", "--network", n, "--ip", "10.231.7.50", "busybox", "sleep", "60")
	ip := strings.TrimSpace(c.must("inspect", "-f", "{{(index .NetworkSettings.Networks \""+n+"\").IPAddress}}", "c"))
	if ip != "10.231.7.50" {
		t.Errorf("reused address: %q", ip)
	}
	// A stopped container releases its address and namespace.
	c.must("stop", "-t", "0", "c")
	if names, _ := netns.List(filepath.Join(c.runRoot, "netns")); len(names) > 0 {
		t.Errorf("stopped container keeps its namespace: %v", names)
	}
	c.must("run", "-d", "--name", "d", "--network", n, "--ip", "10.231.7.50", "busybox", "sleep", "60")
}

func TestRootVolumes(t *testing.T) {
	c := netCLI(t)
	v := unique("data")
	c.must("run", "--rm", "--network", "none", "-v", v+":/data", "busybox", "sh", "-c", "echo kept > /data/f")
	if out := c.must("run", "--rm", "--network", "none", "-v", v+":/data", "busybox", "cat", "/data/f"); out != "kept\n" {
		t.Errorf("named volume after rm: %q", out)
	}
	// Read-only mounts refuse writes.
	if _, _, code := c.run("run", "--rm", "--network", "none", "-v", v+":/data:ro", "busybox", "sh", "-c", "echo x > /data/g"); code == 0 {
		t.Errorf("wrote to a read-only volume")
	}
	// Copy-up from the image happens once: a deleted file stays deleted.
	etc := unique("etc")
	if out := c.must("run", "--rm", "--network", "none", "-v", etc+":/etc", "busybox", "cat", "/etc/passwd"); !strings.Contains(out, "root:") {
		t.Errorf("copy-up: /etc/passwd is %q", out)
	}
	c.must("run", "--rm", "--network", "none", "-v", etc+":/etc", "busybox", "rm", "/etc/passwd")
	if _, _, code := c.run("run", "--rm", "--network", "none", "-v", etc+":/etc", "busybox", "test", "-e", "/etc/passwd"); code == 0 {
		t.Errorf("copy-up happened again")
	}
	// nocopy leaves a new volume empty.
	if _, _, code := c.run("run", "--rm", "--network", "none", "--mount", "type=volume,src="+unique("nc")+",dst=/etc,volume-nocopy", "busybox", "test", "-e", "/etc/passwd"); code == 0 {
		t.Errorf("nocopy volume was filled from the image")
	}
	// tmpfs size is enforced.
	out, _, _ := c.run("run", "--rm", "--network", "none", "--mount", "type=tmpfs,dst=/t,tmpfs-size=1m", "busybox", "sh", "-c", "dd if=/dev/zero of=/t/f bs=1k count=2048; ls -l /t/f")
	if !strings.Contains(out, "1048576") {
		t.Errorf("tmpfs size not enforced: %q", out)
	}
	// Anonymous volumes: -v /path and rm -v.
	c.must("create", "--name", "anon", "--network", "none", "-v", "/scratch", "busybox", "true")
	if vols := strings.Fields(c.must("volume", "ls", "-q")); len(vols) != 4 {
		t.Errorf("volumes with an anonymous one: %v", vols)
	}
	if _, _, code := c.run("volume", "rm", v); code != 0 {
		t.Errorf("volume rm of an unused volume failed")
	}
	c.must("rm", "-v", "anon")
	if vols := strings.Fields(c.must("volume", "ls", "-q")); len(vols) != 2 {
		t.Errorf("rm -v left volumes: %v", vols)
	}
	// An image VOLUME gets an anonymous volume, filled from the image;
	// run --rm removes it with the container.
	cmd := c.cmd("import", "--change", "VOLUME /etc", "-", "busyvol")
	cmd.Stdin = bytes.NewReader(testimage.Tar(t))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	out = c.must("run", "--rm", "--network", "none", "busyvol", "sh", "-c", "grep -c root: /etc/passwd; grep ' /etc ' /proc/mounts | wc -l")
	if out != "1\n1\n" {
		t.Errorf("image volume: %q", out)
	}
	if vols := strings.Fields(c.must("volume", "ls", "-q")); len(vols) != 2 {
		t.Errorf("run --rm left its anonymous volume: %v", vols)
	}
}

// A berth killed between attaching a container and starting it leaves an
// attachment, a namespace and a published port behind: the port is taken
// back by the next container that wants it, and rm releases the rest.
func TestRootNetKilledMidStart(t *testing.T) {
	c := netCLI(t)
	n := unique("crash")
	c.must("network", "create", n)
	id := strings.TrimSpace(c.must("create", "--name", "victim", "--network", n, "busybox", "sleep", "60"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	// What start had done when it was killed: namespace and attachment.
	m := cni.New(cni.Options{Root: c.root, RunRoot: c.runRoot, DefaultBridge: c.bridge})
	path, err := netns.New(filepath.Join(c.runRoot, "netns"), id)
	if err != nil {
		t.Fatal(err)
	}
	ports, _ := cni.ParsePorts([]string{fmt.Sprintf("%d:80", port)})
	if _, err := m.Attach(t.Context(), cni.AttachRequest{ContainerID: id, Name: "victim", NetNSPath: path, Networks: []runtime.NetworkAttachment{{Network: n}}, Ports: ports}); err != nil {
		t.Fatal(err)
	}
	c.web("hello-next", "--name", "next", "--network", n, "-p", fmt.Sprintf("%d:80", port))
	if got := httpFrom(t, fmt.Sprintf("127.0.0.1:%d", port)); !strings.Contains(got, "hello-next") {
		t.Errorf("port taken back: %q", got)
	}
	if _, err := m.Attachment(t.Context(), id); err == nil {
		t.Errorf("the killed start's attachment is still there")
	}
	c.must("rm", "victim")
	if _, err := os.Stat(path); err == nil {
		t.Errorf("the killed start's namespace is still there")
	}
}

func TestRootNetRenameFollowsInDNS(t *testing.T) {
	c := netCLI(t)
	n := unique("ren")
	c.must("network", "create", "--internal", n)
	c.web("hello-ren", "--name", "old", "--network", n)
	c.must("run", "-d", "--name", "asker", "--network", n, "busybox", "sleep", "60")
	c.eventually("asker", "old", "hello-ren", true, time.Now())
	c.must("rename", "old", "new")
	if d := c.eventually("asker", "new", "hello-ren", true, time.Now()); d > time.Second {
		t.Errorf("renamed container found after %v", d)
	}
}

func TestRootNetPublishAllAndNameFiles(t *testing.T) {
	c := netCLI(t)
	cmd := c.cmd("import", "--change", "EXPOSE 80", "-", "busyweb")
	cmd.Stdin = bytes.NewReader(testimage.Tar(t))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	c.must("run", "-d", "--name", "all", "-P", "busyweb", "sh", "-c", "mkdir -p /www && echo hello-all > /www/index.html && exec httpd -f -p 80 -h /www")
	out := strings.TrimSpace(c.must("port", "all", "80"))
	_, port, ok := strings.Cut(out, ":")
	if !ok {
		t.Fatalf("port all 80: %q", out)
	}
	if got := httpFrom(t, "127.0.0.1:"+port); !strings.Contains(got, "hello-all") {
		t.Errorf("-P port answered %q", got)
	}
	// --dns*, --add-host and --hostname end up in the files the container
	// reads; nothing is queried.
	out = c.must("run", "--rm", "--hostname", "box", "--dns", "10.0.0.9", "--dns-search", "example.test", "--dns-option", "ndots:2",
		"--add-host", "db.local:10.1.2.3", "busybox", "cat", "/etc/resolv.conf", "/etc/hosts")
	for _, want := range []string{"nameserver 10.0.0.9", "search example.test", "options ndots:2", "10.1.2.3\tdb.local", "\tbox"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

// Docker lets a container taken off its last network join one again: it
// stays network-attached with no network, also across a restart.
func TestRootNetReconnectAfterLastDisconnect(t *testing.T) {
	c := netCLI(t)
	n1, n2 := unique("ra"), unique("rb")
	c.must("network", "create", "--internal", n1)
	c.must("network", "create", "--internal", n2)
	c.must("run", "-d", "--name", "lone", "--network", n1, "busybox", "sleep", "60")
	ifs := func() string { return c.must("exec", "lone", "ip", "-o", "-4", "addr") }
	c.must("network", "disconnect", n1, "lone")
	if out := ifs(); strings.Contains(out, "eth") {
		t.Fatalf("an interface is left after disconnecting the last network:\n%s", out)
	}
	c.must("network", "connect", n2, "lone")
	if out := ifs(); !strings.Contains(out, "eth0") {
		t.Fatalf("no interface after connect:\n%s", out)
	}
	c.must("network", "disconnect", n2, "lone")
	c.must("restart", "-t", "0", "lone")
	if out := ifs(); strings.Contains(out, "eth") {
		t.Fatalf("restart attached a network the container was taken off:\n%s", out)
	}
	c.must("network", "connect", n1, "lone")
	if out := ifs(); !strings.Contains(out, "eth0") {
		t.Fatalf("no interface after connect to a restarted container:\n%s", out)
	}
}
