package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/network/cni"
	"github.com/berth-dev/berth/network/netns"
)

// systemDf runs `system df --format json` and returns its rows by type.
func (c *cli) systemDf() map[string]dfRow {
	c.t.Helper()
	rows := map[string]dfRow{}
	for _, line := range strings.Split(strings.TrimSpace(c.must("system", "df", "--format", "json")), "\n") {
		var r dfRow
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			c.t.Fatalf("system df line %q: %v", line, err)
		}
		rows[r.Type] = r
	}
	return rows
}

// The whole system group through the real binary on the test's own roots:
// df counts what a running container, an exited one, volumes, networks and
// images take; prune -a --volumes removes what is unused; reset leaves
// nothing of the root on the host: no bridge, veth, namespace, iptables
// rule, mount or process, and empty root directories.
func TestRootSystemDfPruneReset(t *testing.T) {
	c := netCLI(t)
	used, unused, vol := unique("su"), unique("sx"), unique("sv")
	c.must("network", "create", used)
	c.must("network", "create", unused)
	c.must("volume", "create", vol)
	// web on the default network with the named volume; peer on a user
	// network (which starts the DNS server); job exited, with an anonymous
	// volume and 100 kB in its writable layer; an image committed from it.
	c.must("run", "-d", "--name", "web", "-v", vol+":/data", "busybox", "sleep", "1000")
	c.must("run", "-d", "--name", "peer", "--network", used, "busybox", "sleep", "1000")
	c.must("run", "--name", "job", "-v", "/anon", "busybox", "sh", "-c", "head -c 100000 /dev/zero > /big; echo x > /anon/f")
	c.must("commit", "job", "sysimg:1")

	got := c.systemDf()
	counts := map[string][2]string{}
	for k, r := range got {
		counts[k] = [2]string{r.TotalCount, r.Active}
	}
	want := map[string][2]string{"Images": {"2", "1"}, "Containers": {"3", "2"}, "Local Volumes": {"2", "2"}, "Build Cache": {"0", "0"}}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Errorf("system df TOTAL/ACTIVE (-want +got):\n%s", diff)
	}
	if r := got["Containers"]; !strings.HasPrefix(r.Size, "100") || !strings.HasPrefix(r.Reclaimable, "100") {
		t.Errorf("system df Containers: size %s, reclaimable %s; want job's 100kB", r.Size, r.Reclaimable)
	}
	if r := got["Images"]; r.Size == "0B" || !strings.HasSuffix(r.Reclaimable, "%)") {
		t.Errorf("system df Images: %+v", r)
	}
	verbose := c.must("system", "df", "-v")
	for _, s := range []string{"sysimg", "web", "peer", "job", vol, "Build cache usage: 0B"} {
		if !strings.Contains(verbose, s) {
			t.Errorf("system df -v lacks %s:\n%s", s, verbose)
		}
	}

	out := c.must("system", "prune", "-a", "--volumes", "-f")
	for _, s := range []string{"Deleted Containers:", "Deleted Networks:\n" + unused, "Deleted Volumes:", "Deleted Images:", "untagged: sysimg:1", "Total reclaimed space: "} {
		if !strings.Contains(out, s) {
			t.Errorf("system prune output lacks %q:\n%s", s, out)
		}
	}
	if strings.Count(out, "Total reclaimed space") != 1 {
		t.Errorf("system prune prints one total:\n%s", out)
	}
	after := c.systemDf()
	counts = map[string][2]string{}
	for k, r := range after {
		counts[k] = [2]string{r.TotalCount, r.Active}
	}
	want = map[string][2]string{"Images": {"1", "1"}, "Containers": {"2", "2"}, "Local Volumes": {"1", "1"}, "Build Cache": {"0", "0"}}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Errorf("system df after prune (-want +got):\n%s", diff)
	}
	if nets := c.must("network", "ls", "--format", "{{.Name}}"); strings.Contains(nets, unused) || !strings.Contains(nets, used) {
		t.Errorf("networks after prune:\n%s", nets)
	}

	// What reset must take away: every bridge of the root, the DNS server.
	m := cni.New(cni.Options{Root: c.root, RunRoot: c.runRoot, DefaultBridge: c.bridge})
	recs, err := m.Records(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	atts, err := m.Attachments(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var veths []string
	for _, a := range atts {
		for _, ep := range a.Endpoints {
			veths = append(veths, ep.HostIf)
		}
	}
	if len(veths) != 2 {
		t.Errorf("host veths of web and peer: %v", veths)
	}
	var bridges []string
	for _, r := range recs {
		bridges = append(bridges, r.Bridge)
	}
	// Reset empties the root, so the usual teardown finds no record of
	// what a failed reset left: take those down from the records read here.
	t.Cleanup(func() {
		for _, r := range recs {
			_ = cni.LinuxHost{Scope: cni.Scope(c.root)}.Teardown(context.Background(), r)
		}
	})
	if !strings.Contains(strings.Join(bridges, " "), c.bridge) {
		t.Fatalf("default bridge %s not among the root's bridges %v", c.bridge, bridges)
	}
	dnsPid, _ := os.ReadFile(filepath.Join(c.runRoot, "dns", "pid"))
	if len(bytes.TrimSpace(dnsPid)) == 0 {
		t.Errorf("no DNS server ran for a container on a user network")
	}

	if out, errs, code := c.run("system", "reset"); code != 0 || !strings.Contains(out, "Are you sure") || c.must("ps", "-q") == "" {
		t.Errorf("system reset without -f and no answer: exit %d, removed the containers or asked nothing:\n%s%s", code, out, errs)
	}
	if out, errs, code := c.run("system", "reset", "-f"); code != 0 || errs != "" {
		t.Errorf("system reset -f: exit %d\n%s%s", code, out, errs)
	}

	links, _ := exec.Command("ip", "-o", "link").Output()
	for _, b := range bridges {
		if bytes.Contains(links, []byte(" "+b+":")) {
			t.Errorf("bridge %s left after reset", b)
		}
	}
	for _, v := range veths {
		if bytes.Contains(links, []byte(" "+v+"@")) || bytes.Contains(links, []byte(" "+v+":")) {
			t.Errorf("veth %s left after reset", v)
		}
	}
	if bytes.Contains(links, []byte("master "+c.bridge)) {
		t.Errorf("links left on %s", c.bridge)
	}
	tag := "berth:" + cni.Scope(c.root) + ":"
	for _, cmd := range []string{"iptables-save", "ip6tables-save"} {
		rules, _ := exec.Command(cmd).Output()
		for _, s := range append([]string{tag}, bridges...) {
			if bytes.Contains(rules, []byte(s)) {
				t.Errorf("%s has %s left after reset", cmd, s)
			}
		}
	}
	if names, _ := netns.List(filepath.Join(c.runRoot, "netns")); len(names) > 0 {
		t.Errorf("namespaces left: %v", names)
	}
	if data, _ := os.ReadFile("/proc/self/mountinfo"); bytes.Contains(data, []byte(c.root)) || bytes.Contains(data, []byte(c.runRoot)) {
		t.Errorf("mounts left under the roots")
	}
	// Monitors and the DNS server name the roots on their command lines.
	deadline := time.Now().Add(5 * time.Second)
	for {
		procs := processesNaming(c.root, c.runRoot)
		if len(procs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("processes of the root left after reset: %v", procs)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, dir := range []string{c.root, c.runRoot} {
		if ents, err := os.ReadDir(dir); err != nil || len(ents) > 0 {
			t.Errorf("%s after reset: %v, %v; want it empty", dir, ents, err)
		}
	}
	// And berth works on the emptied root again.
	if out := c.systemDf(); out["Images"].TotalCount != "0" || out["Containers"].TotalCount != "0" {
		t.Errorf("system df after reset: %+v", out)
	}
}

// processesNaming lists the pids and command lines of processes whose
// command line has one of the paths as an argument.
func processesNaming(paths ...string) []string {
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, arg := range strings.Split(string(b), "\x00") {
			for _, p := range paths {
				if arg == p || strings.HasPrefix(arg, p+"/") {
					out = append(out, filepath.Base(filepath.Dir(f))+": "+strings.ReplaceAll(string(b), "\x00", " "))
				}
			}
		}
	}
	return out
}
