package main

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/reconcile"
)

func TestProgress(t *testing.T) {
	create := reconcile.Op{Kind: reconcile.KindCreate, Resource: reconcile.ResourceContainer, Name: "demo-web-1", Service: "web", Start: true}
	net := reconcile.Op{Kind: reconcile.KindRemove, Resource: reconcile.ResourceNetwork, Name: "demo_default"}
	events := []reconcile.Event{
		{Op: create, State: reconcile.StateWaiting},
		{Op: create, State: reconcile.StateStarted},
		{Op: create, State: reconcile.StateDone},
		{Op: net, State: reconcile.StateStarted},
		{Op: net, State: reconcile.StateSkipped, Err: errors.New("network demo_default has endpoints")},
	}
	tests := []struct{ mode, want string }{
		{"plain", "Container demo-web-1  Waiting\nContainer demo-web-1  Creating\nContainer demo-web-1  Created\n" +
			"Container demo-web-1  Started\nNetwork demo_default  Removing\n" +
			"Network demo_default  Resource is still in use: network demo_default has endpoints\n"},
		{"json", `{"id":"Container demo-web-1","service":"web","status":"Waiting","time":"2026-01-02T03:04:05Z"}` + "\n" +
			`{"id":"Container demo-web-1","service":"web","status":"Creating","time":"2026-01-02T03:04:05Z"}` + "\n" +
			`{"id":"Container demo-web-1","service":"web","status":"Created","time":"2026-01-02T03:04:05Z"}` + "\n" +
			`{"id":"Container demo-web-1","service":"web","status":"Started","time":"2026-01-02T03:04:05Z"}` + "\n" +
			`{"id":"Network demo_default","status":"Removing","time":"2026-01-02T03:04:05Z"}` + "\n" +
			`{"error":"network demo_default has endpoints","id":"Network demo_default","status":"Resource is still in use","time":"2026-01-02T03:04:05Z"}` + "\n"},
		{"quiet", ""},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			var buf bytes.Buffer
			p, err := newProgress(tc.mode, &buf)
			if err != nil {
				t.Fatal(err)
			}
			p.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
			for _, e := range events {
				p.event(e)
			}
			if diff := cmp.Diff(tc.want, buf.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("tty", func(t *testing.T) {
		var buf bytes.Buffer
		p, _ := newProgress("tty", &buf)
		for _, e := range events[1:4] {
			p.event(e)
		}
		// Each event redraws the block: one line per object, the cursor
		// moved up over the previous drawing first.
		want := "\x1b[2K   Container demo-web-1  Creating\n" +
			"\x1b[1A\x1b[2K \x1b[32m✔\x1b[0m Container demo-web-1  Created\n" +
			"\x1b[1A\x1b[2K \x1b[32m✔\x1b[0m Container demo-web-1  Started\n" +
			"\x1b[1A\x1b[2K \x1b[32m✔\x1b[0m Container demo-web-1  Started\n\x1b[2K   Network demo_default  Removing\n"
		if diff := cmp.Diff(want, buf.String()); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	if _, err := newProgress("fancy", nil); err == nil {
		t.Error("--progress fancy accepted")
	}
	var buf bytes.Buffer
	if p, _ := newProgress("auto", &buf); p.mode != "plain" {
		t.Errorf("auto on a buffer is %s, want plain", p.mode)
	}
}
