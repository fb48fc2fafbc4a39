package cni

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStaleRules(t *testing.T) {
	lines := []string{
		"-N BERTH-FORWARD",
		`-A BERTH-FORWARD -i berth-1 -m comment --comment "berth:aaaa:111111111111" -j ACCEPT`,
		`-A BERTH-FORWARD -i berth-2 -m comment --comment berth:aaaa:222222222222 -j ACCEPT`,
		`-A BERTH-FORWARD -i berth-3 -m comment --comment "berth:bbbb:333333333333" -j ACCEPT`,
		`-A BERTH-FORWARD -i other -j ACCEPT`,
	}
	keep := map[string]bool{"berth:aaaa:111111111111": true}
	got := staleRules(lines, "aaaa", keep)
	want := [][]string{{"-i", "berth-2", "-m", "comment", "--comment", "berth:aaaa:222222222222", "-j", "ACCEPT"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("staleRules (-want +got):\n%s", diff)
	}
}

func TestTablesInput(t *testing.T) {
	got := tablesInput(map[string][]string{
		"nat":    {"-A BERTH-POSTROUTING -s 10.0.0.0/24 ! -o br -j MASQUERADE"},
		"filter": {"-D BERTH-FORWARD -i br -j ACCEPT", "-A BERTH-FORWARD -i br -j ACCEPT"},
	})
	want := "*filter\n-D BERTH-FORWARD -i br -j ACCEPT\n-A BERTH-FORWARD -i br -j ACCEPT\nCOMMIT\n" +
		"*nat\n-A BERTH-POSTROUTING -s 10.0.0.0/24 ! -o br -j MASQUERADE\nCOMMIT\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tablesInput (-want +got):\n%s", diff)
	}
}
