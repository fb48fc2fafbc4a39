package cni

import (
	"fmt"
	"net/netip"

	"github.com/containerd/errdefs"
)

// Pool is a range of addresses cut into subnets of one size, like one entry
// of Docker's default-address-pools.
type Pool struct {
	Base netip.Prefix
	Size int // prefix length of each subnet
}

// DefaultPools are Docker's default address pools: 172.17.0.0/16 to
// 172.31.0.0/16, then 192.168.0.0/16 cut into /20s.
var DefaultPools = []Pool{
	{Base: netip.MustParsePrefix("172.17.0.0/16"), Size: 16},
	{Base: netip.MustParsePrefix("172.18.0.0/15"), Size: 16},
	{Base: netip.MustParsePrefix("172.20.0.0/14"), Size: 16},
	{Base: netip.MustParsePrefix("172.24.0.0/14"), Size: 16},
	{Base: netip.MustParsePrefix("172.28.0.0/14"), Size: 16},
	{Base: netip.MustParsePrefix("192.168.0.0/16"), Size: 20},
}

// Allocate returns the first subnet of pools that overlaps none of taken
// (the host's routes and the subnets of other networks). It is pure.
// An exhausted pool is ErrResourceExhausted.
func Allocate(pools []Pool, taken []netip.Prefix) (netip.Prefix, error) {
	for _, p := range pools {
		base := p.Base.Masked()
		if p.Size < base.Bits() || p.Size > base.Addr().BitLen() {
			return netip.Prefix{}, fmt.Errorf("pool %s: size /%d: %w", base, p.Size, errdefs.ErrInvalidArgument)
		}
		for cand := netip.PrefixFrom(base.Addr(), p.Size); base.Contains(cand.Addr()); {
			if !overlapsAny(cand, taken) {
				return cand, nil
			}
			next, ok := nextPrefix(cand)
			if !ok {
				break
			}
			cand = next
		}
	}
	return netip.Prefix{}, fmt.Errorf("allocate subnet: all predefined address pools are in use: %w", errdefs.ErrResourceExhausted)
}

// Overlaps reports whether two prefixes share any address.
func Overlaps(a, b netip.Prefix) bool {
	if a.Addr().Is4() != b.Addr().Is4() {
		return false
	}
	return a.Masked().Contains(b.Masked().Addr()) || b.Masked().Contains(a.Masked().Addr())
}

func overlapsAny(p netip.Prefix, taken []netip.Prefix) bool {
	for _, t := range taken {
		if Overlaps(p, t) {
			return true
		}
	}
	return false
}

// nextPrefix returns the prefix of the same length right after p.
func nextPrefix(p netip.Prefix) (netip.Prefix, bool) {
	last := lastAddr(p)
	n := last.Next()
	if !n.IsValid() {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(n, p.Bits()), true
}

// lastAddr is the highest address of p (its broadcast address for IPv4).
func lastAddr(p netip.Prefix) netip.Addr {
	p = p.Masked()
	b := p.Addr().AsSlice()
	for i := range b {
		hostBits := p.Bits() - i*8
		switch {
		case hostBits <= 0:
			b[i] = 0xff
		case hostBits < 8:
			b[i] |= 0xff >> hostBits
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// firstHost is the first usable address of p: the address after the
// network address (Docker's default gateway).
func firstHost(p netip.Prefix) netip.Addr {
	return p.Masked().Addr().Next()
}
