package images

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/internal/flock"
)

// Annotations on the descriptors of index.json. The name annotations are
// containerd's and the OCI layout's, so other tools can read the store.
const (
	AnnotationName    = "io.containerd.image.name"          // full reference: docker.io/library/busybox:latest
	AnnotationRefName = "org.opencontainers.image.ref.name" // the tag alone: latest
	annotationTagged  = "io.berth.image.tagged"             // when the name was set (RFC 3339)
	annotationID      = "io.berth.image.id"                 // the config digest, so lookups need not read manifests
)

// Store is the local image store: an OCI image layout under one directory
// (<root>/images) plus the layers unpacked once per chain ID. It is safe for
// concurrent use by several goroutines and several berth processes: the index
// is replaced atomically under a file lock, blobs and layers are written to
// temporary names and renamed into place when complete.
type Store struct {
	dir   string
	inUse func(imageID string) bool
	now   func() time.Time
	keep  func() ([]LayerRef, error)
}

// Options configure a Store.
type Options struct {
	// InUse reports whether a container uses the image (by ID, sha256:...).
	// Remove refuses such an image unless forced, and then only untags it;
	// Prune skips it; its layers are never collected. nil means no image is
	// in use.
	InUse func(imageID string) bool
	// Now is the clock for created and tag times; nil means time.Now.
	Now func() time.Time
	// KeepLayers lists layers garbage collection must keep although no
	// image in the index names them: the build cache's, whose records
	// are worth something only while their layers are stored. It is
	// called once per collection; an error stops the collection with
	// nothing deleted. nil keeps only what images name.
	KeepLayers func() ([]LayerRef, error)
}

// LayerRef names a stored layer by both of its stored forms: the unpacked
// directory (chain ID) and the blob (digest).
type LayerRef struct {
	ChainID v1.Hash
	Digest  v1.Hash
}

// Open opens the store in dir, creating it if needed.
func Open(dir string, opts Options) (*Store, error) {
	s := &Store{dir: dir, inUse: opts.InUse, now: opts.Now, keep: opts.KeepLayers}
	if s.inUse == nil {
		s.inUse = func(string) bool { return false }
	}
	if s.now == nil {
		s.now = time.Now
	}
	for _, d := range []string{s.blobDir(), s.layerRoot(), s.tmpDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open image store: %w", err)
		}
	}
	layout := filepath.Join(dir, "oci-layout")
	if _, err := os.Stat(layout); errors.Is(err, fs.ErrNotExist) {
		if err := atomicfile.Write(layout, []byte(`{"imageLayoutVersion":"1.0.0"}`+"\n"), 0o644); err != nil {
			return nil, fmt.Errorf("open image store: %w", err)
		}
	}
	return s, nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) blobDir() string   { return filepath.Join(s.dir, "blobs", "sha256") }
func (s *Store) layerRoot() string { return filepath.Join(s.dir, "layers") }
func (s *Store) tmpDir() string    { return filepath.Join(s.dir, "tmp") }
func (s *Store) indexPath() string { return filepath.Join(s.dir, "index.json") }

// BlobPath is where the blob with digest h is stored.
func (s *Store) BlobPath(h v1.Hash) string { return filepath.Join(s.dir, "blobs", h.Algorithm, h.Hex) }

// LayerDir is the unpacked directory of the layer with chain ID chain: the
// directory to use as an overlayfs lowerdir.
func (s *Store) LayerDir(chain v1.Hash) string {
	return filepath.Join(s.layerRoot(), chain.Hex, "fs")
}

// Image is a local image as stored.
type Image struct {
	ID       string        // the config digest, sha256:...; Docker's image ID
	Manifest v1.Descriptor // the manifest naming it (the first, if several do)
	Names    []string      // full references naming it: repo:tag and repo@digest
	Config   *v1.ConfigFile
	Layers   []Layer // bottom-first, one per rootfs diff ID
	Size     int64   // the unpacked size of all layers
	Tagged   time.Time

	manifests []v1.Hash
}

// Layer is one layer of an image.
type Layer struct {
	Digest    v1.Hash // of the blob as stored (compressed or not)
	MediaType types.MediaType
	BlobSize  int64
	DiffID    v1.Hash // of the uncompressed tar
	ChainID   v1.Hash // identifies this layer stacked on those below
	Dir       string  // unpacked directory: an overlayfs lowerdir
	Size      int64   // unpacked size (bytes of file content)
}

// LayerDirs lists the unpacked layer directories bottom-first. overlayfs
// takes lowerdir= top-first, so reverse it for the mount option.
func (im *Image) LayerDirs() []string {
	dirs := make([]string, len(im.Layers))
	for i, l := range im.Layers {
		dirs[i] = l.Dir
	}
	return dirs
}

// Tags are the image's repo:tag names in familiar form (busybox:latest).
func (im *Image) Tags() []string {
	var out []string
	for _, n := range im.Names {
		if _, tag, _ := SplitName(n); tag != "" {
			out = append(out, Familiar(n))
		}
	}
	return out
}

// Digests are the image's repo@digest names in familiar form.
func (im *Image) Digests() []string {
	var out []string
	for _, n := range im.Names {
		if _, _, d := SplitName(n); d != "" {
			out = append(out, Familiar(n))
		}
	}
	return out
}

// Dangling reports whether no name refers to the image.
func (im *Image) Dangling() bool { return len(im.Names) == 0 }

// view is one consistent reading of the index and the images it names.
type view struct {
	entries []v1.Descriptor
	images  []*Image
	byID    map[string]*Image
}

func (s *Store) readIndex() ([]v1.Descriptor, error) {
	data, err := os.ReadFile(s.indexPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read image index: %w", err)
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("read image index %s: %w", s.indexPath(), err)
	}
	return idx.Manifests, nil
}

func (s *Store) writeIndex(entries []v1.Descriptor) error {
	if entries == nil {
		entries = []v1.Descriptor{}
	}
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: entries}
	return atomicfile.WriteJSON(s.indexPath(), idx, 0o644)
}

// updateIndex runs fn on the index under the index lock and writes back what
// it returns. fn sees the current entries and a view built from them.
func (s *Store) updateIndex(ctx context.Context, fn func(v *view) ([]v1.Descriptor, error)) error {
	l, err := flock.Acquire(ctx, filepath.Join(s.dir, "index.lock"))
	if err != nil {
		return err
	}
	defer l.Unlock()
	v, err := s.load()
	if err != nil {
		return err
	}
	entries, err := fn(v)
	if err != nil {
		return err
	}
	return s.writeIndex(entries)
}

// load reads the index and every image it names. A blob missing from an
// image just read from the index most likely went with a concurrent rmi:
// read the index once more before calling the store broken.
func (s *Store) load() (*view, error) {
	v, err := s.loadOnce()
	if errors.Is(err, fs.ErrNotExist) {
		v, err = s.loadOnce()
	}
	return v, err
}

func (s *Store) loadOnce() (*view, error) {
	entries, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	v := &view{entries: entries, byID: map[string]*Image{}}
	byManifest := map[v1.Hash]*Image{}
	for _, e := range entries {
		im, ok := byManifest[e.Digest]
		if !ok {
			id := e.Annotations[annotationID]
			if id == "" { // an entry another tool wrote
				if id, err = s.configDigest(e.Digest); err != nil {
					return nil, err
				}
			}
			if prev, ok := v.byID[id]; ok {
				// Another manifest of the same config: one image.
				prev.manifests = append(prev.manifests, e.Digest)
				im = prev
			} else {
				im = &Image{ID: id, Manifest: v1.Descriptor{MediaType: e.MediaType, Size: e.Size, Digest: e.Digest}, manifests: []v1.Hash{e.Digest}}
				v.byID[id] = im
				v.images = append(v.images, im)
			}
			byManifest[e.Digest] = im
		}
		if name := e.Annotations[AnnotationName]; name != "" && !slices.Contains(im.Names, name) {
			im.Names = append(im.Names, name)
		}
		if t, err := time.Parse(time.RFC3339Nano, e.Annotations[annotationTagged]); err == nil && t.After(im.Tagged) {
			im.Tagged = t
		}
	}
	return v, nil
}

// configDigest reads the manifest with digest m for its config's digest.
func (s *Store) configDigest(m v1.Hash) (string, error) {
	data, err := os.ReadFile(s.BlobPath(m))
	if err != nil {
		return "", fmt.Errorf("read manifest %s: %w", m, err)
	}
	man, err := v1.ParseManifest(bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("read manifest %s: %w", m, err)
	}
	return man.Config.Digest.String(), nil
}

// fill reads im's manifest and config, which load leaves out: its Config,
// Layers and Size.
func (s *Store) fill(im *Image) error {
	if im.Config != nil {
		return nil
	}
	full, err := s.readImage(im.Manifest)
	if err != nil {
		return err
	}
	if full.ID != im.ID {
		return fmt.Errorf("image index says manifest %s has config %s, but it has %s", im.Manifest.Digest, im.ID, full.ID)
	}
	im.Config, im.Layers, im.Size = full.Config, full.Layers, full.Size
	return nil
}

// fillAll fills every image of v.
func (s *Store) fillAll(v *view) error {
	for _, im := range v.images {
		if err := s.fill(im); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) readImage(desc v1.Descriptor) (*Image, error) {
	data, err := os.ReadFile(s.BlobPath(desc.Digest))
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", desc.Digest, err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", desc.Digest, err)
	}
	cdata, err := os.ReadFile(s.BlobPath(m.Config.Digest))
	if err != nil {
		return nil, fmt.Errorf("read image config %s: %w", m.Config.Digest, err)
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(cdata))
	if err != nil {
		return nil, fmt.Errorf("read image config %s: %w", m.Config.Digest, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("image %s: %d layers but %d diff IDs", m.Config.Digest, len(m.Layers), len(cfg.RootFS.DiffIDs))
	}
	im := &Image{ID: m.Config.Digest.String(), Manifest: desc, Config: cfg, manifests: []v1.Hash{desc.Digest}}
	var chain v1.Hash
	for i, l := range m.Layers {
		chain = ChainID(chain, cfg.RootFS.DiffIDs[i])
		layer := Layer{Digest: l.Digest, MediaType: l.MediaType, BlobSize: l.Size, DiffID: cfg.RootFS.DiffIDs[i], ChainID: chain, Dir: s.LayerDir(chain), Size: l.Size}
		if meta, err := s.readLayerMeta(chain); err == nil {
			layer.Size = meta.Size
		}
		im.Size += layer.Size
		im.Layers = append(im.Layers, layer)
	}
	return im, nil
}

// lookup finds the image ref names, the way Docker does: a full ID
// (sha256:<hex>), then a name (tag or digest reference), then a unique ID
// prefix. The error is errdefs.ErrNotFound, or ErrInvalidArgument for an
// ambiguous prefix or a malformed reference.
func (v *view) lookup(ref string) (*Image, string, error) {
	hex, full, isID := idOrPrefix(ref)
	if isID && full {
		if im, ok := v.byID["sha256:"+hex]; ok {
			return im, "", nil
		}
	}
	// A stored name is already normalised, and so is its own
	// normalisation: a reference that is one (as stack files and scripts
	// usually give them) needs no parse.
	for _, im := range v.images {
		if slices.Contains(im.Names, ref) {
			return im, ref, nil
		}
	}
	name, nerr := Normalize(ref)
	if nerr == nil {
		for _, im := range v.images {
			if slices.Contains(im.Names, name) {
				return im, name, nil
			}
		}
	}
	if isID {
		var found *Image
		for _, im := range v.images {
			if strings.HasPrefix(strings.TrimPrefix(im.ID, "sha256:"), hex) {
				if found != nil {
					return nil, "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("ambiguous image ID prefix %q", ref))
				}
				found = im
			}
		}
		if found != nil {
			return found, "", nil
		}
	}
	if nerr != nil && !isID {
		return nil, "", nerr
	}
	shown := ref
	if nerr == nil {
		shown = Familiar(name)
	}
	return nil, "", errdefs.ErrNotFound.WithMessage("No such image: " + shown)
}

// Image returns the image ref names: a reference (busybox,
// docker.io/library/busybox:latest, repo@sha256:...), a full ID or a unique
// ID prefix. Layers missing from disk are unpacked again from their blobs.
// The error is classified errdefs.ErrNotFound when there is no such image.
func (s *Store) Image(ctx context.Context, ref string) (*Image, error) {
	im, err := s.lookupFilled(ref)
	if err != nil {
		return nil, err
	}
	if err := s.ensureUnpacked(ctx, im); err != nil {
		return nil, err
	}
	return im, nil
}

// lookupFilled finds and reads the image ref names. A blob missing from an
// image just found in the index most likely went with a concurrent rmi:
// look again once before calling the store broken.
func (s *Store) lookupFilled(ref string) (*Image, error) {
	var im *Image
	var err error
	for range 2 {
		var v *view
		if v, err = s.load(); err != nil {
			return nil, err
		}
		if im, _, err = v.lookup(ref); err != nil {
			return nil, err
		}
		if err = s.fill(im); !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	return im, err
}

// Resolve implements Resolver: the ID of the image ref names.
func (s *Store) Resolve(ctx context.Context, ref string) (string, error) {
	v, err := s.load()
	if err != nil {
		return "", err
	}
	im, _, err := v.lookup(ref)
	if err != nil {
		return "", err
	}
	return im.ID, nil
}

// List returns every image, newest first.
func (s *Store) List(ctx context.Context) ([]*Image, error) {
	var v *view
	var err error
	for range 2 {
		if v, err = s.load(); err != nil {
			return nil, err
		}
		if err = s.fillAll(v); !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	out := slices.Clone(v.images)
	slices.SortStableFunc(out, func(a, b *Image) int { return b.Config.Created.Compare(a.Config.Created.Time) })
	return out, nil
}

// layerMeta is layers/<chain>/layer.json, written before the layer is
// renamed into place.
type layerMeta struct {
	ChainID v1.Hash `json:"chainID"`
	DiffID  v1.Hash `json:"diffID"`
	Size    int64   `json:"size"`
}

func (s *Store) readLayerMeta(chain v1.Hash) (layerMeta, error) {
	var m layerMeta
	data, err := os.ReadFile(filepath.Join(s.layerRoot(), chain.Hex, "layer.json"))
	if err != nil {
		return m, err
	}
	err = json.Unmarshal(data, &m)
	return m, err
}

// HasLayer reports whether the layer with this chain ID is unpacked.
func (s *Store) HasLayer(chain v1.Hash) bool {
	_, err := os.Stat(filepath.Join(s.layerRoot(), chain.Hex, "layer.json"))
	return err == nil
}

// HasBlob reports whether the blob with digest h is stored.
func (s *Store) HasBlob(h v1.Hash) bool {
	_, err := os.Stat(s.BlobPath(h))
	return err == nil
}

// ChainID is the OCI chain ID of a layer with diff ID diff stacked on the
// layer with chain ID parent (zero for the base layer).
func ChainID(parent, diff v1.Hash) v1.Hash {
	if parent == (v1.Hash{}) {
		return diff
	}
	h, _, _ := v1.SHA256(strings.NewReader(parent.String() + " " + diff.String()))
	return h
}

// named returns a descriptor of manifest m, of the image with ID id,
// carrying name (may be "").
func (s *Store) named(m v1.Descriptor, id, name string) v1.Descriptor {
	d := v1.Descriptor{MediaType: m.MediaType, Size: m.Size, Digest: m.Digest, Annotations: map[string]string{annotationID: id}}
	if name != "" {
		d.Annotations[AnnotationName] = name
		d.Annotations[annotationTagged] = s.now().UTC().Format(time.RFC3339Nano)
		if _, tag, _ := SplitName(name); tag != "" {
			d.Annotations[AnnotationRefName] = tag
		}
	}
	return d
}
