package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/internal/flock"
)

// Ingest adds content to the store: blobs, unpacked layers, and finally
// images that name them. While an Ingest is open, garbage collection does
// not run, so what it wrote survives until AddImage names it. Close it when
// done; what no image names is collected later. An Ingest's methods may be
// called from several goroutines at once (a pull writes layers in parallel).
type Ingest struct {
	s    *Store
	lock *flock.Lock
}

// Ingest starts adding content. It waits while garbage collection runs.
func (s *Store) Ingest(ctx context.Context) (*Ingest, error) {
	l, err := flock.AcquireShared(ctx, s.contentLockPath())
	if err != nil {
		return nil, err
	}
	return &Ingest{s: s, lock: l}, nil
}

// Close ends the ingest. It is safe to call more than once.
func (in *Ingest) Close() error {
	return in.lock.Unlock()
}

// hashWriter counts and hashes what goes through it.
type hashWriter struct {
	h hash.Hash
	n int64
}

func newHashWriter() *hashWriter { return &hashWriter{h: sha256.New()} }

func (w *hashWriter) Write(p []byte) (int, error) {
	w.h.Write(p)
	w.n += int64(len(p))
	return len(p), nil
}

func (w *hashWriter) sum() v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(w.h.Sum(nil))}
}

// WriteBlob stores r as a blob and returns its digest and size. If want is
// not zero the content must have that digest (errdefs.ErrFailedPrecondition
// otherwise) and nothing is stored. Writing a blob already stored is cheap
// and harmless.
func (in *Ingest) WriteBlob(ctx context.Context, r io.Reader, want v1.Hash) (v1.Hash, int64, error) {
	s := in.s
	f, err := os.CreateTemp(s.tmpDir(), "blob-*")
	if err != nil {
		return v1.Hash{}, 0, fmt.Errorf("write blob: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	hw := newHashWriter()
	if _, err := io.Copy(io.MultiWriter(f, hw), &ctxReader{ctx, r}); err != nil {
		return v1.Hash{}, 0, fmt.Errorf("write blob: %w", err)
	}
	got := hw.sum()
	if want != (v1.Hash{}) && got != want {
		return v1.Hash{}, 0, digestMismatch("blob", want, got)
	}
	if err := s.commitBlob(f, got); err != nil {
		return v1.Hash{}, 0, err
	}
	return got, hw.n, nil
}

func digestMismatch(what string, want, got v1.Hash) error {
	return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("%s digest mismatch: expected %s, got %s", what, want, got))
}

// commitBlob syncs the temp file f and renames it to the blob h.
func (s *Store) commitBlob(f *os.File, h v1.Hash) error {
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write blob %s: %w", h, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("write blob %s: %w", h, err)
	}
	if s.HasBlob(h) {
		return nil
	}
	if err := os.Rename(f.Name(), s.BlobPath(h)); err != nil {
		return fmt.Errorf("write blob %s: %w", h, err)
	}
	return atomicfile.SyncDir(s.blobDir())
}

// writeJSONBlob stores v as JSON and returns its descriptor.
func (in *Ingest) writeJSONBlob(ctx context.Context, v any, mt types.MediaType) (v1.Descriptor, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return v1.Descriptor{}, err
	}
	h, n, err := in.WriteBlob(ctx, bytes.NewReader(data), v1.Hash{})
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Digest: h, Size: n}, nil
}

// LayerInput describes a layer stream for WriteLayer.
type LayerInput struct {
	// Parent is the chain ID of the layer below; zero for the base layer.
	Parent v1.Hash
	// MediaType is the blob's media type, stored as received (compressed
	// or not). Empty means: store the uncompressed tar as an OCI layer
	// (import, commit and load of uncompressed tars do this).
	MediaType types.MediaType
	// Digest and DiffID, when not zero, are checked against the stream's
	// digest as stored and its uncompressed digest.
	Digest v1.Hash
	DiffID v1.Hash
}

// WriteLayer stores a layer blob and unpacks it, in one pass over r
// (compression told by magic bytes: gzip, zstd, bzip2 or none). The blob
// and the unpacked directory appear under their final names only when both
// are complete and verified; a layer already unpacked under the same chain ID
// is kept and the new copy dropped. The returned Layer's Dir is the
// overlayfs lowerdir.
func (in *Ingest) WriteLayer(ctx context.Context, r io.Reader, li LayerInput) (Layer, error) {
	return in.writeLayer(ctx, r, li, nil)
}

// writeLayer is WriteLayer; with p (a pull's partial download of a
// compressed blob, li.MediaType set) the blob is p's file: its first p.n
// bytes are read back from it, r supplies the rest and is appended. p is
// renamed into blobs/ on success and left in place on failure, for the
// caller to keep (a resumable failure) or remove.
func (in *Ingest) writeLayer(ctx context.Context, r io.Reader, li LayerInput, p *partialBlob) (Layer, error) {
	s := in.s
	var blob *os.File
	if p != nil && li.MediaType != "" {
		blob = p.f
	} else {
		p = nil
		f, err := os.CreateTemp(s.tmpDir(), "blob-*")
		if err != nil {
			return Layer{}, fmt.Errorf("write layer: %w", err)
		}
		defer os.Remove(f.Name())
		defer f.Close()
		blob = f
	}
	blobHash := newHashWriter()
	diffHash := newHashWriter()
	blobOut := newWritebackFile(blob)

	// Three stages in three goroutines, so two cores stay busy: one
	// downloads, stores and hashes the blob; one decompresses; this one
	// hashes the tar and unpacks it.
	src := io.Reader(&ctxReader{ctx, r})
	keepCompressed := li.MediaType != ""
	if keepCompressed {
		fetched := io.TeeReader(src, io.MultiWriter(blobOut, blobHash))
		if p != nil && p.n > 0 {
			// What an earlier pull stored goes through the hashes and the
			// unpacking again, read from disk; only the rest is fetched.
			blobOut.off, blobOut.started = p.n, p.n
			fetched = io.MultiReader(io.TeeReader(io.NewSectionReader(p.f, 0, p.n), blobHash), fetched)
		}
		blobRA := newReadAhead(fetched)
		defer blobRA.Close() // after the decompressor's read-ahead, deferred below
		src = blobRA
	}
	dr, _, err := Decompress(src)
	if err != nil {
		return Layer{}, fmt.Errorf("write layer: %w", err)
	}
	defer dr.Close()
	var tarOut io.Writer = diffHash
	if !keepCompressed {
		tarOut = io.MultiWriter(blobOut, diffHash, blobHash)
	}
	ra := newReadAhead(dr)
	defer ra.Close()
	tarIn := io.TeeReader(ra, tarOut)

	tmp, err := os.MkdirTemp(s.tmpDir(), "layer-*")
	if err != nil {
		return Layer{}, fmt.Errorf("write layer: %w", err)
	}
	defer os.RemoveAll(tmp) // gone after the rename; otherwise clean up
	fsDir := filepath.Join(tmp, "fs")
	if err := os.Mkdir(fsDir, 0o755); err != nil {
		return Layer{}, fmt.Errorf("write layer: %w", err)
	}
	if err := os.Chmod(tmp, 0o700); err != nil {
		return Layer{}, fmt.Errorf("write layer: %w", err)
	}
	stats, err := Unpack(ctx, tarIn, fsDir)
	if err != nil {
		return Layer{}, fmt.Errorf("write layer: %w", err)
	}
	// The rest of the tar (end blocks, padding) and of the compressed
	// stream count towards the digests.
	if _, err := io.Copy(io.Discard, tarIn); err != nil {
		return Layer{}, fmt.Errorf("write layer: %w", err)
	}
	if keepCompressed {
		if _, err := io.Copy(io.Discard, src); err != nil {
			return Layer{}, fmt.Errorf("write layer: %w", err)
		}
	}
	if diffHash.n == 0 {
		return Layer{}, errdefs.ErrInvalidArgument.WithMessage("write layer: empty input, not a tar archive")
	}
	blobOut.start()
	diffID, digest := diffHash.sum(), blobHash.sum()
	if li.DiffID != (v1.Hash{}) && li.DiffID != diffID {
		return Layer{}, digestMismatch("layer diff ID", li.DiffID, diffID)
	}
	if li.Digest != (v1.Hash{}) && li.Digest != digest {
		return Layer{}, digestMismatch("layer", li.Digest, digest)
	}
	mt := li.MediaType
	if mt == "" {
		mt = types.OCIUncompressedLayer // the blob is the tar itself
	}
	chain := ChainID(li.Parent, diffID)
	layer := Layer{Digest: digest, MediaType: mt, BlobSize: blobHash.n, DiffID: diffID, ChainID: chain, Dir: s.LayerDir(chain), Size: stats.Size}
	if err := s.commitBlob(blob, digest); err != nil {
		return Layer{}, err
	}
	if p != nil {
		p.remove() // still there if another pull stored the blob first
	}
	if err := s.commitLayer(tmp, layerMeta{ChainID: chain, DiffID: diffID, Size: stats.Size}); err != nil {
		return Layer{}, err
	}
	return layer, nil
}

// commitLayer renames the unpacked layer in tmp to its chain ID, durably.
func (s *Store) commitLayer(tmp string, meta layerMeta) error {
	if err := atomicfile.WriteJSON(filepath.Join(tmp, "layer.json"), meta, 0o644); err != nil {
		return err
	}
	if s.HasLayer(meta.ChainID) {
		return nil
	}
	// One syncfs instead of an fsync per file: the layer's content is on
	// disk before its name appears.
	if d, err := os.Open(tmp); err == nil {
		_ = unix.Syncfs(int(d.Fd()))
		d.Close()
	}
	final := filepath.Join(s.layerRoot(), meta.ChainID.Hex)
	if err := os.Rename(tmp, final); err != nil {
		if errors.Is(err, fs.ErrExist) || errors.Is(err, unix.ENOTEMPTY) {
			return nil // another process unpacked it first
		}
		return fmt.Errorf("write layer %s: %w", meta.ChainID, err)
	}
	return atomicfile.SyncDir(s.layerRoot())
}

// unpackBlob unpacks a stored layer blob again (its directory was lost).
func (s *Store) unpackBlob(ctx context.Context, l Layer) error {
	f, err := os.Open(s.BlobPath(l.Digest))
	if err != nil {
		return fmt.Errorf("unpack layer %s: %w", l.Digest, err)
	}
	defer f.Close()
	tmp, err := os.MkdirTemp(s.tmpDir(), "layer-*")
	if err != nil {
		return fmt.Errorf("unpack layer %s: %w", l.Digest, err)
	}
	defer os.RemoveAll(tmp)
	fsDir := filepath.Join(tmp, "fs")
	if err := os.Mkdir(fsDir, 0o755); err != nil {
		return err
	}
	dr, _, err := Decompress(f)
	if err != nil {
		return fmt.Errorf("unpack layer %s: %w", l.Digest, err)
	}
	defer dr.Close()
	hw := newHashWriter()
	ra := newReadAhead(io.TeeReader(dr, hw))
	defer ra.Close()
	tarIn := io.Reader(ra)
	stats, err := Unpack(ctx, tarIn, fsDir)
	if err != nil {
		return fmt.Errorf("unpack layer %s: %w", l.Digest, err)
	}
	if _, err := io.Copy(io.Discard, tarIn); err != nil {
		return fmt.Errorf("unpack layer %s: %w", l.Digest, err)
	}
	if got := hw.sum(); got != l.DiffID {
		return digestMismatch("layer diff ID", l.DiffID, got)
	}
	return s.commitLayer(tmp, layerMeta{ChainID: l.ChainID, DiffID: l.DiffID, Size: stats.Size})
}

// ensureUnpacked unpacks the image's layers whose directories are missing.
func (s *Store) ensureUnpacked(ctx context.Context, im *Image) error {
	var in *Ingest
	defer func() {
		if in != nil {
			in.Close()
		}
	}()
	for i, l := range im.Layers {
		if !s.HasLayer(l.ChainID) {
			if in == nil {
				var err error
				if in, err = s.Ingest(ctx); err != nil {
					return err
				}
			}
			if err := s.unpackBlob(ctx, l); err != nil {
				return fmt.Errorf("image %s: %w", im.ID, err)
			}
			if meta, err := s.readLayerMeta(l.ChainID); err == nil {
				im.Layers[i].Size = meta.Size
			}
		}
	}
	return nil
}

// AddImage names the image whose manifest blob is already stored: with each
// of names (full references from Normalize; a name already used moves to
// this image), or, with no names, as a dangling image unless the store
// already has it. Every blob the manifest refers to must be stored; missing
// layer directories are unpacked. It returns the image ID.
func (in *Ingest) AddImage(ctx context.Context, manifest v1.Descriptor, names ...string) (string, error) {
	s := in.s
	im, err := s.readImage(manifest)
	if err != nil {
		return "", err
	}
	for _, l := range im.Layers {
		if !s.HasBlob(l.Digest) {
			return "", fmt.Errorf("image %s: layer blob %s: %w", im.ID, l.Digest, errdefs.ErrNotFound)
		}
	}
	if err := s.ensureUnpacked(ctx, im); err != nil {
		return "", err
	}
	err = s.updateIndex(ctx, func(v *view) ([]v1.Descriptor, error) {
		entries := v.entries
		if len(names) == 0 {
			if _, ok := v.byID[im.ID]; ok {
				return entries, nil
			}
			return append(entries, s.named(manifest, im.ID, "")), nil
		}
		for _, n := range names {
			entries = s.setName(entries, v, manifest, im.ID, n)
		}
		return entries, nil
	})
	if err != nil {
		return "", err
	}
	return im.ID, nil
}

// ctxReader stops reading when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
