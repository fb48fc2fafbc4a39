package cni

import (
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func TestStaleUDP(t *testing.T) {
	host := netip.MustParseAddr("192.0.2.10")
	local := func(a netip.Addr) bool { return a.IsLoopback() || a == host }
	flow := func(proto uint8, dst string, port uint16) *netlink.ConntrackFlow {
		return &netlink.ConntrackFlow{Forward: netlink.IPTuple{Protocol: proto, SrcIP: net.ParseIP("127.0.0.1"), DstIP: net.ParseIP(dst), DstPort: port}}
	}
	anyLocal := staleUDP{ports: []portMapping{{HostPort: 5353, Protocol: "udp"}}, local: local}
	bound := staleUDP{ports: []portMapping{{HostPort: 5353, Protocol: "udp", HostIP: "127.0.0.1"}}, local: local}
	zero := staleUDP{ports: []portMapping{{HostPort: 5353, Protocol: "udp", HostIP: "0.0.0.0"}}, local: local}
	tests := []struct {
		name   string
		filter staleUDP
		flow   *netlink.ConntrackFlow
		want   bool
	}{
		{"to localhost", anyLocal, flow(unix.IPPROTO_UDP, "127.0.0.1", 5353), true},
		{"to 127.0.0.2", anyLocal, flow(unix.IPPROTO_UDP, "127.0.0.2", 5353), true},
		{"to a host address", anyLocal, flow(unix.IPPROTO_UDP, "192.0.2.10", 5353), true},
		{"to ::1", anyLocal, flow(unix.IPPROTO_UDP, "::1", 5353), true},
		{"to another machine", anyLocal, flow(unix.IPPROTO_UDP, "198.51.100.1", 5353), false},
		{"another port", anyLocal, flow(unix.IPPROTO_UDP, "127.0.0.1", 5354), false},
		{"tcp", anyLocal, flow(unix.IPPROTO_TCP, "127.0.0.1", 5353), false},
		{"bound address", bound, flow(unix.IPPROTO_UDP, "127.0.0.1", 5353), true},
		{"not the bound address", bound, flow(unix.IPPROTO_UDP, "192.0.2.10", 5353), false},
		{"0.0.0.0 is any local", zero, flow(unix.IPPROTO_UDP, "192.0.2.10", 5353), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.filter.MatchConntrackFlow(tc.flow); got != tc.want {
				t.Errorf("MatchConntrackFlow(%v) = %v, want %v", tc.flow, got, tc.want)
			}
		})
	}
}

func TestUDPPorts(t *testing.T) {
	got := udpPorts([]portMapping{{HostPort: 80, Protocol: "tcp"}, {HostPort: 53, Protocol: "UDP"}, {HostPort: 0, Protocol: "udp"}, {HostPort: 54, Protocol: "udp"}})
	want := []portMapping{{HostPort: 53, Protocol: "UDP"}, {HostPort: 54, Protocol: "udp"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("udpPorts (-want +got):\n%s", diff)
	}
	// Nothing to do without a UDP port: no netlink at all.
	if n, err := flushStaleUDP([]portMapping{{HostPort: 80, Protocol: "tcp"}}, true, true); n != 0 || err != nil {
		t.Errorf("flushStaleUDP of tcp = %d, %v", n, err)
	}
}
