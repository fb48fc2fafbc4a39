// Package dns is berth's embedded name server for user networks, like
// Docker's embedded DNS or Podman's aardvark-dns: one small process,
// started on demand (package dnsctl), that answers on each user network's gateway
// address with the container names, network aliases and short IDs of the
// containers on that network, forwards every other name to the host's
// resolvers, reloads within a second of any attach or detach, and exits
// when no network has containers left.
//
// Its records are network/cni's own: network records and attachment
// records, read again whenever their directories change. It keeps no state
// of its own besides a lock (one server per run root) and a ready stamp.
// It must not change networks or attachments.
package dns

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/berth-dev/berth/network/cni"
)

// Zone is what one network's server answers.
type Zone struct {
	Network  string
	Gateways []netip.Addr
	// Names maps a lower-case fully qualified name ("web.") to the
	// addresses of every container with that name or alias, sorted.
	Names map[string][]netip.Addr
	// Containers counts the containers attached.
	Containers int
	// Internal networks get no forwarding: other names are NXDOMAIN, so
	// nothing about them leaves the host (as in Docker).
	Internal bool
}

// Table has a Zone per network with name resolution, by network name.
type Table map[string]*Zone

// Build makes the table from the network and attachment records. It is
// pure. A container is found by its name, its aliases on that network, and
// its ID's first 12 characters; several containers with one alias (the
// replicas of a service) all answer.
func Build(nets []cni.Record, atts []cni.Attachment) Table {
	t := Table{}
	for _, n := range nets {
		if !cni.HasDNS(n) {
			continue
		}
		z := &Zone{Network: n.Name, Names: map[string][]netip.Addr{}, Internal: n.Config.Internal}
		for _, s := range n.Config.Subnets {
			if a, err := netip.ParseAddr(s.Gateway); err == nil {
				z.Gateways = append(z.Gateways, a)
			}
		}
		t[n.Name] = z
	}
	for _, a := range atts {
		for _, ep := range a.Endpoints {
			z := t[ep.Network]
			if z == nil {
				continue
			}
			z.Containers++
			names := append([]string{strings.TrimPrefix(a.Name, "/")}, ep.Aliases...)
			if len(a.ContainerID) >= 12 {
				names = append(names, a.ContainerID[:12])
			}
			for _, name := range names {
				if name == "" {
					continue
				}
				key := fqdn(name)
				for _, ip := range ep.IPs {
					if !slices.Contains(z.Names[key], ip.Addr()) {
						z.Names[key] = append(z.Names[key], ip.Addr())
					}
				}
			}
		}
	}
	for _, z := range t {
		for _, ips := range z.Names {
			slices.SortFunc(ips, func(a, b netip.Addr) int { return a.Compare(b) })
		}
	}
	return t
}

// fqdn lower-cases a name and ends it with a dot, DNS's canonical form.
func fqdn(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

// Needed reports whether any network of t has containers.
func (t Table) Needed() bool {
	for _, z := range t {
		if z.Containers > 0 {
			return true
		}
	}
	return false
}

// Peers maps each address of an attached container to the networks that
// container is on, in its interfaces' order. A query is answered from
// every network of the container that asks (as Docker's embedded DNS
// does), not only from the one it arrived on: a container on a front and
// a back network asks the front network's server for a back-end name.
// It is pure.
func Peers(atts []cni.Attachment) map[netip.Addr][]string {
	out := map[netip.Addr][]string{}
	for _, a := range atts {
		var nets []string
		for _, ep := range a.Endpoints {
			nets = append(nets, ep.Network)
		}
		for _, ep := range a.Endpoints {
			for _, ip := range ep.IPs {
				out[ip.Addr()] = nets
			}
		}
	}
	return out
}

// Lookup answers req for a container that asked on network arrived from
// address from: from the zone of that network first, then from the zones
// of the container's other networks. ok is false when no zone knows the
// name; internal then says whether the question must not be forwarded
// (it arrived on an internal network).
func (t Table) Lookup(peers map[netip.Addr][]string, arrived string, from netip.Addr, req *dns.Msg) (resp *dns.Msg, ok, internal bool) {
	z := t[arrived]
	if z == nil {
		return nil, false, false
	}
	if resp, ok := Answer(z, req); ok {
		return resp, true, z.Internal
	}
	for _, n := range peers[from.Unmap()] {
		if o := t[n]; o != nil && n != arrived {
			if resp, ok := Answer(o, req); ok {
				return resp, true, z.Internal
			}
		}
	}
	return nil, false, z.Internal
}
