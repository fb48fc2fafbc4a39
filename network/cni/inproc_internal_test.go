package cni

import (
	"encoding/json"
	"testing"

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
