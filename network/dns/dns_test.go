package dns

import (
	"net/netip"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"

	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/network/cni"
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func addr(s string) netip.Addr  { return netip.MustParseAddr(s) }

func endpoint(net, ip string, aliases ...string) cni.Endpoint {
	return cni.Endpoint{Interface: cni.Interface{Network: net, IPs: []netip.Prefix{pfx(ip)}}, Aliases: aliases}
}

func TestBuild(t *testing.T) {
	nets := []cni.Record{
		{Name: "bridge", Default: true, Bridge: "berth0", Config: network.Config{Driver: "bridge",
			Subnets: []network.Subnet{{Subnet: "172.17.0.0/16", Gateway: "172.17.0.1"}}}},
		{Name: "front", Bridge: "berth-1", Config: network.Config{Driver: "bridge",
			Subnets: []network.Subnet{{Subnet: "172.18.0.0/16", Gateway: "172.18.0.1"}, {Subnet: "fd00:1::/64", Gateway: "fd00:1::1"}}}},
		{Name: "back", Bridge: "berth-2", Config: network.Config{Driver: "bridge", Internal: true,
			Subnets: []network.Subnet{{Subnet: "172.19.0.0/16", Gateway: "172.19.0.1"}}}},
		{Name: "lan", Config: network.Config{Driver: "macvlan", Subnets: []network.Subnet{{Subnet: "192.0.2.0/24"}}}},
	}
	atts := []cni.Attachment{
		{ContainerID: "aaaaaaaaaaaaaaaa", Name: "/demo-web-1", Endpoints: []cni.Endpoint{
			endpoint("front", "172.18.0.3/16", "web"),
			endpoint("back", "172.19.0.2/16", "web", "api"),
		}},
		{ContainerID: "bbbbbbbbbbbbbbbb", Name: "demo-web-2", Endpoints: []cni.Endpoint{
			endpoint("front", "172.18.0.2/16", "web", "Web"),
		}},
		{ContainerID: "cccccccccccccccc", Name: "lonely", Endpoints: []cni.Endpoint{endpoint("bridge", "172.17.0.2/16")}},
	}
	got := Build(nets, atts)
	want := Table{
		"front": {Network: "front", Gateways: []netip.Addr{addr("172.18.0.1"), addr("fd00:1::1")}, Containers: 2, Names: map[string][]netip.Addr{
			"demo-web-1.":   {addr("172.18.0.3")},
			"demo-web-2.":   {addr("172.18.0.2")},
			"web.":          {addr("172.18.0.2"), addr("172.18.0.3")},
			"aaaaaaaaaaaa.": {addr("172.18.0.3")},
			"bbbbbbbbbbbb.": {addr("172.18.0.2")},
		}},
		"back": {Network: "back", Internal: true, Gateways: []netip.Addr{addr("172.19.0.1")}, Containers: 1, Names: map[string][]netip.Addr{
			"demo-web-1.":   {addr("172.19.0.2")},
			"web.":          {addr("172.19.0.2")},
			"api.":          {addr("172.19.0.2")},
			"aaaaaaaaaaaa.": {addr("172.19.0.2")},
		}},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("Build (-want +got):\n%s", diff)
	}
	if !got.Needed() || (Table{"x": {}}).Needed() {
		t.Error("Needed wrong")
	}
}

func TestAnswer(t *testing.T) {
	z := &Zone{Names: map[string][]netip.Addr{
		"web.": {addr("172.18.0.2"), addr("172.18.0.3"), addr("fd00:1::2")},
		"db.":  {addr("172.18.0.9")},
	}}
	tests := []struct {
		name  string
		qtype uint16
		local bool
		want  []string
	}{
		{"web.", dns.TypeA, true, []string{"172.18.0.2", "172.18.0.3"}},
		{"WEB", dns.TypeA, true, []string{"172.18.0.2", "172.18.0.3"}},
		{"web.", dns.TypeAAAA, true, []string{"fd00:1::2"}},
		{"db.", dns.TypeAAAA, true, nil}, // known name, no address of the type
		{"db.", dns.TypeMX, true, nil},
		{"example.org.", dns.TypeA, false, nil},
	}
	for _, tc := range tests {
		req := new(dns.Msg)
		req.SetQuestion(tc.name, tc.qtype)
		resp, ok := Answer(z, req)
		if ok != tc.local {
			t.Errorf("%s %d: local = %v", tc.name, tc.qtype, ok)
			continue
		}
		if !ok {
			continue
		}
		var got []string
		for _, rr := range resp.Answer {
			switch rr := rr.(type) {
			case *dns.A:
				got = append(got, rr.A.String())
			case *dns.AAAA:
				got = append(got, rr.AAAA.String())
			}
		}
		if diff := cmp.Diff(tc.want, got); diff != "" || resp.Rcode != dns.RcodeSuccess || resp.Id != req.Id {
			t.Errorf("%s %d: rcode %d (-want +got):\n%s", tc.name, tc.qtype, resp.Rcode, diff)
		}
	}
}

func TestHostResolvers(t *testing.T) {
	path := t.TempDir() + "/resolv.conf"
	if err := os.WriteFile(path, []byte("# comment\nnameserver 192.0.2.53\nsearch example.org\nnameserver ::1\nnameserver bogus\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"192.0.2.53:53", "[::1]:53"}, hostResolvers(path)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestLookupAcrossTheAskersNetworks(t *testing.T) {
	table := Table{
		"front": {Network: "front", Names: map[string][]netip.Addr{"web.": {addr("172.18.0.2")}}},
		"back":  {Network: "back", Names: map[string][]netip.Addr{"db.": {addr("172.19.0.5")}}},
		"other": {Network: "other", Internal: true, Names: map[string][]netip.Addr{"secret.": {addr("172.20.0.7")}}},
	}
	atts := []cni.Attachment{
		{ContainerID: "a", Endpoints: []cni.Endpoint{
			{Interface: cni.Interface{Network: "front", IPs: []netip.Prefix{netip.MustParsePrefix("172.18.0.3/16")}}},
			{Interface: cni.Interface{Network: "back", IPs: []netip.Prefix{netip.MustParsePrefix("172.19.0.3/16")}}},
		}},
		{ContainerID: "b", Endpoints: []cni.Endpoint{
			{Interface: cni.Interface{Network: "front", IPs: []netip.Prefix{netip.MustParsePrefix("172.18.0.4/16")}}},
		}},
	}
	peers := Peers(atts)
	tests := []struct {
		arrived, from, name string
		ok, internal        bool
	}{
		{"front", "172.18.0.3", "web.", true, false},
		{"front", "172.18.0.3", "db.", true, false},      // a is on back too
		{"front", "172.18.0.4", "db.", false, false},     // b is not
		{"front", "172.18.0.3", "secret.", false, false}, // nobody asking is on other
		{"other", "172.20.0.9", "nothing.", false, true},
		{"gone", "172.18.0.3", "web.", false, false},
	}
	for _, tc := range tests {
		req := new(dns.Msg)
		req.SetQuestion(tc.name, dns.TypeA)
		_, ok, internal := table.Lookup(peers, tc.arrived, addr(tc.from), req)
		if ok != tc.ok || internal != tc.internal {
			t.Errorf("%s from %s on %s: ok %v internal %v, want %v %v", tc.name, tc.from, tc.arrived, ok, internal, tc.ok, tc.internal)
		}
	}
}
