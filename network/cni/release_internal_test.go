package cni

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/containernetworking/plugins/plugins/ipam/host-local/backend/disk"
)

func TestReleasePrev(t *testing.T) {
	prev := []byte(`{"name":"n","prevResult":{"cniVersion":"1.0.0","ips":[{"address":"10.9.0.2/24"},{"address":"fd00::2/64"}]}}`)
	tests := []struct {
		name    string
		leases  map[string]string // ip -> owner id
		want    bool
		remains []string
	}{
		{"own leases released", map[string]string{"10.9.0.2": "c1", "fd00::2": "c1", "10.9.0.3": "c2"}, true, []string{"10.9.0.3"}},
		{"one already gone", map[string]string{"fd00::2": "c1"}, true, nil},
		{"another container's lease", map[string]string{"10.9.0.2": "c2", "fd00::2": "c1"}, false, []string{"10.9.0.2", "fd00::2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			store, err := disk.New("n", dir)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			for ip, id := range tt.leases {
				if ok, err := store.Reserve(id, "eth0", net.ParseIP(ip), "0"); !ok || err != nil {
					t.Fatalf("reserve %s: %v %v", ip, ok, err)
				}
			}
			got := releasePrev(store, prev, dir, "n", cniArgs{containerID: "c1", ifName: "eth0"})
			if got != tt.want {
				t.Errorf("releasePrev = %v, want %v", got, tt.want)
			}
			for ip := range tt.leases {
				_, err := os.Stat(filepath.Join(dir, "n", ip))
				kept := err == nil
				wantKept := false
				for _, r := range tt.remains {
					wantKept = wantKept || r == ip
				}
				if kept != wantKept {
					t.Errorf("lease %s kept = %v, want %v", ip, kept, wantKept)
				}
			}
		})
	}
	t.Run("no prevResult", func(t *testing.T) {
		dir := t.TempDir()
		store, err := disk.New("n", dir)
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		if releasePrev(store, []byte(`{"name":"n"}`), dir, "n", cniArgs{containerID: "c1", ifName: "eth0"}) {
			t.Error("released without a prevResult")
		}
	})
}
