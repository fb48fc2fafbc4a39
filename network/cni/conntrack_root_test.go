package cni_test

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/network/cni"
	"github.com/berth-dev/berth/network/netns"
	"github.com/berth-dev/berth/runtime"
)

// udpFlows are the conntrack entries of UDP to 127.0.0.1:port.
func udpFlows(t *testing.T, port int) []*netlink.ConntrackFlow {
	t.Helper()
	flows, err := netlink.ConntrackTableList(netlink.ConntrackTable, unix.AF_INET)
	if err != nil {
		t.Fatalf("conntrack: %v", err)
	}
	var out []*netlink.ConntrackFlow
	for _, f := range flows {
		if f.Forward.Protocol == unix.IPPROTO_UDP && f.Forward.DstIP.Equal(net.IPv4(127, 0, 0, 1)) && int(f.Forward.DstPort) == port {
			out = append(out, f)
		}
	}
	return out
}

// A client that sent to a UDP host port before it was published has a
// conntrack entry to the host itself; publishing the port deletes it, so
// the client's next packet (same source port) reaches the container, as
// with Docker. Only loopback and the test's namespace see traffic.
func TestRootUDPPortFlushesConntrack(t *testing.T) {
	e := newRootEnv(t)
	n := e.network(network.Config{})

	probe, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := probe.LocalAddr().(*net.UDPAddr).Port
	probe.Close() // a free port, for the container

	client, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	t.Cleanup(func() {
		// The flows of the test's port are gone with the mapping (the
		// DEL flushes them); anything left is removed and reported.
		left := udpFlows(t, port)
		f := &netlink.ConntrackFilter{}
		_ = f.AddProtocol(unix.IPPROTO_UDP)
		_ = f.AddPort(netlink.ConntrackOrigDstPort, uint16(port))
		_ = f.AddIP(netlink.ConntrackOrigDstIP, net.IPv4(127, 0, 0, 1))
		_, _ = netlink.ConntrackDeleteFilters(netlink.ConntrackTable, unix.AF_INET, f)
		// The portmap binary (BERTH_CNI_EXEC=1) flushes on ADD only.
		if len(left) > 0 && os.Getenv("BERTH_CNI_EXEC") != "1" {
			t.Errorf("conntrack entries of 127.0.0.1:%d left after detach: %v", port, left)
		}
	})
	if _, err := client.WriteToUDP([]byte("before\n"), to); err != nil {
		t.Fatal(err)
	}
	if len(udpFlows(t, port)) == 0 {
		t.Fatalf("no conntrack entry for 127.0.0.1:%d after sending: conntrack does not track loopback here", port)
	}

	nsPath, res, err := e.container(cni.AttachRequest{Networks: []runtime.NetworkAttachment{{Network: n.Name}},
		Ports: []runtime.PortBinding{{HostPort: uint16(port), ContainerPort: 5353, Protocol: "udp"}}})
	if err != nil {
		t.Fatal(err)
	}
	var server *net.UDPConn
	if err := netns.Do(nsPath, func() (err error) {
		server, err = net.ListenUDP("udp4", &net.UDPAddr{Port: 5353})
		return err
	}); err != nil {
		t.Fatalf("listen in netns: %v", err)
	}
	defer server.Close()
	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 64)
		if n, _, err := server.ReadFromUDP(buf); err == nil {
			got <- string(buf[:n])
		}
	}()
	for deadline := time.Now().Add(3 * time.Second); ; {
		if _, err := client.WriteToUDP([]byte("after\n"), to); err != nil {
			t.Fatal(err)
		}
		select {
		case s := <-got:
			if s != "after\n" {
				t.Errorf("container got %q", s)
			}
		case <-time.After(200 * time.Millisecond):
			if time.Now().Before(deadline) {
				continue
			}
			t.Fatalf("the container never got the client's packets: stale conntrack entry (flows: %v)", udpFlows(t, port))
		}
		break
	}
	// The client's entry now points at the container; the detach (in
	// cleanup) removes it.
	ip := ipv4(t, res)
	found := false
	for _, f := range udpFlows(t, port) {
		found = found || f.Reverse.SrcIP.Equal(ip.AsSlice())
	}
	if !found {
		t.Errorf("no conntrack entry to the container %v: %v", ip, udpFlows(t, port))
	}
}
