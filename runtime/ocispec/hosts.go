package ocispec

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Hosts is what a container's /etc/hosts says.
type Hosts struct {
	Hostname   string
	Domainname string
	// ExtraHosts are --add-host values: "NAME:IP" or "NAME=IP", the IP
	// optionally in brackets ("[::1]"), or "host-gateway" for HostGateway.
	ExtraHosts  []string
	HostGateway netip.Addr
	// IPs are the container's own addresses, each listed with its name.
	IPs []netip.Addr
	// NoIPv6 leaves out the IPv6 entries, for a container without IPv6.
	NoIPv6 bool
}

// hostsDefaults are Docker's fixed entries (libnetwork/etchosts).
var (
	hostsIPv4 = []hostsRecord{{netip.MustParseAddr("127.0.0.1"), "localhost"}}
	hostsIPv6 = []hostsRecord{
		{netip.IPv6Loopback(), "localhost ip6-localhost ip6-loopback"},
		{netip.MustParseAddr("fe00::"), "ip6-localnet"},
		{netip.MustParseAddr("ff00::"), "ip6-mcastprefix"},
		{netip.MustParseAddr("ff02::1"), "ip6-allnodes"},
		{netip.MustParseAddr("ff02::2"), "ip6-allrouters"},
	}
)

type hostsRecord struct {
	ip    netip.Addr
	hosts string
}

// HostsFile is the content of a container's /etc/hosts in Docker's layout:
// localhost, the IPv6 entries, the extra hosts, then each of the
// container's addresses with its FQDN and short name, one "IP\tNAMES" per
// line. (With the host network and no extra hosts Docker copies the host's
// file instead; that is the caller's to do.) A malformed extra host is
// errdefs.ErrInvalidArgument.
func HostsFile(h Hosts) ([]byte, error) {
	var recs []hostsRecord
	for _, e := range h.ExtraHosts {
		name, ip, err := ParseExtraHost(e, h.HostGateway)
		if err != nil {
			return nil, err
		}
		recs = append(recs, hostsRecord{ip, name})
	}
	if len(h.IPs) > 0 {
		names := h.Hostname
		if h.Domainname != "" {
			names += "." + h.Domainname
		}
		if short, _, ok := strings.Cut(names, "."); ok {
			names += " " + short
		}
		for _, ip := range h.IPs {
			recs = append(recs, hostsRecord{ip, names})
		}
	}
	var buf bytes.Buffer
	for _, r := range slices.Concat(hostsIPv4, hostsIPv6, recs) {
		if h.NoIPv6 && r.ip.Is6() && !r.ip.Is4In6() {
			continue
		}
		fmt.Fprintf(&buf, "%s\t%s\n", r.ip, r.hosts)
	}
	return buf.Bytes(), nil
}

// ParseExtraHost parses an --add-host value, "NAME:IP" or "NAME=IP", the IP
// optionally bracketed; "host-gateway" stands for gateway.
func ParseExtraHost(s string, gateway netip.Addr) (name string, ip netip.Addr, err error) {
	sep := ":"
	if strings.Contains(s, "=") {
		sep = "="
	}
	name, addr, ok := strings.Cut(s, sep)
	if !ok || name == "" || strings.ContainsAny(name, " \t\n") {
		return "", netip.Addr{}, invalid("invalid extra host %q: want NAME:IP", s)
	}
	if addr == "host-gateway" {
		if !gateway.IsValid() {
			return "", netip.Addr{}, invalid("invalid extra host %q: no host gateway address is known", s)
		}
		return name, gateway, nil
	}
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	ip, err = netip.ParseAddr(addr)
	if err != nil {
		return "", netip.Addr{}, invalid("invalid extra host %q: %q is not an IP address", s, addr)
	}
	return name, ip, nil
}
