package cni

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/containernetworking/cni/libcni"
	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/network"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

const testID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestConflistGolden(t *testing.T) {
	tests := []struct {
		name      string
		rec       Record
		withPorts bool
	}{
		{"bridge", Record{ID: testID, Name: "web", Bridge: "berth-01234567", Config: network.Config{
			Driver: "bridge", Subnets: []network.Subnet{{Subnet: "172.18.0.0/16", Gateway: "172.18.0.1"}}}}, false},
		{"bridge-ports", Record{ID: testID, Name: "web", Bridge: "berth-01234567", Config: network.Config{
			Driver: "bridge", Subnets: []network.Subnet{{Subnet: "172.18.0.0/16", Gateway: "172.18.0.1"}}}}, true},
		{"internal", Record{ID: testID, Name: "back", Bridge: "berth-01234567", Config: network.Config{
			Internal: true, Subnets: []network.Subnet{{Subnet: "172.19.0.0/16", Gateway: "172.19.0.1"}}}}, false},
		{"ip-range-mtu", Record{ID: testID, Name: "r", Bridge: "br-r", Config: network.Config{
			Options: map[string]string{OptMTU: "1400"},
			Subnets: []network.Subnet{{Subnet: "10.5.0.0/24", Gateway: "10.5.0.254", IPRange: "10.5.0.0/26"}}}}, false},
		{"dual-stack", Record{ID: testID, Name: "six", Bridge: "berth-01234567", Config: network.Config{IPv6: true,
			Subnets: []network.Subnet{{Subnet: "172.20.0.0/16", Gateway: "172.20.0.1"}, {Subnet: "fd12:3456:789a::/64", Gateway: "fd12:3456:789a::1"}}}}, false},
		{"macvlan", Record{ID: testID, Name: "lan", Config: network.Config{Driver: "macvlan",
			Options: map[string]string{OptParent: "eth0"},
			Subnets: []network.Subnet{{Subnet: "192.0.2.0/24", Gateway: "192.0.2.1", IPRange: "192.0.2.128/25"}}}}, false},
		{"ipvlan", Record{ID: testID, Name: "lan", Config: network.Config{Driver: "ipvlan",
			Options: map[string]string{OptParent: "eth0", OptIpvlan: "l3"},
			Subnets: []network.Subnet{{Subnet: "192.0.2.0/24"}}}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Conflist(tc.rec, "/run/berth/cni/ipam", tc.withPorts)
			if err != nil {
				t.Fatal(err)
			}
			// libcni must accept what we generate.
			if _, err := libcni.ConfListFromBytes(got); err != nil {
				t.Fatalf("libcni rejects the list: %v", err)
			}
			golden(t, filepath.Join("testdata", "conflist", tc.name+".json"), got)
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	got = append(bytes.TrimSpace(got), '\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

func TestHostLocalRange(t *testing.T) {
	tests := []struct {
		subnet, gw, ipRange string
		want                ipamRange
		wantErr             bool
	}{
		{subnet: "10.1.0.0/16", want: ipamRange{Subnet: "10.1.0.0/16"}},
		{subnet: "10.1.2.3/16", gw: "10.1.0.1", want: ipamRange{Subnet: "10.1.0.0/16", Gateway: "10.1.0.1"}},
		{subnet: "10.1.0.0/16", ipRange: "10.1.4.0/24", want: ipamRange{Subnet: "10.1.0.0/16", RangeStart: "10.1.4.0", RangeEnd: "10.1.4.255"}},
		{subnet: "10.1.0.0/24", ipRange: "10.1.0.0/24", want: ipamRange{Subnet: "10.1.0.0/24", RangeStart: "10.1.0.1", RangeEnd: "10.1.0.254"}},
		{subnet: "10.1.0.0/24", ipRange: "10.2.0.0/25", wantErr: true},
		{subnet: "10.1.0.0/24", ipRange: "10.1.0.0/16", wantErr: true},
		{subnet: "10.1.0.0/24", gw: "10.1.1.1", wantErr: true},
		{subnet: "nonsense", wantErr: true},
	}
	for _, tc := range tests {
		got, err := hostLocalRange(tc.subnet, tc.gw, tc.ipRange)
		if (err != nil) != tc.wantErr {
			t.Errorf("hostLocalRange(%s, %s, %s) error = %v", tc.subnet, tc.gw, tc.ipRange, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" && !tc.wantErr {
			t.Errorf("hostLocalRange(%s, %s, %s) (-want +got):\n%s", tc.subnet, tc.gw, tc.ipRange, diff)
		}
	}
}

func TestRules(t *testing.T) {
	rec := Record{ID: testID, Name: "web", Bridge: "berth-01234567", Config: network.Config{
		Subnets: []network.Subnet{{Subnet: "172.18.0.0/16", Gateway: "172.18.0.1"}}}}
	internal := rec
	internal.Config.Internal = true
	noMasq := rec
	noMasq.Config.Options = map[string]string{OptMasquerade: "false"}
	tag := []string{"-m", "comment", "--comment", "berth:s:0123456789ab"}
	j := func(spec []string, tail ...string) []string {
		return append(append(append([]string{}, spec...), tag...), tail...)
	}
	tests := []struct {
		name string
		rec  Record
		want []Rule
	}{
		{"bridge", rec, []Rule{
			{false, "filter", chainForward, j([]string{"-i", "berth-01234567"}, "-j", "ACCEPT")},
			{false, "filter", chainForward, j([]string{"-o", "berth-01234567", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED,DNAT"}, "-j", "ACCEPT")},
			{false, "nat", chainMasq, j([]string{"-s", "172.18.0.0/16", "!", "-o", "berth-01234567"}, "-j", "MASQUERADE")},
		}},
		{"internal", internal, []Rule{
			{false, "filter", chainForward, j([]string{"-i", "berth-01234567", "!", "-o", "berth-01234567"}, "-j", "DROP")},
			{false, "filter", chainForward, j([]string{"-o", "berth-01234567", "!", "-i", "berth-01234567"}, "-j", "DROP")},
		}},
		{"no masquerade", noMasq, []Rule{
			{false, "filter", chainForward, j([]string{"-i", "berth-01234567"}, "-j", "ACCEPT")},
			{false, "filter", chainForward, j([]string{"-o", "berth-01234567", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED,DNAT"}, "-j", "ACCEPT")},
		}},
		{"macvlan has none", Record{ID: testID, Config: network.Config{Driver: "macvlan"}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Rules(tc.rec, "s")); diff != "" {
				t.Errorf("Rules (-want +got):\n%s", diff)
			}
		})
	}
}
