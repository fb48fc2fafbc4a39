package cni

import (
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/network"
)

// The in-process bridge takes exactly the configurations berth generates
// and leaves anything else to the binary.
func TestInProcessBridgeTakes(t *testing.T) {
	r := Record{ID: "0123456789abcdef", Name: "web", Bridge: "berth-01234567",
		Config: network.Config{Subnets: []network.Subnet{{Subnet: "172.20.0.0/16", Gateway: "172.20.0.1"}}}}
	list, err := Conflist(r, "/run/berth/cni/ipam", false)
	if err != nil {
		t.Fatal(err)
	}
	var l struct {
		Plugins []map[string]any `json:"plugins"`
	}
	if err := json.Unmarshal(list, &l); err != nil {
		t.Fatal(err)
	}
	// What libcni hands the plugin: the list's name and version added, the
	// capabilities asked for in runtimeConfig.
	berths := func(edit func(map[string]any)) []byte {
		p := map[string]any{}
		b, _ := json.Marshal(l.Plugins[0])
		_ = json.Unmarshal(b, &p)
		p["name"], p["cniVersion"] = "web", cniVersion
		p["runtimeConfig"] = map[string]any{"ips": []string{"172.20.0.9"}}
		edit(p)
		b, _ = json.Marshal(p)
		return b
	}
	tests := []struct {
		name string
		edit func(map[string]any)
		want bool
	}{
		{"berth's bridge", func(map[string]any) {}, true},
		{"a mac asked for", func(p map[string]any) { p["runtimeConfig"] = map[string]any{"mac": "02:00:00:00:00:01"} }, true},
		{"ipMasq", func(p map[string]any) { p["ipMasq"] = true }, false},
		{"another field", func(p map[string]any) { p["vlan"] = 5 }, false},
		{"another IPAM", func(p map[string]any) { p["ipam"] = map[string]any{"type": "dhcp"} }, false},
		{"another capability", func(p map[string]any) { p["runtimeConfig"] = map[string]any{"bandwidth": map[string]any{}} }, false},
		{"no bridge name", func(p map[string]any) { delete(p, "bridge") }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conf, ok := inProcessBridge(berths(tc.edit))
			if ok != tc.want {
				t.Fatalf("taken = %v, want %v", ok, tc.want)
			}
			if ok && (conf.Bridge != r.Bridge || !conf.IsGateway || !conf.HairpinMode) {
				t.Errorf("decoded %+v", conf)
			}
		})
	}
	if _, ok := inProcessBridge([]byte("{")); ok {
		t.Error("took bad JSON")
	}
}

func TestPortRules(t *testing.T) {
	addrs := []netip.Prefix{netip.MustParsePrefix("172.20.0.5/16"), netip.MustParsePrefix("fd00:1::5/64")}
	ports := []portMapping{
		{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
		{HostPort: 5353, ContainerPort: 53, Protocol: "udp", HostIP: "127.0.0.1"},
		{HostPort: 9000, ContainerPort: 90, Protocol: "tcp", HostIP: "::"},
	}
	v4, v6 := PortRules("c1", "eth0", ports, addrs)
	tag := "-m comment --comment berth-port:c1:eth0"
	want4 := []string{
		"-A BERTH-DNAT -p tcp -m tcp --dport 8080 " + tag + " -j DNAT --to-destination 172.20.0.5:80",
		"-A BERTH-POSTROUTING -s 172.20.0.0/16 -d 172.20.0.5/32 -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT " + tag + " -j MASQUERADE",
		"-A BERTH-POSTROUTING -s 127.0.0.0/8 -d 172.20.0.5/32 -p tcp -m tcp --dport 80 " + tag + " -j MASQUERADE",
		"-A BERTH-DNAT -d 127.0.0.1 -p udp -m udp --dport 5353 " + tag + " -j DNAT --to-destination 172.20.0.5:53",
		"-A BERTH-POSTROUTING -s 172.20.0.0/16 -d 172.20.0.5/32 -p udp -m udp --dport 53 -m conntrack --ctstate DNAT " + tag + " -j MASQUERADE",
		"-A BERTH-POSTROUTING -s 127.0.0.0/8 -d 172.20.0.5/32 -p udp -m udp --dport 53 " + tag + " -j MASQUERADE",
	}
	want6 := []string{
		"-A BERTH-DNAT -p tcp -m tcp --dport 8080 " + tag + " -j DNAT --to-destination [fd00:1::5]:80",
		"-A BERTH-POSTROUTING -s fd00:1::/64 -d fd00:1::5/128 -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT " + tag + " -j MASQUERADE",
		"-A BERTH-DNAT -p tcp -m tcp --dport 9000 " + tag + " -j DNAT --to-destination [fd00:1::5]:90",
		"-A BERTH-POSTROUTING -s fd00:1::/64 -d fd00:1::5/128 -p tcp -m tcp --dport 90 -m conntrack --ctstate DNAT " + tag + " -j MASQUERADE",
	}
	if diff := cmp.Diff(want4, v4); diff != "" {
		t.Errorf("IPv4 rules (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want6, v6); diff != "" {
		t.Errorf("IPv6 rules (-want +got):\n%s", diff)
	}
	if got := restoreInput("-D", want4[:1]); got != "*nat\n-D BERTH-DNAT -p tcp -m tcp --dport 8080 "+tag+" -j DNAT --to-destination 172.20.0.5:80\nCOMMIT\n" {
		t.Errorf("restoreInput = %q", got)
	}
	// What `iptables -S` lists back is found by the tag, quoted or not.
	listed := []string{"-N BERTH-DNAT", want4[0], `-A BERTH-DNAT -p tcp -m tcp --dport 1 -m comment --comment "berth-port:c1:eth0" -j DNAT --to-destination 172.20.0.5:1`,
		"-A BERTH-DNAT -p tcp -m tcp --dport 2 -m comment --comment berth-port:c10:eth0 -j DNAT --to-destination 172.20.0.6:1"}
	if got := taggedRules(listed, "berth-port:c1:eth0"); len(got) != 2 || got[0] != want4[0] {
		t.Errorf("taggedRules = %q", got)
	}
}

func TestInProcessPortmapTakes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{`{"type":"portmap","name":"n","cniVersion":"1.0.0","capabilities":{"portMappings":true},"snat":true,"runtimeConfig":{"portMappings":[{"hostPort":1,"containerPort":2,"protocol":"tcp"}]},"prevResult":{}}`, true},
		{`{"type":"portmap","snat":false}`, false},
		{`{"type":"portmap"}`, false},
		{`{"type":"portmap","snat":true,"markMasqBit":13}`, false},
		{`{"type":"portmap","snat":true,"runtimeConfig":{"portMappings":[],"bandwidth":{}}}`, false},
	} {
		if _, ok := inProcessPortmap([]byte(tc.in)); ok != tc.want {
			t.Errorf("inProcessPortmap(%s) = %v, want %v", tc.in, ok, tc.want)
		}
	}
}
