package cni

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	gonet "net"
	"net/netip"
	"regexp"
	"strings"
	"syscall"

	"github.com/containerd/errdefs"
	"github.com/coreos/go-iptables/iptables"
	"github.com/vishvananda/netlink"
)

// LinuxHost is the real Host: netlink for routes and bridges, iptables (the
// iptables binary, nf_tables or legacy, through coreos/go-iptables) for the
// per-network rules. It keeps no state.
type LinuxHost struct {
	// Scope tags the rules of one state root (see Scope); Prune touches
	// only rules of its own scope.
	Scope string
}

// Routes returns the destinations of every IPv4 and IPv6 route of the main
// table except default routes.
func (LinuxHost) Routes() ([]netip.Prefix, error) {
	rs, err := netlink.RouteList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, r := range rs {
		if r.Dst == nil {
			continue
		}
		addr, ok := netip.AddrFromSlice(r.Dst.IP)
		if !ok {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		if ones == 0 {
			continue
		}
		out = append(out, netip.PrefixFrom(addr.Unmap(), ones).Masked())
	}
	return out, nil
}

// Setup makes the bridge with its gateway addresses and installs the
// network's rules; for macvlan and ipvlan it checks the parent interface.
func (h LinuxHost) Setup(ctx context.Context, net Record) error {
	if driver(net.Config) != "bridge" {
		parent := net.Config.Options[OptParent]
		if _, err := netlink.LinkByName(parent); err != nil {
			return fmt.Errorf("parent interface %q: %v: %w", parent, err, errdefs.ErrFailedPrecondition)
		}
		return nil
	}
	if err := setupBridge(net); err != nil {
		return fmt.Errorf("bridge %s: %w", net.Bridge, err)
	}
	for _, r := range Rules(net, h.Scope) {
		ipt, err := newIPT(r.IPv6)
		if err != nil {
			return err
		}
		if err := ensureChain(ipt, r.Table, r.Chain); err != nil {
			return err
		}
		if err := ipt.AppendUnique(r.Table, r.Chain, r.Spec...); err != nil {
			return fmt.Errorf("iptables: %w", err)
		}
	}
	return nil
}

// setupBridge creates the bridge up front, not at the first container's
// ADD, so its route claims the subnet at once (the next pool allocation,
// by any berth, sees it) and the gateway address exists for DNS.
func setupBridge(net Record) error {
	link, err := netlink.LinkByName(net.Bridge)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) {
			return err
		}
		attrs := netlink.NewLinkAttrs()
		attrs.Name = net.Bridge
		// A MAC of its own: a bridge without one takes the lowest of its
		// ports', so it would change as containers come and go and every
		// container's ARP entry for the gateway (its DNS server) would go
		// stale for seconds.
		attrs.HardwareAddr = bridgeMAC(net.ID)
		br := &netlink.Bridge{LinkAttrs: attrs}
		if err := netlink.LinkAdd(br); err != nil && !errors.Is(err, syscall.EEXIST) {
			return err
		}
		if link, err = netlink.LinkByName(net.Bridge); err != nil {
			return err
		}
	}
	if _, ok := link.(*netlink.Bridge); !ok {
		return fmt.Errorf("%s exists and is not a bridge: %w", net.Bridge, errdefs.ErrConflict)
	}
	for _, s := range net.Config.Subnets {
		if s.Gateway == "" {
			continue
		}
		p := netip.MustParsePrefix(s.Subnet)
		gw := netip.MustParseAddr(s.Gateway)
		addr := &netlink.Addr{IPNet: &gonet.IPNet{IP: gw.AsSlice(), Mask: maskOf(p)}}
		if err := netlink.AddrAdd(link, addr); err != nil && !errors.Is(err, syscall.EEXIST) {
			return fmt.Errorf("add address %s: %w", gw, err)
		}
	}
	return netlink.LinkSetUp(link)
}

func maskOf(p netip.Prefix) gonet.IPMask {
	return gonet.CIDRMask(p.Bits(), p.Addr().BitLen())
}

// Teardown deletes the network's rules and its bridge.
func (h LinuxHost) Teardown(ctx context.Context, net Record) error {
	var errs []error
	for _, r := range Rules(net, h.Scope) {
		ipt, err := newIPT(r.IPv6)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok, _ := ipt.ChainExists(r.Table, r.Chain); !ok {
			continue
		}
		if err := ipt.DeleteIfExists(r.Table, r.Chain, r.Spec...); err != nil {
			errs = append(errs, fmt.Errorf("iptables: %w", err))
		}
	}
	if net.Bridge != "" {
		if link, err := netlink.LinkByName(net.Bridge); err == nil {
			if _, ok := link.(*netlink.Bridge); ok {
				if err := netlink.LinkDel(link); err != nil {
					errs = append(errs, fmt.Errorf("delete bridge %s: %w", net.Bridge, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

var tagRE = regexp.MustCompile(`--comment "?(berth:([0-9a-f]+):[0-9a-f]+)"?`)

// Prune deletes rules in berth's chains whose tag names no live network:
// what a crash between Create's rules and its record, or in Remove, left.
func (h LinuxHost) Prune(ctx context.Context, live []Record) error {
	keep := map[string]bool{}
	for _, r := range live {
		keep[ruleTag(h.Scope, r.ID)] = true
	}
	var errs []error
	for _, v6 := range []bool{false, true} {
		ipt, err := newIPT(v6)
		if err != nil {
			continue // no ip6tables: nothing of ours there either
		}
		for _, tc := range [][2]string{{"filter", chainForward}, {"nat", chainMasq}} {
			if ok, _ := ipt.ChainExists(tc[0], tc[1]); !ok {
				continue
			}
			rules, err := ipt.List(tc[0], tc[1])
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for _, rule := range rules {
				m := tagRE.FindStringSubmatch(rule)
				if m == nil || m[2] != h.Scope || keep[m[1]] {
					continue
				}
				spec := strings.Fields(strings.ReplaceAll(rule, `"`, ""))
				if len(spec) < 2 || spec[0] != "-A" {
					continue
				}
				if err := ipt.Delete(tc[0], tc[1], spec[2:]...); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

func newIPT(v6 bool) (*iptables.IPTables, error) {
	proto := iptables.ProtocolIPv4
	if v6 {
		proto = iptables.ProtocolIPv6
	}
	ipt, err := iptables.NewWithProtocol(proto)
	if err != nil {
		return nil, fmt.Errorf("iptables (install the iptables package): %w", err)
	}
	return ipt, nil
}

// ensureChain makes berth's chain and the jump to it from the top of the
// built-in chain. They are shared by every network of every root; the
// last network's removal takes them away (PruneChains).
func ensureChain(ipt *iptables.IPTables, table, chain string) error {
	builtin := "FORWARD"
	if table == "nat" {
		builtin = "POSTROUTING"
	}
	ok, err := ipt.ChainExists(table, chain)
	if err != nil {
		return fmt.Errorf("iptables: %w", err)
	}
	if !ok {
		if err := ipt.NewChain(table, chain); err != nil {
			if ok2, _ := ipt.ChainExists(table, chain); !ok2 {
				return fmt.Errorf("iptables: %w", err)
			}
		}
	}
	jump, err := ipt.Exists(table, builtin, "-j", chain)
	if err != nil {
		return fmt.Errorf("iptables: %w", err)
	}
	if !jump {
		if err := ipt.Insert(table, builtin, 1, "-j", chain); err != nil {
			return fmt.Errorf("iptables: %w", err)
		}
	}
	return nil
}

// PruneChains removes berth's chains and the jumps to them when no rule is
// left in them (no network of any berth root), so a host that had networks
// is left as it was found. The caller holds the host-wide lock, which
// Create holds while it sets up a network, so no rule is added meanwhile.
func (LinuxHost) PruneChains(ctx context.Context) error {
	var errs []error
	for _, v6 := range []bool{false, true} {
		ipt, err := newIPT(v6)
		if err != nil {
			continue // no ip6tables: no chains of ours there either
		}
		for _, tc := range [][2]string{{"filter", chainForward}, {"nat", chainMasq}} {
			table, chain := tc[0], tc[1]
			if ok, _ := ipt.ChainExists(table, chain); !ok {
				continue
			}
			rules, err := ipt.List(table, chain)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if len(rules) > 1 { // the first line is the chain's own "-N"
				continue
			}
			builtin := "FORWARD"
			if table == "nat" {
				builtin = "POSTROUTING"
			}
			if err := ipt.DeleteIfExists(table, builtin, "-j", chain); err != nil {
				errs = append(errs, fmt.Errorf("iptables: %w", err))
				continue
			}
			if err := ipt.DeleteChain(table, chain); err != nil {
				errs = append(errs, fmt.Errorf("iptables: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

// bridgeMAC is a locally administered unicast MAC derived from the network
// ID, stable for the network's life.
func bridgeMAC(id string) gonet.HardwareAddr {
	mac := gonet.HardwareAddr{0x02, 0x42, 0, 0, 0, 0}
	if b, err := hex.DecodeString(id[:min(8, len(id))]); err == nil {
		copy(mac[2:], b)
	}
	return mac
}
