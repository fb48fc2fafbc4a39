package ocispec

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// DNS says how a container's /etc/resolv.conf is made from the host's.
type DNS struct {
	Nameservers []string // --dns: replace the host's nameservers
	Search      []string // --dns-search: replace the host's; "." alone means none
	Options     []string // --dns-option: replace the host's options
	// HostNetwork keeps the host's nameservers as they are: the container
	// shares the host's network namespace, so even 127.0.0.53 works.
	HostNetwork bool
	// IPv6 says the container has IPv6, so IPv6 nameservers are kept.
	IPv6 bool
	// NoFallback never writes Docker's public fallback nameservers: when
	// none of the host's is usable the file has none. For sandboxes whose
	// DNS traffic must stay on the machine (berth's tests).
	NoFallback bool
	// InternalNS is berth's resolver for the container's networks. When
	// set it becomes the only nameserver and the others are returned as
	// its upstreams, as Docker does on user-defined networks.
	InternalNS netip.Addr
}

// Docker's fallback nameservers, used when none of the host's can be
// reached from the container's own network namespace.
var (
	defaultNSv4 = []netip.Addr{netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("8.8.4.4")}
	defaultNSv6 = []netip.Addr{netip.MustParseAddr("2001:4860:4860::8888"), netip.MustParseAddr("2001:4860:4860::8844")}
)

// resolvConf is a parsed resolv.conf with the notes its trailing comments
// explain it with.
type resolvConf struct {
	nameservers []netip.Addr
	search      []string
	options     []string
	other       []string
	invalid     []string
	overrides   []string
	transform   string
	notes       []string
}

// ResolvConf is the content of a container's /etc/resolv.conf, made from
// the host's (host, possibly empty) with Docker's rules
// (libnetwork/internal/resolvconf): --dns, --dns-search and --dns-option
// replace the host's values; then with the host network nothing more; with
// InternalNS that resolver only, the others becoming the returned
// upstreams, and "ndots:0" unless an ndots is set; otherwise ("legacy", a
// network namespace without berth's resolver) the host's loopback
// nameservers are dropped, and IPv6 ones without IPv6, falling back to
// Google's public servers when none is left. An invalid --dns address is
// errdefs.ErrInvalidArgument.
func ResolvConf(host []byte, d DNS) (content []byte, upstream []netip.Addr, err error) {
	rc := parseResolvConf(host)
	if len(d.Nameservers) > 0 {
		rc.nameservers = nil
		for _, s := range d.Nameservers {
			ip, err := netip.ParseAddr(s)
			if err != nil {
				return nil, nil, invalid("invalid --dns %q: not an IP address", s)
			}
			rc.nameservers = append(rc.nameservers, ip)
		}
		rc.overrides = append(rc.overrides, "nameservers")
	}
	if len(d.Search) > 0 {
		rc.search = slices.DeleteFunc(slices.Clone(d.Search), func(s string) bool { return s == "." })
		rc.overrides = append(rc.overrides, "search")
	}
	if len(d.Options) > 0 {
		rc.options = slices.Clone(d.Options)
		rc.overrides = append(rc.overrides, "options")
	}
	for _, s := range slices.Concat(rc.search, rc.options) {
		if strings.ContainsAny(s, " \t\n") {
			return nil, nil, invalid("invalid DNS search domain or option %q", s)
		}
	}
	switch {
	case d.HostNetwork:
	case d.InternalNS.IsValid():
		upstream = rc.nameservers
		rc.nameservers = []netip.Addr{d.InternalNS}
		rc.transform = "internal resolver"
		if !rc.hasValidNdots() {
			rc.options = append(rc.options, "ndots:0")
		}
		if len(upstream) == 0 {
			rc.notes = append(rc.notes, "No external nameservers defined.")
		}
	default:
		rc.legacy(d.IPv6, len(d.Nameservers) > 0, d.NoFallback)
	}
	return rc.generate(), upstream, nil
}

func parseResolvConf(data []byte) resolvConf {
	var rc resolvConf
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) == 0 || f[0][0] == '#' || f[0][0] == ';' {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) < 2 {
				continue
			}
			if ip, err := netip.ParseAddr(f[1]); err == nil {
				rc.nameservers = append(rc.nameservers, ip)
			} else {
				rc.invalid = append(rc.invalid, f[1])
			}
		case "domain", "search": // only the last one counts
			if len(f) >= 2 {
				rc.search = f[1:]
			}
		case "options":
			rc.options = append(rc.options, f[1:]...)
		default:
			rc.other = append(rc.other, line)
		}
	}
	return rc
}

// legacy drops the nameservers the container cannot reach from its own
// namespace, unless the user chose them.
func (rc *resolvConf) legacy(ipv6, overridden, noFallback bool) {
	rc.transform = "legacy"
	if overridden {
		return
	}
	rc.nameservers = slices.DeleteFunc(rc.nameservers, func(ip netip.Addr) bool {
		return ip.IsLoopback() || (ip.Is6() && !ip.Is4In6() && !ipv6)
	})
	if len(rc.nameservers) == 0 && noFallback {
		rc.notes = append(rc.notes, "No usable nameservers.")
		return
	}
	if len(rc.nameservers) == 0 {
		rc.nameservers = slices.Clone(defaultNSv4)
		if ipv6 {
			rc.nameservers = append(rc.nameservers, defaultNSv6...)
		}
		rc.notes = append(rc.notes, "Used default nameservers.")
	}
}

// hasValidNdots reports an "ndots:N" option with N a non-negative number,
// dropping malformed ones as Docker does.
func (rc *resolvConf) hasValidNdots() bool {
	found := false
	rc.options = slices.DeleteFunc(rc.options, func(o string) bool {
		v, ok := strings.CutPrefix(o, "ndots:")
		if !ok {
			return false
		}
		if n, err := strconv.Atoi(v); err != nil || n < 0 {
			return true
		}
		found = true
		return false
	})
	return found
}

func (rc *resolvConf) generate() []byte {
	var b bytes.Buffer
	b.WriteString("# Generated by berth from the host's resolv.conf.\n\n")
	for _, ns := range rc.nameservers {
		fmt.Fprintf(&b, "nameserver %s\n", ns)
	}
	if len(rc.search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(rc.search, " "))
	}
	if len(rc.options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(rc.options, " "))
	}
	for _, o := range rc.other {
		fmt.Fprintln(&b, o)
	}
	b.WriteString("\n# Based on the host's file")
	if rc.transform != "" {
		fmt.Fprintf(&b, " (%s)", rc.transform)
	}
	b.WriteString("\n")
	for _, n := range rc.notes {
		fmt.Fprintf(&b, "# %s\n", n)
	}
	if len(rc.invalid) > 0 {
		fmt.Fprintf(&b, "# Invalid nameservers: %s\n", strings.Join(rc.invalid, " "))
	}
	fmt.Fprintf(&b, "# Overrides: [%s]\n", strings.Join(rc.overrides, " "))
	return b.Bytes()
}
