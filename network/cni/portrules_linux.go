package cni

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strings"

	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/utils/sysctl"
	"github.com/vishvananda/netlink"

	"github.com/berth-dev/berth/internal/flock"
)

// portmapNet is the part of a portmap configuration run in-process.
type portmapNet struct {
	CNIVersion    string `json:"cniVersion"`
	SNAT          *bool  `json:"snat"`
	RuntimeConfig struct {
		PortMaps []portMapping `json:"portMappings"`
	} `json:"runtimeConfig"`
	PrevResult json.RawMessage `json:"prevResult"`
}

// inProcessPortmap decodes a portmap configuration that berth's own port
// rules replace: berth's (snat on, port mappings, nothing else). It is pure.
func inProcessPortmap(stdin []byte) (portmapNet, bool) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(stdin, &fields); err != nil {
		return portmapNet{}, false
	}
	for k := range fields {
		if !slices.Contains([]string{"cniVersion", "name", "type", "capabilities", "snat", "runtimeConfig", "prevResult"}, k) {
			return portmapNet{}, false
		}
	}
	var rc map[string]json.RawMessage
	if err := json.Unmarshal(fields["runtimeConfig"], &rc); err == nil {
		for k := range rc {
			if k != "portMappings" {
				return portmapNet{}, false
			}
		}
	}
	var c portmapNet
	if err := json.Unmarshal(stdin, &c); err != nil || c.SNAT == nil || !*c.SNAT {
		return portmapNet{}, false
	}
	return c, true
}

// prevAddrs are the container's addresses in the result of the plugin
// before portmap (the bridge's); none without one.
func prevAddrs(raw json.RawMessage) (*current.Result, []netip.Prefix, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil, nil
	}
	r, err := current.NewResult(raw)
	if err != nil {
		return nil, nil, err
	}
	res, err := current.GetResult(r)
	if err != nil {
		return nil, nil, err
	}
	var out []netip.Prefix
	for _, ipc := range res.IPs {
		a, ok := netip.AddrFromSlice(ipc.Address.IP)
		if !ok {
			continue
		}
		ones, _ := ipc.Address.Mask.Size()
		out = append(out, netip.PrefixFrom(a.Unmap(), ones))
	}
	return res, out, nil
}

// portsAdd publishes the ports: berth's rules for the container (PortRules)
// in one iptables-restore per address family, instead of portmap's chain
// per container built with a dozen iptables execs, then deletes the stale
// conntrack entries of its UDP ports (flushStaleUDP). It prints the
// previous result, as portmap does.
func (e *inProcess) portsAdd(ctx context.Context, conf portmapNet, args cniArgs) ([]byte, error) {
	prev, addrs, err := prevAddrs(conf.PrevResult)
	if err != nil || prev == nil {
		return nil, fmt.Errorf("portmap: no previous result: %v", err)
	}
	v4, v6 := PortRules(args.containerID, args.ifName, conf.RuntimeConfig.PortMaps, addrs)
	lk, err := e.lockHost(ctx)
	if err != nil {
		return nil, err
	}
	defer lk.Unlock()
	if err := addPortRules(false, v4); err != nil {
		return nil, err
	}
	if err := addPortRules(true, v6); err != nil {
		_, _ = delPortRules(false, args, v4)
		return nil, err
	}
	for _, a := range addrs {
		if a.Addr().Is4() && len(v4) > 0 {
			// As portmap: 127/8 may then be routed to the bridge.
			if routes, err := netlink.RouteGet(a.Addr().AsSlice()); err == nil && len(routes) > 0 {
				if l, err := netlink.LinkByIndex(routes[0].LinkIndex); err == nil {
					_, _ = sysctl.Sysctl("net/ipv4/conf/"+l.Attrs().Name+"/route_localnet", "1")
				}
			}
		}
	}
	// After the rules, so new flows follow them. Best effort, as in
	// portmap and Docker: a failure leaves only what was there before.
	_, _ = flushStaleUDP(conf.RuntimeConfig.PortMaps, len(v4) > 0, len(v6) > 0)
	return resultBytes(prev, conf.CNIVersion)
}

// portsDel takes the container's port rules away: the exact ones computed
// from the cached result when there is one, else (or if that fails, say
// after a crash half-way through an ADD) every rule carrying its tag. It
// reports whether it found any: none means the ports were published by
// the portmap binary (a container attached before berth had its own
// rules, or with BERTH_CNI_EXEC=1), whose DEL the caller then runs.
func (e *inProcess) portsDel(ctx context.Context, conf portmapNet, args cniArgs) (bool, error) {
	_, addrs, err := prevAddrs(conf.PrevResult)
	if err != nil {
		addrs = nil
	}
	v4, v6 := PortRules(args.containerID, args.ifName, conf.RuntimeConfig.PortMaps, addrs)
	lk, err := e.lockHost(ctx)
	if err != nil {
		return false, err
	}
	defer lk.Unlock()
	found, err := delPortRules(false, args, v4)
	errs := []error{err}
	if len(v6) > 0 || len(addrs) == 0 {
		found6, err := delPortRules(true, args, v6)
		found = found || found6
		errs = append(errs, err)
	}
	// Entries still pointing at the container: best effort, as on ADD.
	_, _ = flushStaleUDP(conf.RuntimeConfig.PortMaps, len(v4) > 0 || len(addrs) == 0, len(v6) > 0 || len(addrs) == 0)
	return found, errors.Join(errs...)
}

// lockHost takes the host-wide network lock: chains are made and pruned
// under it (PruneChains), so a chain is never pruned between the check that
// it is empty and a rule added to it.
func (e *inProcess) lockHost(ctx context.Context) (*flock.Lock, error) {
	path := e.hostLock
	if path == "" {
		path = HostLockPath
	}
	lk, err := flock.Acquire(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("ports: %w", err)
	}
	return lk, nil
}

// addPortRules appends rules in one transaction; a missing chain (a
// network made before berth had BERTH-DNAT, or chains pruned) is made and
// the transaction tried again.
func addPortRules(v6 bool, rules []string) error {
	if len(rules) == 0 {
		return nil
	}
	in := restoreInput("-A", rules)
	if err := iptablesRestore(v6, in); err == nil {
		return nil
	}
	ipt, err := iptablesFor(v6)
	if err != nil {
		return err
	}
	for _, c := range []string{chainDNAT, chainMasq} {
		if err := ensureChain(ipt, "nat", c); err != nil {
			return err
		}
	}
	if err := iptablesRestore(v6, in); err != nil {
		return fmt.Errorf("publish ports: %w", err)
	}
	return nil
}

// delPortRules deletes rules in one transaction, or when that fails (one
// is gone, or they are not known) every rule tagged for the interface,
// reporting whether there were any.
func delPortRules(v6 bool, args cniArgs, rules []string) (bool, error) {
	if len(rules) > 0 && iptablesRestore(v6, restoreInput("-D", rules)) == nil {
		return true, nil
	}
	ipt, err := iptablesFor(v6)
	if err != nil {
		return false, nil // no ip6tables: no rules there either
	}
	found := false
	tag := portTag(args.containerID, args.ifName)
	var errs []error
	for _, chain := range []string{chainDNAT, chainMasq} {
		lines, err := listChain(ipt, "nat", chain)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, r := range taggedRules(lines, tag) {
			found = true
			spec := strings.Fields(r)[2:]
			if err := ipt.Delete("nat", chain, spec...); err != nil && !missing(err) {
				errs = append(errs, err)
			}
		}
	}
	return found, errors.Join(errs...)
}

// iptablesRestore feeds in to `iptables-restore --noflush` (ip6tables- for
// v6), which applies it as one transaction.
func iptablesRestore(v6 bool, in string) error {
	bin := "iptables-restore"
	if v6 {
		bin = "ip6tables-restore"
	}
	cmd := exec.Command(bin, "--wait", "--noflush")
	cmd.Stdin = strings.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v: %s", bin, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
