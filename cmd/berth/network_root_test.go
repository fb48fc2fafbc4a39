package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRootNetworkFormat: network ls and network inspect take Docker's
// template functions through the real binary.
func TestRootNetworkFormat(t *testing.T) {
	c := netCLI(t)
	n := unique("fmt")
	c.must("network", "create", "--internal", "--label", "com.example.tier=db", n)
	got := c.must("network", "ls", "--filter", "name="+n, "--format", `table{{upper .Name}}\t{{.Label "com.example.tier"}}`)
	if diff := cmp.Diff([]string{"NAME", "tier", strings.ToUpper(n), "db"}, strings.Fields(got)); diff != "" {
		t.Errorf("network ls table (-want +got):\n%s", diff)
	}
	// The name is fmt and hex digits: one t to split at.
	if got := c.must("network", "inspect", "--format", `{{join (split .Name "t") "-"}} {{.Labels}}`, n); got != "fm-"+n[3:]+" map[com.example.tier:db]\n" {
		t.Errorf("network inspect: %q", got)
	}
}
