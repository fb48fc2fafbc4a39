package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
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

// fakeImageSizer is an image store that knows some images' sizes, counts
// the lookups and fails for the IDs in broken.
type fakeImageSizer struct {
	sizes  map[string]int64
	broken map[string]bool
	calls  map[string]int
}

func (f *fakeImageSizer) Size(ctx context.Context, ref string) (int64, error) {
	f.calls[ref]++
	if f.broken[ref] {
		return 0, errors.New("read manifest: unexpected EOF")
	}
	n, ok := f.sizes[ref]
	if !ok {
		return 0, errdefs.ErrNotFound.WithMessage("No such image: " + ref)
	}
	return n, nil
}

// TestPsSize: ps -s's virtual size is the writable layer plus the image's
// size (Docker's SizeRootFs), the writable layer alone when the image is
// gone; each image is looked up once however many containers use it.
func TestPsSize(t *testing.T) {
	root := t.TempDir()
	rt := runc.New(runc.Options{Root: root, RunRoot: t.TempDir()})
	const imageA, gone = "sha256:aa", "sha256:bb"
	store := &fakeImageSizer{sizes: map[string]int64{imageA: 4_300_000}, calls: map[string]int{}}
	sizes := newImageSizes(store)
	tests := []struct {
		id, image string
		rw        int // bytes written to the container's upper dir
		want      string
	}{
		{id: "c1", image: imageA, rw: 2, want: "2B (virtual 4.3MB)"},
		{id: "c2", image: imageA, rw: 1_500_000, want: "1.5MB (virtual 5.8MB)"},
		{id: "c3", image: imageA, want: "0B (virtual 4.3MB)"},
		{id: "c4", image: gone, rw: 7, want: "7B (virtual 7B)"},
		{id: "c5", image: gone, want: "0B (virtual 0B)"},
		{id: "c6", rw: 3, want: "3B (virtual 3B)"}, // a record without an image ID
	}
	for _, tt := range tests {
		if tt.rw > 0 {
			upper := filepath.Join(root, "containers", tt.id, "upper")
			if err := os.MkdirAll(upper, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(upper, "f"), make([]byte, tt.rw), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := sizes.column(t.Context(), rt, &runc.Record{ID: tt.id, ImageID: tt.image})
		if err != nil {
			t.Fatalf("%s: %v", tt.id, err)
		}
		if got != tt.want {
			t.Errorf("%s: size %q, want %q", tt.id, got, tt.want)
		}
	}
	if diff := cmp.Diff(map[string]int{imageA: 1, gone: 1}, store.calls); diff != "" {
		t.Errorf("store lookups (-want +got):\n%s", diff)
	}

	// Any other store error is ps's error, and is not remembered.
	store.broken = map[string]bool{"sha256:cc": true}
	for range 2 {
		if _, err := sizes.column(t.Context(), rt, &runc.Record{ID: "c7", ImageID: "sha256:cc"}); err == nil || !strings.Contains(err.Error(), "sha256:cc") {
			t.Errorf("broken image: err %v", err)
		}
	}
	if store.calls["sha256:cc"] != 2 {
		t.Errorf("broken image looked up %d times, want 2", store.calls["sha256:cc"])
	}
}

// TestPsFilterLabelsAll: as Docker, several label filters must all match,
// while several values of another key match any of them.
func TestPsFilterLabelsAll(t *testing.T) {
	obs := func(name string, labels map[string]string) runc.Observed {
		return runc.Observed{Record: &runc.Record{ID: strings.Repeat("b", 64), Name: name, Config: runtime.Config{Labels: labels}}}
	}
	both := obs("both", map[string]string{"a": "1", "b": "2"})
	onlyA := obs("only-a", map[string]string{"a": "1"})
	tests := []struct {
		filters []string
		want    map[string]bool
	}{
		{[]string{"label=a", "label=b"}, map[string]bool{"both": true, "only-a": false}},
		{[]string{"label=a=1"}, map[string]bool{"both": true, "only-a": true}},
		{[]string{"label=b=3"}, map[string]bool{"both": false, "only-a": false}},
		{[]string{"name=both", "name=only-a"}, map[string]bool{"both": true, "only-a": true}},
	}
	for _, tt := range tests {
		f, err := parsePsFilters(tt.filters)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []runc.Observed{both, onlyA} {
			if got := f.match(c); got != tt.want[c.Record.Name] {
				t.Errorf("%v: match(%s) = %v, want %v", tt.filters, c.Record.Name, got, !got)
			}
		}
	}
}
