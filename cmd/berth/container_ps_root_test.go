package main

import "testing"

// TestRootPsLabelFormat: ps --format {{.Label "key"}} through the real
// binary, on a created container's record.
func TestRootPsLabelFormat(t *testing.T) {
	c := newCLI(t)
	c.must("create", "--name", "labelled", "--network", "none", "--label", "com.example.tier=db", "--label", "app=shop", "busybox", "true")
	if got := c.must("ps", "-a", "--format", `{{.Names}} {{.Label "com.example.tier"}} {{upper (.Label "app")}} {{.Labels}}`); got != "labelled db SHOP app=shop,com.example.tier=db\n" {
		t.Errorf("ps --format = %q", got)
	}
	if got := c.must("ps", "-a", "--format", `table {{.Label "com.example.tier"}}`); got != "tier\ndb\n" {
		t.Errorf("ps --format table = %q", got)
	}
}
