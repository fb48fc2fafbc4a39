package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestCacheEntries(t *testing.T) {
	c := &Cache{Dir: t.TempDir()}
	if got, err := c.Entries(); err != nil || len(got) != 0 {
		t.Fatalf("Entries of an empty cache = %v, %v", got, err)
	}
	chain, _ := v1.NewHash("sha256:" + strings.Repeat("1", 64))
	if err := putRecord(c, "k2", &state{Layers: []layerRef{{ChainID: chain, DiffID: chain, Digest: chain, Size: 42}}}); err != nil {
		t.Fatal(err)
	}
	if err := putRecord(c, "k1", &state{}); err != nil {
		t.Fatal(err)
	}
	dir, err := c.MountDir("go-build")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("12345"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := c.Entries()
	if err != nil {
		t.Fatal(err)
	}
	type short struct {
		ID, Type string
		Layers   []EntryLayer
		HasSize  bool
	}
	var gotShort []short
	for _, e := range got {
		gotShort = append(gotShort, short{e.ID, e.Type, e.Layers, e.Size > 0})
	}
	want := []short{
		{"k1", "regular", nil, true},
		{"k2", "regular", []EntryLayer{{ChainID: chain, Size: 42}}, true},
		{filepath.Base(dir), "exec.cachemount", nil, true},
	}
	if diff := cmp.Diff(want, gotShort); diff != "" {
		t.Errorf("Entries (-want +got):\n%s", diff)
	}
	if got[2].Size != 5 {
		t.Errorf("cache mount size %d; want 5", got[2].Size)
	}
}
