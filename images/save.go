package images

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ArchiveFormat is the layout of a save archive.
type ArchiveFormat string

// Archive formats. Docker's is an OCI image layout with Docker's
// manifest.json and repositories files added, as docker save writes since
// Docker 25: docker load, podman load and OCI tools all read it.
const (
	FormatDocker ArchiveFormat = "docker"
	FormatOCI    ArchiveFormat = "oci"
)

// DockerManifestEntry is one image of a Docker archive's manifest.json.
type DockerManifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// Save writes the images refs name to w as one tar archive in format. A
// reference that names an image by tag or digest keeps that name in the
// archive; an image named by ID keeps all its tags, as docker save does.
// Blobs shared by several images are written once.
func (s *Store) Save(ctx context.Context, w io.Writer, refs []string, format ArchiveFormat) error {
	if format == "" {
		format = FormatDocker
	}
	if format != FormatDocker && format != FormatOCI {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("unknown archive format %q: want docker or oci", format))
	}
	if len(refs) == 0 {
		return errdefs.ErrInvalidArgument.WithMessage("save needs at least one image")
	}
	in, err := s.Ingest(ctx) // a lease: nothing is collected while we read
	if err != nil {
		return err
	}
	defer in.Close()

	list, err := s.savedImages(refs)
	if err != nil {
		return err
	}

	tw := tar.NewWriter(w)
	written := map[v1.Hash]bool{}
	index := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	var manifest []DockerManifestEntry
	repositories := map[string]map[string]string{}
	if err := writeTarFile(tw, "oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	if err := writeTarDir(tw, "blobs/"); err != nil {
		return err
	}
	if err := writeTarDir(tw, "blobs/sha256/"); err != nil {
		return err
	}
	for _, sv := range list {
		im := sv.im
		blobs := []v1.Hash{im.Manifest.Digest}
		cfgDigest, err := v1.NewHash(im.ID)
		if err != nil {
			return err
		}
		blobs = append(blobs, cfgDigest)
		entry := DockerManifestEntry{Config: blobPath(cfgDigest), RepoTags: []string{}}
		for _, l := range im.Layers {
			blobs = append(blobs, l.Digest)
			entry.Layers = append(entry.Layers, blobPath(l.Digest))
		}
		for _, h := range blobs {
			if written[h] {
				continue
			}
			if err := s.writeBlobTo(ctx, tw, h); err != nil {
				return fmt.Errorf("save %s: %w", im.ID, err)
			}
			written[h] = true
		}
		if len(sv.names) == 0 {
			index.Manifests = append(index.Manifests, im.Manifest)
		}
		for _, n := range sv.names {
			d := im.Manifest
			_, tag, _ := splitFull(n)
			d.Annotations = map[string]string{AnnotationName: n, AnnotationRefName: tag}
			index.Manifests = append(index.Manifests, d)
			entry.RepoTags = append(entry.RepoTags, Familiar(n))
			repo, _, _ := SplitName(n)
			if repositories[repo] == nil {
				repositories[repo] = map[string]string{}
			}
			if len(im.Layers) > 0 {
				repositories[repo][tag] = im.Layers[len(im.Layers)-1].Digest.Hex
			}
		}
		manifest = append(manifest, entry)
	}
	if err := writeTarJSON(tw, "index.json", index); err != nil {
		return err
	}
	if format == FormatDocker {
		if err := writeTarJSON(tw, "manifest.json", manifest); err != nil {
			return err
		}
		if len(repositories) > 0 {
			if err := writeTarJSON(tw, "repositories", repositories); err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	return nil
}

// savedImage is one image a save writes and the names it keeps.
type savedImage struct {
	im    *Image
	names []string
}

// savedImages resolves what refs name, once per image, in the order first
// named: a tag or digest reference keeps that name (a digest keeps none),
// an ID keeps all the image's tags.
func (s *Store) savedImages(refs []string) ([]*savedImage, error) {
	v, err := s.load()
	if err != nil {
		return nil, err
	}
	var list []*savedImage
	byID := map[string]*savedImage{}
	for _, ref := range refs {
		im, name, err := v.lookup(ref)
		if err != nil {
			return nil, fmt.Errorf("save: %w", err)
		}
		if err := s.fill(im); err != nil {
			return nil, fmt.Errorf("save %s: %w", ref, err)
		}
		names := []string{name}
		if name == "" {
			names = nil
			for _, n := range im.Names {
				if _, tag, _ := splitFull(n); tag != "" {
					names = append(names, n)
				}
			}
		} else if _, tag, _ := splitFull(name); tag == "" {
			names = nil // a digest name is not a tag
		}
		sv, ok := byID[im.ID]
		if !ok {
			sv = &savedImage{im: im}
			byID[im.ID] = sv
			list = append(list, sv)
		}
		for _, n := range names {
			if !slices.Contains(sv.names, n) {
				sv.names = append(sv.names, n)
			}
		}
	}
	return list, nil
}

func blobPath(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }

// archiveTime is the mtime of every archive entry: the same images give
// the same archive.
var archiveTime = time.Unix(0, 0)

func (s *Store) writeBlobTo(ctx context.Context, tw *tar.Writer, h v1.Hash) error {
	f, err := os.Open(s.BlobPath(h))
	if err != nil {
		return fmt.Errorf("blob %s: %w", h, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: blobPath(h), Mode: 0o444, Size: fi.Size(), ModTime: archiveTime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.Copy(tw, &ctxReader{ctx, f})
	return err
}

func writeTarDir(tw *tar.Writer, name string) error {
	return tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, ModTime: archiveTime, Typeflag: tar.TypeDir, Format: tar.FormatPAX})
}

func writeTarFile(tw *tar.Writer, name string, data []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o444, Size: int64(len(data)), ModTime: archiveTime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

func writeTarJSON(tw *tar.Writer, name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeTarFile(tw, name, data)
}
