package cni

import (
	"encoding/binary"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/network/netns"
)

// announce sends a gratuitous ARP for each IPv4 address of itf from inside
// the namespace, so that neighbours on the network forget a MAC address
// they learnt for that address from an earlier container (host-local hands
// released addresses out again); without it they would keep sending to the
// dead MAC until their entry goes stale, tens of seconds. Docker's bridge
// driver does the same. Best effort: a failure costs only that delay.
func announce(netnsPath string, itf Interface) {
	mac, err := net.ParseMAC(itf.MAC)
	if err != nil || len(mac) != 6 || netnsPath == "" {
		return
	}
	var ips []netip.Addr
	for _, p := range itf.IPs {
		if p.Addr().Is4() {
			ips = append(ips, p.Addr())
		}
	}
	if len(ips) == 0 {
		return
	}
	_ = netns.Do(netnsPath, func() error {
		ifc, err := net.InterfaceByName(itf.IfName)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ARP)))
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		to := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: ifc.Index, Halen: 6}
		copy(to.Addr[:], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		for _, ip := range ips {
			_ = unix.Sendto(fd, garp(mac, ip), 0, to)
		}
		return nil
	})
}

// garp is a gratuitous ARP request: sender and target address both ip,
// broadcast. It is pure.
func garp(mac net.HardwareAddr, ip netip.Addr) []byte {
	b := make([]byte, 42)
	copy(b[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(b[6:12], mac)
	binary.BigEndian.PutUint16(b[12:], unix.ETH_P_ARP)
	binary.BigEndian.PutUint16(b[14:], 1)      // hardware: Ethernet
	binary.BigEndian.PutUint16(b[16:], 0x0800) // protocol: IPv4
	b[18], b[19] = 6, 4
	binary.BigEndian.PutUint16(b[20:], 1) // request
	a := ip.As4()
	copy(b[22:28], mac)
	copy(b[28:32], a[:])
	copy(b[38:42], a[:]) // target MAC stays zero
	return b
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
