package cni

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// chainDNAT is berth's nat chain for published ports, jumped to from
// PREROUTING and OUTPUT for packets to the host's own addresses.
const chainDNAT = "BERTH-DNAT"

// localOnly is the match of the jumps to chainDNAT: only packets addressed
// to the host itself are published ports.
var localOnly = []string{"-m", "addrtype", "--dst-type", "LOCAL"}

// berthChain is one of berth's chains and the built-in chains that jump to
// it (each jump: the built-in chain, then the match before "-j").
type berthChain struct {
	table, chain string
	jumps        [][]string
}

// berthChains are every chain berth makes, for pruning them once empty.
var berthChains = []berthChain{
	{"filter", chainForward, [][]string{{"FORWARD"}}},
	{"nat", chainMasq, [][]string{{"POSTROUTING"}}},
	{"nat", chainDNAT, [][]string{append([]string{"PREROUTING"}, localOnly...), append([]string{"OUTPUT"}, localOnly...)}},
}

// portMapping is one entry of portmap's runtimeConfig.portMappings.
type portMapping struct {
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol"`
	HostIP        string `json:"hostIP,omitempty"`
}

// portTag is the comment on every port rule of a container's interface,
// by which they are found again when the exact rules are not known.
func portTag(containerID, ifName string) string {
	return "berth-port:" + containerID + ":" + ifName
}

// PortRules are the nat rules that publish ports of a container whose
// interface has addrs (with their subnets), as portmap does with snat:
// per port and address family, a DNAT from the host port (on hostIP if
// given) to the container, a masquerade of DNATed connections from the
// container's own subnet (hairpin, and neighbours using the host's address)
// and, for IPv4, of connections from 127.0.0.0/8 (localhost; the bridge
// has route_localnet). Each line is an iptables-restore "-A" rule; v6 are
// for ip6tables. It is pure.
func PortRules(containerID, ifName string, ports []portMapping, addrs []netip.Prefix) (v4, v6 []string) {
	tag := portTag(containerID, ifName)
	for _, a := range addrs {
		cip := a.Addr()
		for _, p := range ports {
			proto := strings.ToLower(p.Protocol)
			if proto == "" {
				proto = "tcp"
			}
			if p.HostIP != "" {
				hip, err := netip.ParseAddr(p.HostIP)
				if err != nil || hip.Is4() != cip.Is4() {
					continue
				}
				if hip.IsUnspecified() {
					p.HostIP = ""
				}
			}
			var dst string
			if p.HostIP != "" {
				dst = "-d " + p.HostIP + " "
			}
			to := netip.AddrPortFrom(cip, uint16(p.ContainerPort)).String()
			match := fmt.Sprintf("-p %s -m %s --dport", proto, proto)
			host := netip.PrefixFrom(cip, cip.BitLen()).String()
			rules := []string{
				fmt.Sprintf("-A %s %s%s %d -m comment --comment %s -j DNAT --to-destination %s", chainDNAT, dst, match, p.HostPort, tag, to),
				fmt.Sprintf("-A %s -s %s -d %s %s %d -m conntrack --ctstate DNAT -m comment --comment %s -j MASQUERADE",
					chainMasq, a.Masked(), host, match, p.ContainerPort, tag),
			}
			if cip.Is4() {
				rules = append(rules, fmt.Sprintf("-A %s -s 127.0.0.0/8 -d %s %s %d -m comment --comment %s -j MASQUERADE",
					chainMasq, host, match, p.ContainerPort, tag))
				v4 = append(v4, rules...)
			} else {
				v6 = append(v6, rules...)
			}
		}
	}
	return v4, v6
}

// restoreInput is an iptables-restore --noflush transaction on the nat
// table, with every rule's "-A" turned into op ("-A" or "-D").
func restoreInput(op string, rules []string) string {
	var b strings.Builder
	b.WriteString("*nat\n")
	for _, r := range rules {
		b.WriteString(op + strings.TrimPrefix(r, "-A") + "\n")
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// taggedRules picks, from `iptables -S` lines of one chain, those carrying
// tag, as "-A" rules. It is pure.
func taggedRules(lines []string, tag string) []string {
	var out []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "-A ") {
			continue
		}
		f := strings.Fields(strings.ReplaceAll(l, `"`, ""))
		if i := slices.Index(f, "--comment"); i >= 0 && i+1 < len(f) && f[i+1] == tag {
			out = append(out, strings.Join(f, " "))
		}
	}
	return out
}
