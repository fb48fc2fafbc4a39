package images

import (
	"errors"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
)

// TestSize: Store.Size is the image's Size as Image (and so `berth
// images`) reports it, by ID or name; an unknown image is ErrNotFound.
func TestSize(t *testing.T) {
	s, _ := testStore(t)
	id := importTar(t, s, "x", makeTar(t, file("a", strings.Repeat("1", 1000)), file("b", "22")))
	im, err := s.Image(t.Context(), "x")
	if err != nil {
		t.Fatal(err)
	}
	if im.Size != 1002 {
		t.Fatalf("image size %d, want the 1002 bytes of its files", im.Size)
	}
	for _, ref := range []string{id, "x"} {
		if n, err := s.Size(t.Context(), ref); err != nil || n != im.Size {
			t.Errorf("Size(%s) = %d, %v; want %d", ref, n, err, im.Size)
		}
	}
	if _, err := s.Size(t.Context(), "sha256:"+strings.Repeat("0", 64)); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Size of a missing image: %v, want not found", err)
	}
}
