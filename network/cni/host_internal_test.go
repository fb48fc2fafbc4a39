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
