package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/runc"
)

// TestPsFormatLabels: ps --format takes Docker's {{.Label "key"}}, whose
// table header is the key's last dotted part, and {{.Labels}} as k=v,k2=v2.
func TestPsFormatLabels(t *testing.T) {
	rt := runc.New(runc.Options{Root: t.TempDir(), RunRoot: t.TempDir()})
	rec := func(name string, labels map[string]string) runc.Observed {
		return runc.Observed{Record: &runc.Record{ID: strings.Repeat("a", 64), Name: name, Path: "sh",
			Config: runtime.Config{Labels: labels}}}
	}
	now := time.Now()
	rows := []psRow{
		newPsRow(rt, rec("web", map[string]string{"com.example.tier": "front", "app": "shop"}), psOptions{}, now),
		newPsRow(rt, rec("db", nil), psOptions{}, now),
	}
	tests := []struct{ format, want string }{
		{format: `{{.Names}} {{.Label "com.example.tier"}}|{{.Label "missing"}}`, want: "web front|\ndb |\n"},
		{format: `{{.Labels}}`, want: "app=shop,com.example.tier=front\n\n"},
		{format: `table {{.Names}}\t{{.Label "com.example.tier"}}\t{{.Label "my_app-name"}}`,
			want: "NAMES     tier      my app name\nweb       front     \ndb                  \n"},
		{format: `table{{upper (.Label "app")}}`, want: "app\nSHOP\n\n"},
		{format: `{{json .Labels}}`, want: "\"app=shop,com.example.tier=front\"\n\"\"\n"},
	}
	for _, tt := range tests {
		var b strings.Builder
		if err := renderImageRows(&b, tt.format, "", psHeader, rows); err != nil {
			t.Errorf("%s: %v", tt.format, err)
			continue
		}
		if diff := cmp.Diff(tt.want, b.String()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.format, diff)
		}
	}
	// json is the exported fields only: Labels as a string, no map.
	var b strings.Builder
	if err := renderImageRows(&b, "json", "", psHeader, rows[:1]); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); !strings.Contains(got, `"Labels":"app=shop,com.example.tier=front"`) || strings.Contains(got, "header") {
		t.Errorf("json = %s", got)
	}
}
