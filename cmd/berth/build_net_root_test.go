package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/berth-dev/berth/network/netns"
)

// TestRootCLIBuildNetwork: berth build's RUN is on the default network
// unless --network none or RUN --network=none says otherwise, as in Docker,
// and nothing of it is left after the build (teardown checks links, rules
// and namespaces of the test's root). Only local reads, no traffic.
func TestRootCLIBuildNetwork(t *testing.T) {
	resolv := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(resolv, []byte("nameserver 127.0.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BERTH_HOST_RESOLV_CONF", resolv)
	c := netCLI(t)
	dir := t.TempDir()
	df := "FROM busybox\nRUN ip -o -4 addr show dev eth0 > /eth0\nRUN --network=none ls /sys/class/net > /none\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	c.must("build", "-q", "-t", "netbuild", dir)
	out := c.must("run", "--rm", "--network", "none", "netbuild", "cat", "/eth0", "/none")
	if !regexp.MustCompile(`eth0\s+inet \d+\.\d+\.\d+\.\d+/\d+`).MatchString(out) || !strings.HasSuffix(out, "\nlo\n") {
		t.Errorf("RUN saw %q, want an address on eth0, then lo alone", out)
	}
	if _, errs, code := c.run("build", "--network", "none", "--no-cache", dir); code == 0 || !strings.Contains(errs, "Dockerfile:2: RUN ip -o -4 addr show dev eth0") {
		t.Errorf("build --network none: exit %d\n%s", code, errs)
	}
	if names, _ := netns.List(filepath.Join(c.runRoot, "build", "netns")); len(names) > 0 {
		t.Errorf("build namespaces left: %v", names)
	}
	if atts, _ := filepath.Glob(filepath.Join(c.runRoot, "cni", "attachments", "berth-build-*")); len(atts) > 0 {
		t.Errorf("build attachments left: %v", atts)
	}
}
