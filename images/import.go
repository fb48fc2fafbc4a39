package images

import (
	"context"
	"fmt"
	"io"
	"runtime"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ImportOptions are `berth import`'s options.
type ImportOptions struct {
	Name     string   // NAME[:TAG] to give the image; "" leaves it dangling
	Changes  []string // Dockerfile instructions, see ApplyChanges
	Message  string   // the history comment; default "Imported from " + Source
	Source   string   // where the tarball came from: a file, "-" or a URL
	Platform string   // os/arch[/variant]; default this machine's
}

// Import makes a one-layer image from a root file system tarball
// (uncompressed, gzip, zstd or bzip2), like `docker import`. The layer is
// stored uncompressed, so its digest is its diff ID. Options are checked
// before r is read: bad options change nothing. It returns the image ID.
func (s *Store) Import(ctx context.Context, r io.Reader, opts ImportOptions) (string, error) {
	names, err := newImageNames(opts.Name)
	if err != nil {
		return "", err
	}
	plat, err := platform(opts.Platform)
	if err != nil {
		return "", err
	}
	var cfg v1.Config
	if err := ApplyChanges(&cfg, opts.Changes); err != nil {
		return "", err
	}
	in, err := s.Ingest(ctx)
	if err != nil {
		return "", err
	}
	defer in.Close()
	layer, err := in.WriteLayer(ctx, r, LayerInput{})
	if err != nil {
		return "", fmt.Errorf("import: %w", err)
	}
	comment := opts.Message
	if comment == "" {
		comment = "Imported from " + opts.Source
	}
	created := v1.Time{Time: s.now().UTC()}
	cf := &v1.ConfigFile{
		Architecture: plat.Architecture,
		OS:           plat.OS,
		Variant:      plat.Variant,
		Created:      created,
		Config:       cfg,
		RootFS:       v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{layer.DiffID}},
		History:      []v1.History{{Created: created, Comment: comment}},
	}
	return in.addConfig(ctx, cf, []Layer{layer}, names)
}

// addConfig stores the config and a manifest for it and its layers, and
// names the image.
func (in *Ingest) addConfig(ctx context.Context, cf *v1.ConfigFile, layers []Layer, names []string) (string, error) {
	cdesc, err := in.writeJSONBlob(ctx, cf, types.OCIConfigJSON)
	if err != nil {
		return "", err
	}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: cdesc}
	for _, l := range layers {
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: l.MediaType, Size: l.BlobSize, Digest: l.Digest})
	}
	mdesc, err := in.writeJSONBlob(ctx, m, types.OCIManifestSchema1)
	if err != nil {
		return "", err
	}
	return in.AddImage(ctx, mdesc, names...)
}

// platform parses os/arch[/variant], defaulting to this machine's.
func platform(s string) (*v1.Platform, error) {
	if s == "" {
		p := &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
		if runtime.GOARCH == "arm64" {
			p.Variant = "v8"
		}
		return p, nil
	}
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS == "" || p.Architecture == "" {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid platform %q: want os/arch[/variant]", s))
	}
	return p, nil
}
