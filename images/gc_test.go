package images

import (
	"errors"
	"path/filepath"
	"testing"
)

// TestGCKeepLayers: layers Options.KeepLayers lists (the build cache's)
// survive the removal of the last image naming them; the others go; a
// failing KeepLayers deletes nothing.
func TestGCKeepLayers(t *testing.T) {
	var keep []LayerRef
	var keepErr error
	s, err := Open(filepath.Join(t.TempDir(), "images"), Options{KeepLayers: func() ([]LayerRef, error) { return keep, keepErr }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	importTar(t, s, "cached", makeTar(t, file("c", "1")))
	importTar(t, s, "plain", makeTar(t, file("p", "2")))
	cached, _ := s.Image(ctx, "cached")
	plain, _ := s.Image(ctx, "plain")
	kept, gone := cached.Layers[0], plain.Layers[0]
	keep = []LayerRef{{ChainID: kept.ChainID, Digest: kept.Digest}}

	keepErr = errors.New("records unreadable")
	for _, ref := range []string{"cached", "plain"} {
		if _, err := s.Remove(ctx, ref, false); err == nil {
			t.Fatalf("rmi %s with a failing KeepLayers: no error", ref)
		}
	}
	if _, err := s.GC(ctx); err == nil {
		t.Error("GC with a failing KeepLayers: no error")
	}
	for _, l := range []Layer{kept, gone} {
		if !s.HasLayer(l.ChainID) || !s.HasBlob(l.Digest) {
			t.Errorf("a failing KeepLayers let layer %s be collected", l.ChainID)
		}
	}

	keepErr = nil
	if _, err := s.GC(ctx); err != nil {
		t.Fatal(err)
	}
	if !s.HasLayer(kept.ChainID) || !s.HasBlob(kept.Digest) {
		t.Error("GC deleted a layer KeepLayers lists")
	}
	if s.HasLayer(gone.ChainID) || s.HasBlob(gone.Digest) {
		t.Error("GC kept a layer nothing uses")
	}
	if got := dirEntries(t, s.blobDir()); len(got) != 1 {
		t.Errorf("blobs after GC: %v, want the kept layer's only", got)
	}
}
