package cni

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// staleUDP is a conntrack filter for the entries that would keep UDP
// packets to a published host port from the port's current rules.
//
// The nat table is consulted only for a flow's first packet: a client that
// sent to the host port before the port was published has an entry to the
// host itself, and as long as it keeps sending (UDP entries live 30 s after
// the last packet, 120 s once replied) its packets keep following that
// entry and never reach the container; after a container is gone, entries
// still point at its address. Docker and the portmap plugin delete the
// entries of the port when a mapping is added or removed; so does berth.
//
// Only entries addressed to the host itself match (what BERTH-DNAT is
// jumped to for: -m addrtype --dst-type LOCAL), or to the binding's host
// address when it has one: an entry of the same port number on another
// machine (the host's, or a masqueraded container's, DNS query to a
// server's port 53) is not the port's and is left alone.
type staleUDP struct {
	ports []portMapping // UDP only
	local func(netip.Addr) bool
}

func (f staleUDP) MatchConntrackFlow(flow *netlink.ConntrackFlow) bool {
	if flow.Forward.Protocol != unix.IPPROTO_UDP {
		return false
	}
	dst, ok := netip.AddrFromSlice(flow.Forward.DstIP)
	if !ok {
		return false
	}
	dst = dst.Unmap()
	for _, p := range f.ports {
		if int(flow.Forward.DstPort) != p.HostPort {
			continue
		}
		if hip, err := netip.ParseAddr(p.HostIP); err == nil && !hip.IsUnspecified() {
			if hip.Unmap() == dst {
				return true
			}
			continue
		}
		if f.local(dst) {
			return true
		}
	}
	return false
}

// udpPorts are the UDP ones of ports.
func udpPorts(ports []portMapping) []portMapping {
	var out []portMapping
	for _, p := range ports {
		if strings.EqualFold(p.Protocol, "udp") && p.HostPort > 0 {
			out = append(out, p)
		}
	}
	return out
}

// flushStaleUDP deletes the conntrack entries of the UDP ports among ports
// (staleUDP) in the address families asked, after their rules were added
// or deleted, and returns how many it deleted. It does nothing (and costs
// nothing) without a UDP port. A kernel without conntrack, or without its
// netlink interface (nf_conntrack_netlink), has nothing berth could flush:
// that is no error.
func flushStaleUDP(ports []portMapping, v4, v6 bool) (uint, error) {
	udp := udpPorts(ports)
	if len(udp) == 0 || !v4 && !v6 {
		return 0, nil
	}
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return 0, fmt.Errorf("conntrack: host addresses: %w", err)
	}
	own := map[netip.Addr]bool{}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			own[ip.Unmap()] = true
		}
	}
	filter := staleUDP{ports: udp, local: func(a netip.Addr) bool { return a.IsLoopback() || own[a] }}
	var total uint
	var errs []error
	for _, fam := range []struct {
		on  bool
		fam netlink.InetFamily
	}{{v4, unix.AF_INET}, {v6, unix.AF_INET6}} {
		if !fam.on {
			continue
		}
		n, err := netlink.ConntrackDeleteFilters(netlink.ConntrackTable, fam.fam, filter)
		total += n
		if noConntrack(err) {
			return total, nil
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return total, fmt.Errorf("conntrack: flush udp ports: %w", err)
	}
	return total, nil
}

// noConntrack tells the errors of a kernel without conntrack's netlink
// interface.
func noConntrack(err error) bool {
	return errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOENT)
}
