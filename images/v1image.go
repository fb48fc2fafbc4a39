package images

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// V1Image returns the image ref names as a go-containerregistry v1.Image
// read from the store's OCI layout, for push and save. Its blobs are read
// lazily: hold an Ingest while using it if a concurrent rmi must not
// collect them meanwhile.
func (s *Store) V1Image(ctx context.Context, ref string) (v1.Image, error) {
	v, err := s.load()
	if err != nil {
		return nil, err
	}
	im, _, err := v.lookup(ref)
	if err != nil {
		return nil, err
	}
	p, err := layout.FromPath(s.dir)
	if err != nil {
		return nil, fmt.Errorf("open image layout %s: %w", s.dir, err)
	}
	img, err := p.Image(im.Manifest.Digest)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	return img, nil
}
