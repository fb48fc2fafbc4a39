package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

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

// TestRootNetworkPruneFilters: network prune takes Docker's until=,
// label= and label!= filters.
func TestRootNetworkPruneFilters(t *testing.T) {
	c := netCLI(t)
	kept, plain := unique("pk"), unique("pp")
	c.must("network", "create", "--internal", "--label", "keep=1", kept)
	c.must("network", "create", "--internal", plain)
	unix := func(d time.Duration) string { return strconv.FormatInt(time.Now().Add(d).Unix(), 10) }
	for _, tc := range []struct {
		filters []string
		want    string
	}{
		{[]string{"until=" + unix(-time.Hour)}, ""}, // both are newer
		{[]string{"label=keep=2"}, ""},
		{[]string{"label!=keep"}, "Deleted Networks:\n" + plain + "\n"},
		{[]string{"label=keep", "until=" + unix(time.Hour)}, "Deleted Networks:\n" + kept + "\n"},
	} {
		args := []string{"network", "prune", "-f"}
		for _, f := range tc.filters {
			args = append(args, "--filter", f)
		}
		if got := c.must(args...); got != tc.want {
			t.Errorf("network prune --filter %v = %q, want %q", tc.filters, got, tc.want)
		}
	}
	if _, stderr, code := c.run("network", "prune", "-f", "--filter", "driver=bridge"); code == 0 || !strings.Contains(stderr, "invalid filter 'driver'") {
		t.Errorf("network prune --filter driver=bridge: exit %d, %s", code, stderr)
	}
}
