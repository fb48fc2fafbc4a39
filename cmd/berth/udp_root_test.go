package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TestRootUDPPortAfterStaleConntrack is Docker's UDP conntrack case end
// to end: a client sends to a UDP host port before any container
// publishes it (its conntrack entry points at the host itself), then a
// container on a user network publishes the port; the same client
// socket's next packets must reach the container, not follow the stale
// entry. Traffic stays on loopback and the test's network.
func TestRootUDPPortAfterStaleConntrack(t *testing.T) {
	c := netCLI(t)
	probeDir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(probeDir, "udpecho"), "./testdata/udpecho")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the probe: %v\n%s", err, out)
	}
	netName := unique("udp")
	c.must("network", "create", netName)

	lo := net.IPv4(127, 0, 0, 1)
	free, err := net.ListenUDP("udp4", &net.UDPAddr{IP: lo})
	if err != nil {
		t.Fatal(err)
	}
	port := free.LocalAddr().(*net.UDPAddr).Port
	free.Close()
	client, err := net.ListenUDP("udp4", &net.UDPAddr{IP: lo})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	t.Cleanup(func() {
		// Removing the container flushed the port's entries; take away
		// anything left of the test's client and report it.
		f := &netlink.ConntrackFilter{}
		_ = f.AddProtocol(unix.IPPROTO_UDP)
		_ = f.AddPort(netlink.ConntrackOrigDstPort, uint16(port))
		_ = f.AddIP(netlink.ConntrackOrigDstIP, lo)
		if n, _ := netlink.ConntrackDeleteFilters(netlink.ConntrackTable, unix.AF_INET, f); n > 0 {
			t.Errorf("%d conntrack entries of 127.0.0.1:%d left after the container's removal", n, port)
		}
	})
	to := &net.UDPAddr{IP: lo, Port: port}
	if _, err := client.WriteToUDP([]byte("before\n"), to); err != nil {
		t.Fatal(err)
	}

	c.must("run", "-d", "--name", "udp", "--network", netName, "-p", strconv.Itoa(port)+":5353/udp",
		"-v", probeDir+":/probe:ro", "busybox", "/probe/udpecho", "5353")
	buf := make([]byte, 64)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := client.WriteToUDP([]byte("after\n"), to); err != nil {
			t.Fatal(err)
		}
		_ = client.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, _, err := client.ReadFromUDP(buf)
		if err == nil {
			if got := string(buf[:n]); got != "echo after\n" {
				t.Errorf("reply %q, want %q", got, "echo after\n")
			}
			break
		}
		if time.Now().After(deadline) {
			logs, _, _ := c.run("logs", "udp")
			t.Fatalf("no reply from the container through 127.0.0.1:%d (a stale conntrack entry?): %v; its log:\n%s", port, err, logs)
		}
	}
	c.must("rm", "-f", "udp")
}
