package cni

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	gonet "net"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
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
	rules := Rules(net, h.Scope)
	for _, v6 := range []bool{false, true} {
		fam := slices.DeleteFunc(slices.Clone(rules), func(r Rule) bool { return r.IPv6 != v6 })
		if len(fam) == 0 {
			continue
		}
		ipt, err := iptablesFor(v6)
		if err != nil {
			return err
		}
		if err := setRules(ipt, v6, ruleTag(h.Scope, net.ID), fam); err != nil {
			return err
		}
	}
	return nil
}

// setRules puts a network's rules of one address family in berth's chains
// in one iptables-restore transaction, replacing those of it already there
// (a Setup again after a crash), so none is doubled. It lists each chain
// once, and makes it and its jumps when missing or checks the jumps: about
// five execs for a network, where a check and an append per rule took
// thirteen.
func setRules(ipt *iptables.IPTables, v6 bool, tag string, rules []Rule) error {
	byTable := map[string][]string{}
	done := map[string]bool{}
	for _, r := range rules {
		if done[r.Table+"/"+r.Chain] {
			continue
		}
		done[r.Table+"/"+r.Chain] = true
		lines, err := listChain(ipt, r.Table, r.Chain)
		if err != nil {
			return fmt.Errorf("iptables: %w", err)
		}
		if len(lines) == 0 {
			err = ensureChain(ipt, r.Table, r.Chain)
		} else {
			err = ensureJumps(ipt, r.Table, r.Chain)
		}
		if err != nil {
			return err
		}
		for _, l := range taggedRules(lines, tag) {
			byTable[r.Table] = append(byTable[r.Table], "-D"+strings.TrimPrefix(l, "-A"))
		}
	}
	for _, r := range rules {
		byTable[r.Table] = append(byTable[r.Table], "-A "+r.Chain+" "+strings.Join(r.Spec, " "))
	}
	if err := iptablesRestore(v6, tablesInput(byTable)); err != nil {
		return fmt.Errorf("network rules: %w", err)
	}
	return nil
}

// tablesInput is an iptables-restore transaction over several tables. It
// is pure.
func tablesInput(byTable map[string][]string) string {
	var b strings.Builder
	for _, t := range slices.Sorted(maps.Keys(byTable)) {
		b.WriteString("*" + t + "\n")
		for _, l := range byTable[t] {
			b.WriteString(l + "\n")
		}
		b.WriteString("COMMIT\n")
	}
	return b.String()
}

// Present reports whether net's bridge exists (for other drivers: true).
// A reboot removes bridges and rules but not records; a network found
// without its bridge is set up again at its next use.
func (LinuxHost) Present(net Record) bool {
	if driver(net.Config) != "bridge" || net.Bridge == "" {
		return true
	}
	_, err := netlink.LinkByName(net.Bridge)
	return err == nil
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

// Teardown deletes the network's rules and its bridge: the rules in one
// iptables-restore per family, or if that fails (some are gone) one delete
// each, a missing rule or chain being no error.
func (h LinuxHost) Teardown(ctx context.Context, net Record) error {
	var errs []error
	rules := Rules(net, h.Scope)
	for _, v6 := range []bool{false, true} {
		byTable := map[string][]string{}
		for _, r := range rules {
			if r.IPv6 == v6 {
				byTable[r.Table] = append(byTable[r.Table], "-D "+r.Chain+" "+strings.Join(r.Spec, " "))
			}
		}
		if len(byTable) == 0 || iptablesRestore(v6, tablesInput(byTable)) == nil {
			continue
		}
		ipt, err := iptablesFor(v6)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, r := range rules {
			if r.IPv6 != v6 {
				continue
			}
			if err := ipt.Delete(r.Table, r.Chain, r.Spec...); err != nil && !missing(err) {
				errs = append(errs, fmt.Errorf("iptables: %w", err))
			}
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
// It lists each of berth's two chains once per family (a missing chain
// lists as empty), IPv6 only where ip6tables is installed.
func (h LinuxHost) Prune(ctx context.Context, live []Record) error {
	keep := map[string]bool{}
	for _, r := range live {
		keep[ruleTag(h.Scope, r.ID)] = true
	}
	var errs []error
	for _, v6 := range []bool{false, true} {
		ipt, err := iptablesFor(v6)
		if err != nil {
			continue // no ip6tables: nothing of ours there either
		}
		for _, tc := range [][2]string{{"filter", chainForward}, {"nat", chainMasq}} {
			rules, err := listChain(ipt, tc[0], tc[1])
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for _, spec := range staleRules(rules, h.Scope, keep) {
				if err := ipt.Delete(tc[0], tc[1], spec...); err != nil && !missing(err) {
					errs = append(errs, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// staleRules picks, from `iptables -S CHAIN` lines, the rule specs (without
// "-A CHAIN") tagged for scope with a tag not in keep. It is pure.
func staleRules(lines []string, scope string, keep map[string]bool) [][]string {
	var out [][]string
	for _, rule := range lines {
		m := tagRE.FindStringSubmatch(rule)
		if m == nil || m[2] != scope || keep[m[1]] {
			continue
		}
		spec := strings.Fields(strings.ReplaceAll(rule, `"`, ""))
		if len(spec) < 2 || spec[0] != "-A" {
			continue
		}
		out = append(out, spec[2:])
	}
	return out
}

// listChain is `iptables -t table -S chain`; a chain that does not exist
// lists as nothing, so no separate existence check is needed. Exit status
// 1 is "no such chain" (iptables-nft 1.8.9 words it "chain ... is
// incompatible, use 'nft' tool"), as go-iptables' ChainExists reads it.
func listChain(ipt *iptables.IPTables, table, chain string) ([]string, error) {
	rules, err := ipt.List(table, chain)
	var e *iptables.Error
	if err != nil && (missing(err) || errors.As(err, &e) && e.ExitStatus() == 1) {
		return nil, nil
	}
	return rules, err
}

// missing reports an iptables error that says the rule or chain is not
// there (exit status 1 with "does not exist" or "No chain").
func missing(err error) bool {
	var e *iptables.Error
	if errors.As(err, &e) && e.IsNotExist() {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "does not exist") || strings.Contains(msg, "No chain/target/match") ||
		strings.Contains(msg, "Couldn't load target") || strings.Contains(msg, "doesn't exist")
}

// iptablesFor returns the process's handle for IPv4 or IPv6. Making one
// execs `iptables --version`, so it is done once per process and protocol;
// the handle holds no other state.
func iptablesFor(v6 bool) (*iptables.IPTables, error) {
	if v6 {
		return ipt6()
	}
	return ipt4()
}

var (
	ipt4 = sync.OnceValues(func() (*iptables.IPTables, error) { return newIPT(iptables.ProtocolIPv4) })
	ipt6 = sync.OnceValues(func() (*iptables.IPTables, error) { return newIPT(iptables.ProtocolIPv6) })
)

func newIPT(proto iptables.Protocol) (*iptables.IPTables, error) {
	ipt, err := iptables.NewWithProtocol(proto)
	if err != nil {
		return nil, fmt.Errorf("iptables (install the iptables package): %w", err)
	}
	return ipt, nil
}

// ensureChain makes one of berth's chains (berthChains) and the jumps to
// it at the top of the built-in chains. They are shared by every network
// of every root; the last network's removal takes them away (PruneChains).
// Making a chain that exists fails, which is the check: one exec, not two.
func ensureChain(ipt *iptables.IPTables, table, chain string) error {
	i := slices.IndexFunc(berthChains, func(c berthChain) bool { return c.table == table && c.chain == chain })
	if i < 0 {
		return fmt.Errorf("iptables: %s is not one of berth's chains", chain)
	}
	if err := ipt.NewChain(table, chain); err != nil {
		if ok, _ := ipt.ChainExists(table, chain); !ok {
			return fmt.Errorf("iptables: %w", err)
		}
	}
	return ensureJumps(ipt, table, chain)
}

// ensureJumps inserts the jumps to one of berth's chains that are missing
// (a firewall reload may have flushed the built-in chains).
func ensureJumps(ipt *iptables.IPTables, table, chain string) error {
	i := slices.IndexFunc(berthChains, func(c berthChain) bool { return c.table == table && c.chain == chain })
	if i < 0 {
		return fmt.Errorf("iptables: %s is not one of berth's chains", chain)
	}
	for _, j := range berthChains[i].jumps {
		spec := append(slices.Clone(j[1:]), "-j", chain)
		jump, err := ipt.Exists(table, j[0], spec...)
		if err != nil {
			return fmt.Errorf("iptables: %w", err)
		}
		if !jump {
			if err := ipt.Insert(table, j[0], 1, spec...); err != nil {
				return fmt.Errorf("iptables: %w", err)
			}
		}
	}
	return nil
}

// PruneChains removes berth's chains and the jumps to them when no rule is
// left in them (no network of any berth root), so a host that had networks
// is left as it was found. The caller holds the host-wide lock, which
// Create holds while it sets up a network, so no rule is added meanwhile.
func (h LinuxHost) PruneChains(ctx context.Context) error {
	return h.pruneChains(ctx, []bool{false, true})
}

// PruneChainsOf is PruneChains for the address families net had rules in:
// removing an IPv4-only network cannot have emptied the IPv6 chains.
func (h LinuxHost) PruneChainsOf(ctx context.Context, net Record) error {
	var fams []bool
	for _, f := range families(net) {
		fams = append(fams, f == 6)
	}
	return h.pruneChains(ctx, fams)
}

func (LinuxHost) pruneChains(ctx context.Context, fams []bool) error {
	var errs []error
	for _, v6 := range fams {
		ipt, err := iptablesFor(v6)
		if err != nil {
			continue // no ip6tables: no chains of ours there either
		}
		for _, c := range berthChains {
			rules, err := listChain(ipt, c.table, c.chain)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if len(rules) != 1 { // absent, or rules besides the chain's own "-N"
				continue
			}
			for _, j := range c.jumps {
				spec := append(slices.Clone(j[1:]), "-j", c.chain)
				if err := ipt.Delete(c.table, j[0], spec...); err != nil && !missing(err) {
					errs = append(errs, fmt.Errorf("iptables: %w", err))
				}
			}
			if err := ipt.DeleteChain(c.table, c.chain); err != nil && !missing(err) {
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
