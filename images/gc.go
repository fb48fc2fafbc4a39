package images

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/internal/flock"
)

// GC deletes every blob and unpacked layer no image in the index refers to
// and Options.KeepLayers does not list, and whatever unfinished ingests
// left in tmp/. It waits for open ingests to
// finish. It returns the unpacked bytes freed.
func (s *Store) GC(ctx context.Context) (int64, error) { return s.collect(ctx, false) }

// collect is GC; with try set it gives up at once (returning 0) when an
// ingest is open, leaving the garbage for a later collection.
func (s *Store) collect(ctx context.Context, try bool) (int64, error) {
	var gl *flock.Lock
	var err error
	if try {
		gl, err = flock.TryAcquire(s.contentLockPath())
	} else {
		gl, err = flock.Acquire(ctx, s.contentLockPath())
	}
	if err != nil || gl == nil {
		return 0, err
	}
	defer gl.Unlock()
	il, err := flock.Acquire(ctx, filepath.Join(s.dir, "index.lock"))
	if err != nil {
		return 0, err
	}
	// Mark from every manifest the index names (not one per image: two
	// manifests of one config may have differently compressed blobs).
	entries, err := s.readIndex()
	il.Unlock()
	if err != nil {
		return 0, err
	}
	blobs := map[string]bool{}
	chains := map[string]bool{}
	for _, e := range entries {
		if blobs[e.Digest.Hex] {
			continue
		}
		blobs[e.Digest.Hex] = true
		im, err := s.readImage(e)
		if err != nil {
			return 0, fmt.Errorf("collect image garbage: %w", err)
		}
		if h, err := v1.NewHash(im.ID); err == nil {
			blobs[h.Hex] = true
		}
		for _, l := range im.Layers {
			blobs[l.Digest.Hex] = true
			chains[l.ChainID.Hex] = true
		}
	}
	// Garbage: what no image reaches.
	var deadBlobs, deadChains []string
	if ents, err := os.ReadDir(s.blobDir()); err == nil {
		for _, e := range ents {
			if !blobs[e.Name()] {
				deadBlobs = append(deadBlobs, e.Name())
			}
		}
	}
	if ents, err := os.ReadDir(s.layerRoot()); err == nil {
		for _, e := range ents {
			if !chains[e.Name()] {
				deadChains = append(deadChains, e.Name())
			}
		}
	}
	// Less what the build cache keeps; asked only when there is garbage,
	// since it reads every cache record.
	if s.keep != nil && len(deadBlobs)+len(deadChains) > 0 {
		kept, err := s.keep()
		if err != nil {
			return 0, fmt.Errorf("collect image garbage: layers to keep: %w", err)
		}
		for _, l := range kept {
			blobs[l.Digest.Hex] = true
			chains[l.ChainID.Hex] = true
		}
	}
	var freed int64
	var errs []error
	for _, b := range deadBlobs {
		if !blobs[b] {
			errs = append(errs, os.Remove(filepath.Join(s.blobDir(), b)))
		}
	}
	for _, c := range deadChains {
		if chains[c] {
			continue
		}
		if h, err := v1.NewHash("sha256:" + c); err == nil {
			if meta, err := s.readLayerMeta(h); err == nil {
				freed += meta.Size
			}
		}
		errs = append(errs, os.RemoveAll(filepath.Join(s.layerRoot(), c)))
	}
	if ents, err := os.ReadDir(s.tmpDir()); err == nil {
		for _, e := range ents {
			errs = append(errs, os.RemoveAll(filepath.Join(s.tmpDir(), e.Name())))
		}
	}
	if err := errors.Join(errs...); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return freed, fmt.Errorf("collect image garbage: %w", err)
	}
	return freed, nil
}
