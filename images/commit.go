package images

import (
	"context"
	"fmt"
	"io"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// CommitOptions are `berth commit`'s inputs.
type CommitOptions struct {
	// Parent is the image the container was created from (a reference or
	// an ID); "" for a container from scratch.
	Parent string
	// Upper is the container's overlayfs upper directory; see WriteDiff.
	Upper string
	// Config, when not nil, replaces the parent's config before Changes are
	// applied (docker commit keeps the container's Cmd, Env and so on).
	Config *v1.Config
	// Changes are Dockerfile instructions, see ApplyChanges.
	Changes []string
	// Comment and Author go into the history and the config.
	Comment string
	Author  string
	// CreatedBy is the history's "created by", usually the container's command.
	CreatedBy string
	// Name is NAME[:TAG] to give the new image; "" leaves it dangling.
	Name string
}

// Commit makes a new image: Parent's layers plus one made from Upper, with
// Parent's config (or Config) changed by Changes. Options are checked before
// anything is written. It returns the new image's ID.
func (s *Store) Commit(ctx context.Context, opts CommitOptions) (string, error) {
	names, err := newImageNames(opts.Name)
	if err != nil {
		return "", err
	}
	var cf v1.ConfigFile
	var layers []Layer
	if opts.Parent != "" {
		parent, err := s.Image(ctx, opts.Parent)
		if err != nil {
			return "", fmt.Errorf("commit: %w", err)
		}
		cf = *parent.Config
		cf.Config.Env = slices.Clone(cf.Config.Env)
		cf.RootFS.DiffIDs = slices.Clone(cf.RootFS.DiffIDs)
		cf.History = slices.Clone(cf.History)
		layers = slices.Clone(parent.Layers)
	} else {
		p, _ := platform("")
		cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
		cf.RootFS.Type = "layers"
	}
	if opts.Config != nil {
		cf.Config = *opts.Config
	}
	if err := ApplyChanges(&cf.Config, opts.Changes); err != nil {
		return "", err
	}
	var top v1.Hash
	if len(layers) > 0 {
		top = layers[len(layers)-1].ChainID
	}
	in, err := s.Ingest(ctx)
	if err != nil {
		return "", err
	}
	defer in.Close()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(WriteDiff(ctx, pw, opts.Upper)) }()
	layer, err := in.WriteLayer(ctx, pr, LayerInput{Parent: top})
	pr.CloseWithError(io.ErrClosedPipe) // stops the writer if WriteLayer gave up early
	if err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	created := v1.Time{Time: s.now().UTC()}
	cf.Created = created
	cf.Author = opts.Author
	cf.Container = ""
	cf.RootFS.DiffIDs = append(cf.RootFS.DiffIDs, layer.DiffID)
	cf.History = append(cf.History, v1.History{Created: created, CreatedBy: opts.CreatedBy, Comment: opts.Comment, Author: opts.Author})
	return in.addConfig(ctx, &cf, append(layers, layer), names)
}
