package images

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Loaded is one image a load stored: its ID and the names it was given
// (full references; none for an image the archive did not name).
type Loaded struct {
	ID    string
	Names []string
}

// Load reads a tar archive made by save, docker save (any version),
// podman save or an OCI image layout archive, and stores every image in
// it with the names the archive gives. The archive is read once, as a
// stream (stdin works): its files are kept in the store's tmp/ until the
// images are stored, and nothing is named before all of an image's content
// is verified.
func (s *Store) Load(ctx context.Context, r io.Reader) ([]Loaded, error) {
	in, err := s.Ingest(ctx)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	dir, err := os.MkdirTemp(s.tmpDir(), "load-*")
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	defer os.RemoveAll(dir)
	a, err := spool(ctx, r, dir)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	var out []Loaded
	switch {
	case a.has("index.json"):
		out, err = in.loadOCI(ctx, a)
	case a.has("manifest.json"):
		out, err = in.loadDocker(ctx, a)
	default:
		err = errdefs.ErrInvalidArgument.WithMessage("not an image archive: no manifest.json or index.json")
	}
	if err != nil {
		// Images already named stay; the rest of what was written is
		// collected now unless another writer is active.
		in.Close()
		_, _ = s.collect(context.WithoutCancel(ctx), true)
		return out, fmt.Errorf("load: %w", err)
	}
	return out, nil
}

// archive is a spooled tar: each regular file in a temp file, symlinks
// resolved within the archive.
type archive struct {
	files map[string]string // archive name -> temp file
	links map[string]string // archive name -> archive name it points at
}

func spool(ctx context.Context, r io.Reader, dir string) (*archive, error) {
	a := &archive{files: map[string]string{}, links: map[string]string{}}
	tr := tar.NewReader(&ctxReader{ctx, r})
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			if n == 0 {
				return nil, errdefs.ErrInvalidArgument.WithMessage("empty archive")
			}
			return a, nil
		}
		if err != nil {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("read archive: %v", err))
		}
		name := path.Clean("/" + hdr.Name)[1:]
		switch hdr.Typeflag {
		case tar.TypeReg:
			p := filepath.Join(dir, strconv.Itoa(n))
			if err := copyToFile(p, tr); err != nil {
				return nil, err
			}
			a.files[name] = p
		case tar.TypeSymlink:
			target := hdr.Linkname
			if !path.IsAbs(target) {
				target = path.Join(path.Dir(name), target)
			}
			a.links[name] = path.Clean("/" + target)[1:]
		case tar.TypeLink:
			a.links[name] = path.Clean("/" + hdr.Linkname)[1:]
		}
	}
}

func copyToFile(p string, r io.Reader) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (a *archive) resolve(name string) (string, bool) {
	name = path.Clean("/" + name)[1:]
	for range 16 {
		if p, ok := a.files[name]; ok {
			return p, true
		}
		t, ok := a.links[name]
		if !ok {
			return "", false
		}
		name = t
	}
	return "", false
}

func (a *archive) has(name string) bool { _, ok := a.resolve(name); return ok }

func (a *archive) open(name string) (*os.File, error) {
	p, ok := a.resolve(name)
	if !ok {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("archive has no file %s", name))
	}
	return os.Open(p)
}

func (a *archive) read(name string) ([]byte, error) {
	f, err := a.open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func (a *archive) readJSON(name string, v any) error {
	data, err := a.read(name)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("archive %s: %v", name, err))
	}
	return nil
}

// loadOCI loads an OCI image layout (Docker 25+ archives are one too).
func (in *Ingest) loadOCI(ctx context.Context, a *archive) ([]Loaded, error) {
	var idx v1.IndexManifest
	if err := a.readJSON("index.json", &idx); err != nil {
		return nil, err
	}
	// Docker archives name images in manifest.json too; older writers put
	// only a tag in the OCI ref.name annotation.
	var dm []DockerManifestEntry
	if a.has("manifest.json") {
		_ = a.readJSON("manifest.json", &dm)
	}
	var out []Loaded
	byID := map[string]int{}
	for _, d := range idx.Manifests {
		mdesc, err := in.resolveIndex(a, d)
		if err != nil {
			return out, err
		}
		id, err := in.loadManifest(ctx, a, mdesc)
		if err != nil {
			return out, err
		}
		var names []string
		if n := d.Annotations[AnnotationName]; n != "" {
			if full, err := Normalize(n); err == nil {
				names = append(names, full)
			}
		} else if n := d.Annotations[AnnotationRefName]; n != "" {
			if full, err := NormalizeTag(n); err == nil && n != "latest" && strings.ContainsAny(n, "/:") {
				names = append(names, full)
			}
		}
		if len(names) == 0 {
			for _, e := range dm {
				if e.Config == blobPath(mustHash(id)) {
					for _, t := range e.RepoTags {
						if full, err := NormalizeTag(t); err == nil {
							names = append(names, full)
						}
					}
				}
			}
		}
		if _, err := in.AddImage(ctx, mdesc, names...); err != nil {
			return out, err
		}
		if i, ok := byID[id]; ok {
			out[i].Names = append(out[i].Names, names...)
			continue
		}
		byID[id] = len(out)
		out = append(out, Loaded{ID: id, Names: names})
	}
	return out, nil
}

func mustHash(s string) v1.Hash {
	h, _ := v1.NewHash(s)
	return h
}

// resolveIndex follows nested indexes to this machine's manifest.
func (in *Ingest) resolveIndex(a *archive, d v1.Descriptor) (v1.Descriptor, error) {
	for range 4 {
		if !d.MediaType.IsIndex() {
			return d, nil
		}
		var idx v1.IndexManifest
		if err := a.readJSON(blobPath(d.Digest), &idx); err != nil {
			return d, err
		}
		want, _ := platform("")
		found := false
		for _, m := range idx.Manifests {
			if m.Platform != nil && m.Platform.Satisfies(*want) && (m.MediaType.IsImage() || m.MediaType.IsIndex()) {
				if a.has(blobPath(m.Digest)) {
					d, found = m, true
					break
				}
			}
		}
		if !found {
			return d, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("index %s has no manifest for %s in the archive", d.Digest, platformString(*want)))
		}
	}
	return d, errdefs.ErrInvalidArgument.WithMessage("indexes nested too deep")
}

// loadManifest stores the manifest d names and everything it refers to,
// and returns the image ID.
func (in *Ingest) loadManifest(ctx context.Context, a *archive, d v1.Descriptor) (string, error) {
	raw, err := a.read(blobPath(d.Digest))
	if err != nil {
		return "", err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("manifest %s: %v", d.Digest, err))
	}
	cfgRaw, err := a.read(blobPath(m.Config.Digest))
	if err != nil {
		return "", err
	}
	if _, _, err := in.WriteBlob(ctx, bytes.NewReader(cfgRaw), m.Config.Digest); err != nil {
		return "", err
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(cfgRaw))
	if err != nil {
		return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("config %s: %v", m.Config.Digest, err))
	}
	if len(cf.RootFS.DiffIDs) != len(m.Layers) {
		return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("image %s: %d layers but %d diff IDs", m.Config.Digest, len(m.Layers), len(cf.RootFS.DiffIDs)))
	}
	var parent v1.Hash
	for i, l := range m.Layers {
		li := LayerInput{Parent: parent, MediaType: l.MediaType, Digest: l.Digest, DiffID: cf.RootFS.DiffIDs[i]}
		parent = ChainID(parent, li.DiffID)
		if in.s.HasBlob(l.Digest) && in.s.HasLayer(parent) {
			continue
		}
		if err := in.loadLayer(ctx, a, blobPath(l.Digest), li); err != nil {
			return "", err
		}
	}
	if _, _, err := in.WriteBlob(ctx, bytes.NewReader(raw), d.Digest); err != nil {
		return "", err
	}
	return m.Config.Digest.String(), nil
}

func (in *Ingest) loadLayer(ctx context.Context, a *archive, name string, li LayerInput) error {
	f, err := a.open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if in.s.HasLayer(ChainID(li.Parent, li.DiffID)) {
		_, _, err = in.WriteBlob(ctx, f, li.Digest)
	} else {
		_, err = in.WriteLayer(ctx, f, li)
	}
	if err != nil {
		return fmt.Errorf("layer %s: %w", name, err)
	}
	return nil
}

// loadDocker loads a Docker archive without an OCI index (docker save
// before Docker 25): manifest.json names each image's config and layer
// tars. A manifest is made for each image: OCI, with each layer blob kept
// as it is in the archive (compressed or not).
func (in *Ingest) loadDocker(ctx context.Context, a *archive) ([]Loaded, error) {
	var dm []DockerManifestEntry
	if err := a.readJSON("manifest.json", &dm); err != nil {
		return nil, err
	}
	if len(dm) == 0 {
		return nil, errdefs.ErrInvalidArgument.WithMessage("manifest.json lists no image")
	}
	var out []Loaded
	for _, e := range dm {
		cfgRaw, err := a.read(e.Config)
		if err != nil {
			return out, err
		}
		cf, err := v1.ParseConfigFile(bytes.NewReader(cfgRaw))
		if err != nil {
			return out, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("config %s: %v", e.Config, err))
		}
		if len(cf.RootFS.DiffIDs) != len(e.Layers) {
			return out, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("image %s: %d layers but %d diff IDs", e.Config, len(e.Layers), len(cf.RootFS.DiffIDs)))
		}
		cdigest, csize, err := in.WriteBlob(ctx, bytes.NewReader(cfgRaw), v1.Hash{})
		if err != nil {
			return out, err
		}
		m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1,
			Config: v1.Descriptor{MediaType: types.OCIConfigJSON, Digest: cdigest, Size: csize}}
		var parent v1.Hash
		for i, p := range e.Layers {
			mt, err := archiveLayerType(a, p)
			if err != nil {
				return out, err
			}
			li := LayerInput{Parent: parent, MediaType: mt, DiffID: cf.RootFS.DiffIDs[i]}
			f, err := a.open(p)
			if err != nil {
				return out, err
			}
			l, err := in.WriteLayer(ctx, f, li)
			f.Close()
			if err != nil {
				return out, fmt.Errorf("layer %s: %w", p, err)
			}
			parent = l.ChainID
			m.Layers = append(m.Layers, v1.Descriptor{MediaType: l.MediaType, Digest: l.Digest, Size: l.BlobSize})
		}
		var names []string
		for _, t := range e.RepoTags {
			full, err := NormalizeTag(t)
			if err != nil {
				return out, err
			}
			names = append(names, full)
		}
		mdesc, err := in.writeJSONBlob(ctx, m, types.OCIManifestSchema1)
		if err != nil {
			return out, err
		}
		id, err := in.AddImage(ctx, mdesc, names...)
		if err != nil {
			return out, err
		}
		out = append(out, Loaded{ID: id, Names: names})
	}
	return out, nil
}

// archiveLayerType is the media type to store a Docker archive's layer
// file under, told by its magic bytes: gzip and zstd blobs are kept
// compressed, anything else is stored as the uncompressed tar.
func archiveLayerType(a *archive, name string) (types.MediaType, error) {
	f, err := a.open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	switch DetectCompression(bufio.NewReader(f)) {
	case Gzip:
		return types.OCILayer, nil
	case Zstd:
		return types.OCILayerZStd, nil
	}
	return "", nil
}
