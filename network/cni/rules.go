package cni

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"path/filepath"
)

// Chains berth owns. They are jumped to from the top of FORWARD and
// POSTROUTING, and hold only per-network rules tagged with the network.
const (
	chainForward = "BERTH-FORWARD"
	chainMasq    = "BERTH-POSTROUTING"
)

// Rule is one iptables rule of a network.
type Rule struct {
	IPv6  bool
	Table string
	Chain string
	Spec  []string
}

// Rules are the per-network rules of a bridge network, installed once when
// the network is created instead of once per container. It is pure.
//
//   - not internal: masquerade what leaves the subnet by another interface
//     (Docker's rule), accept forwarding out of the bridge, and into it for
//     replies and for DNATed (published) connections.
//   - internal: drop everything forwarded between the bridge and any other
//     interface; the containers also get no default route.
//
// Every rule carries a comment naming the scope (the state root the
// network belongs to) and the network ID, so Cleanup can find the rules of
// its own networks whose record is gone without touching another root's.
func Rules(net Record, scope string) []Rule {
	if driver(net.Config) != "bridge" || net.Bridge == "" {
		return nil
	}
	tag := []string{"-m", "comment", "--comment", ruleTag(scope, net.ID)}
	br := net.Bridge
	var out []Rule
	for _, fam := range families(net) {
		v6 := fam == 6
		if net.Config.Internal {
			out = append(out,
				Rule{v6, "filter", chainForward, append([]string{"-i", br, "!", "-o", br}, append(tag, "-j", "DROP")...)},
				Rule{v6, "filter", chainForward, append([]string{"-o", br, "!", "-i", br}, append(tag, "-j", "DROP")...)},
			)
			continue
		}
		out = append(out,
			Rule{v6, "filter", chainForward, append([]string{"-i", br}, append(tag, "-j", "ACCEPT")...)},
			Rule{v6, "filter", chainForward, append([]string{"-o", br, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED,DNAT"}, append(tag, "-j", "ACCEPT")...)},
		)
		if net.Config.Options[OptMasquerade] == "false" {
			continue
		}
		for _, s := range net.Config.Subnets {
			p, err := netip.ParsePrefix(s.Subnet)
			if err != nil || p.Addr().Is6() != v6 {
				continue
			}
			out = append(out, Rule{v6, "nat", chainMasq,
				append([]string{"-s", p.Masked().String(), "!", "-o", br}, append(tag, "-j", "MASQUERADE")...)})
		}
	}
	return out
}

// ruleTag is the comment on every rule of a network.
func ruleTag(scope, id string) string {
	if len(id) > 12 {
		id = id[:12]
	}
	return "berth:" + scope + ":" + id
}

// Scope names a state root in rule tags: the first 8 hex digits of the
// SHA-256 of its absolute path.
func Scope(root string) string {
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	sum := sha256.Sum256([]byte(root))
	return hex.EncodeToString(sum[:4])
}

// families lists 4 and/or 6 by the subnets of net.
func families(net Record) []int {
	var has4, has6 bool
	for _, s := range net.Config.Subnets {
		p, err := netip.ParsePrefix(s.Subnet)
		if err != nil {
			continue
		}
		if p.Addr().Is4() {
			has4 = true
		} else {
			has6 = true
		}
	}
	var out []int
	if has4 {
		out = append(out, 4)
	}
	if has6 {
		out = append(out, 6)
	}
	return out
}
