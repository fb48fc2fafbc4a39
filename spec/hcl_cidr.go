package spec

import (
	"fmt"
	"math/big"
	"net"
	"net/netip"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/gocty"
)

// The cidr functions compute addresses for static IPs and subnets, with
// Terraform's names and semantics: cidrhost("10.0.0.0/24", 5) is
// "10.0.0.5", a negative host number counts from the end of the range.

var cidrHostFunc = function.New(&function.Spec{
	Params: []function.Parameter{
		{Name: "prefix", Type: cty.String},
		{Name: "hostnum", Type: cty.Number},
	},
	Type: function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		p, err := netip.ParsePrefix(args[0].AsString())
		if err != nil {
			return cty.UnknownVal(cty.String), function.NewArgErrorf(0, "invalid CIDR prefix: %s", err)
		}
		var n int64
		if err := gocty.FromCtyValue(args[1], &n); err != nil {
			return cty.UnknownVal(cty.String), function.NewArgErrorf(1, "hostnum must be a whole number")
		}
		p = p.Masked()
		hostBits := p.Addr().BitLen() - p.Bits()
		size := new(big.Int).Lsh(big.NewInt(1), uint(hostBits))
		num := big.NewInt(n)
		if n < 0 {
			num.Add(size, num)
		}
		if num.Sign() < 0 || num.Cmp(size) >= 0 {
			return cty.UnknownVal(cty.String), function.NewArgErrorf(1, "prefix %s has no host number %d", p, n)
		}
		return cty.StringVal(addToAddr(p.Addr(), num).String()), nil
	},
})

var cidrSubnetFunc = function.New(&function.Spec{
	Params: []function.Parameter{
		{Name: "prefix", Type: cty.String},
		{Name: "newbits", Type: cty.Number},
		{Name: "netnum", Type: cty.Number},
	},
	Type: function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		p, err := netip.ParsePrefix(args[0].AsString())
		if err != nil {
			return cty.UnknownVal(cty.String), function.NewArgErrorf(0, "invalid CIDR prefix: %s", err)
		}
		var newBits, netNum int64
		if err := gocty.FromCtyValue(args[1], &newBits); err != nil || newBits < 0 {
			return cty.UnknownVal(cty.String), function.NewArgErrorf(1, "newbits must be a whole number")
		}
		if err := gocty.FromCtyValue(args[2], &netNum); err != nil || netNum < 0 {
			return cty.UnknownVal(cty.String), function.NewArgErrorf(2, "netnum must be a whole number")
		}
		p = p.Masked()
		bits := p.Bits() + int(newBits)
		if bits > p.Addr().BitLen() {
			return cty.UnknownVal(cty.String), function.NewArgErrorf(1, "prefix %s cannot be extended by %d bits", p, newBits)
		}
		if netNum >= int64(1)<<min(newBits, 62) {
			return cty.UnknownVal(cty.String), function.NewArgErrorf(2, "prefix %s extended by %d bits has no network number %d", p, newBits, netNum)
		}
		shift := uint(p.Addr().BitLen() - bits)
		off := new(big.Int).Lsh(big.NewInt(netNum), shift)
		return cty.StringVal(netip.PrefixFrom(addToAddr(p.Addr(), off), bits).String()), nil
	},
})

var cidrNetmaskFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "prefix", Type: cty.String}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		p, err := netip.ParsePrefix(args[0].AsString())
		if err != nil || !p.Addr().Is4() {
			return cty.UnknownVal(cty.String), function.NewArgErrorf(0, "not an IPv4 CIDR prefix: %s", args[0].AsString())
		}
		return cty.StringVal(net.IP(net.CIDRMask(p.Bits(), 32)).String()), nil
	},
})

func addToAddr(a netip.Addr, n *big.Int) netip.Addr {
	sum := new(big.Int).Add(new(big.Int).SetBytes(a.AsSlice()), n)
	b := make([]byte, len(a.AsSlice()))
	sum.FillBytes(b)
	out, ok := netip.AddrFromSlice(b)
	if !ok {
		panic(fmt.Sprintf("address of %d bytes", len(b)))
	}
	return out
}
