package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/network/cni"
)

func testNetworkRecord() cni.Record {
	return cni.Record{
		ID: strings.Repeat("ab", 32), Name: "backend", Created: time.Date(2026, 11, 27, 20, 0, 0, 0, time.UTC),
		Config: network.Config{Driver: "bridge", Internal: true,
			Labels:  map[string]string{"com.example.tier": "db", "team": "core"},
			Subnets: []network.Subnet{{Subnet: "10.9.0.0/24", Gateway: "10.9.0.1"}}},
		Bridge: "berth-abababab",
	}
}

// TestNetworkLsFormat: network ls --format takes Docker's template
// functions, a table's header goes through the header functions, and
// "table" needs no space after it.
func TestNetworkLsFormat(t *testing.T) {
	rows := []networkRow{newNetworkRow(testNetworkRecord(), false)}
	tests := []struct{ format, want string }{
		{format: "", want: "NETWORK ID     NAME      DRIVER    SCOPE\nabababababab   backend   bridge    local\n"},
		{format: `{{upper .Name}} {{truncate .ID 4}} {{join (split .Labels ",") ";"}}`, want: "BACKEND abab com.example.tier=db;team=core\n"},
		{format: `table {{upper .Name}}\t{{.Label "com.example.tier"}}`, want: "NAME      tier\nBACKEND   db\n"},
		{format: `table{{.Name}}\t{{lower .Internal}}`, want: "NAME      INTERNAL\nbackend   true\n"},
		{format: `{{json .Name}} {{pad .Driver 1 1}}|`, want: "\"backend\"  bridge |\n"},
		{format: "json", want: `{"ID":"abababababab","Name":"backend","Driver":"bridge","Scope":"local","IPv6":"false","Internal":"true",` +
			`"Labels":"com.example.tier=db,team=core","CreatedAt":"2026-11-27 20:00:00 +0000 UTC"}` + "\n"},
	}
	for _, tt := range tests {
		var b strings.Builder
		if err := renderNetworkRows(&b, tt.format, rows); err != nil {
			t.Errorf("%q: %v", tt.format, err)
			continue
		}
		if diff := cmp.Diff(tt.want, b.String()); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.format, diff)
		}
	}
	var b strings.Builder
	if err := renderNetworkRows(&b, "{{.Name", rows); err == nil || !strings.Contains(err.Error(), "template parsing error") {
		t.Errorf("bad template: err = %v", err)
	}
}

// TestNetworkInspectFormat: network inspect --format takes Docker's
// template functions and its JSON names (Id) as well as the Go ones.
func TestNetworkInspectFormat(t *testing.T) {
	docs := []networkInspect{inspectDoc(testNetworkRecord(), nil)}
	tests := []struct{ format, want string }{
		{format: `{{upper .Name}} {{.Driver}}`, want: "BACKEND bridge\n"},
		{format: `{{join (split .Name "k") "-"}} {{truncate .Id 6}}`, want: "bac-end ababab\n"},
		{format: `{{(index .IPAM.Config 0).Subnet}} {{json .Labels}}`, want: "10.9.0.0/24 {\"com.example.tier\":\"db\",\"team\":\"core\"}\n"},
		{format: `{{index .Options "com.docker.network.bridge.name"}}`, want: "berth-abababab\n"},
	}
	for _, tt := range tests {
		var b strings.Builder
		if err := writeInspect(&b, tt.format, docs, nil); err != nil {
			t.Errorf("%q: %v", tt.format, err)
			continue
		}
		if diff := cmp.Diff(tt.want, b.String()); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.format, diff)
		}
	}
}
