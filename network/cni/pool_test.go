package cni

import (
	"net/netip"
	"testing"

	"github.com/containerd/errdefs"
)

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func TestAllocate(t *testing.T) {
	all172 := []string{}
	for i := 17; i <= 31; i++ {
		all172 = append(all172, netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(i), 0, 0}), 16).String())
	}
	tests := []struct {
		name  string
		taken []string
		want  string
	}{
		{"empty host", nil, "172.17.0.0/16"},
		{"docker0 present", []string{"172.17.0.0/16"}, "172.18.0.0/16"},
		{"a /24 route inside a candidate", []string{"172.17.3.0/24"}, "172.18.0.0/16"},
		{"a wide route covering candidates", []string{"172.16.0.0/12"}, "192.168.0.0/20"},
		{"host LAN in 192.168", append(append([]string{}, all172...), "192.168.0.0/24", "192.168.17.0/24"), "192.168.32.0/20"},
		{"unrelated routes", []string{"10.0.0.0/8", "192.0.2.0/24", "fd00::/64"}, "172.17.0.0/16"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Allocate(DefaultPools, prefixes(tc.taken...))
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tc.want {
				t.Errorf("Allocate = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestAllocateExhausted(t *testing.T) {
	_, err := Allocate(DefaultPools, prefixes("172.16.0.0/12", "192.168.0.0/16"))
	if !errdefs.IsResourceExhausted(err) {
		t.Errorf("err = %v, want ErrResourceExhausted", err)
	}
}

func TestOverlaps(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"10.0.0.0/8", "10.1.0.0/16", true},
		{"10.1.0.0/16", "10.0.0.0/8", true},
		{"10.1.0.0/16", "10.2.0.0/16", false},
		{"10.1.2.3/16", "10.1.0.0/24", true}, // unmasked input
		{"10.0.0.0/8", "fd00::/8", false},
	}
	for _, tc := range tests {
		if got := Overlaps(netip.MustParsePrefix(tc.a), netip.MustParsePrefix(tc.b)); got != tc.want {
			t.Errorf("Overlaps(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}

func TestLastAddr(t *testing.T) {
	for in, want := range map[string]string{
		"10.1.0.0/16":     "10.1.255.255",
		"192.168.16.0/20": "192.168.31.255",
		"10.0.0.4/31":     "10.0.0.5",
		"fd00:1::/64":     "fd00:1::ffff:ffff:ffff:ffff",
	} {
		if got := lastAddr(netip.MustParsePrefix(in)).String(); got != want {
			t.Errorf("lastAddr(%s) = %s, want %s", in, got, want)
		}
	}
}
