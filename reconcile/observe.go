package reconcile

import (
	"context"
	"fmt"
	"slices"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/spec"
	"github.com/berth-dev/berth/volumes"
)

// Deps are the implementations Observe reads and Apply drives. cmd/ wires
// the real ones; tests use the fakes.
type Deps struct {
	Runtime  runtime.Runtime
	Networks network.Manager
	Volumes  volumes.Manager
	Images   ImageResolver
}

// ImageResolver finds the local image ID of a reference, with an error
// classified as errdefs.ErrNotFound when there is none. images.Resolver is
// one; reconcile declares its own so it depends on no images code.
type ImageResolver interface {
	Resolve(ctx context.Context, ref string) (string, error)
}

// Observed is a read-only snapshot of what exists for one stack.
type Observed struct {
	// Containers carry the stack's io.berth.stack label; others are
	// never part of the snapshot.
	Containers []runtime.Container
	// Networks and Volumes are all of them: Plan needs foreign ones to
	// check external references and name conflicts, and only ever acts on
	// those with the stack's label.
	Networks []network.Network
	Volumes  []volumes.Volume
	// Images maps each image reference to its local image ID; a reference
	// with no local image is absent.
	Images map[string]string
}

// Observe takes a snapshot of the stack's containers, all networks and
// volumes, and the local IDs of the images refs name. It changes nothing.
func Observe(ctx context.Context, stack string, refs []string, d Deps) (Observed, error) {
	var obs Observed
	all, err := d.Runtime.List(ctx)
	if err != nil {
		return obs, fmt.Errorf("observe %s: list containers: %w", stack, err)
	}
	for _, c := range all {
		if c.Labels[spec.LabelStack] == stack {
			obs.Containers = append(obs.Containers, c)
		}
	}
	if obs.Networks, err = d.Networks.List(ctx); err != nil {
		return obs, fmt.Errorf("observe %s: list networks: %w", stack, err)
	}
	if obs.Volumes, err = d.Volumes.List(ctx); err != nil {
		return obs, fmt.Errorf("observe %s: list volumes: %w", stack, err)
	}
	obs.Images = map[string]string{}
	for _, ref := range refs {
		if _, done := obs.Images[ref]; done || ref == "" {
			continue
		}
		id, err := d.Images.Resolve(ctx, ref)
		switch {
		case errdefs.IsNotFound(err):
			continue
		case err != nil:
			return obs, fmt.Errorf("observe %s: resolve image %s: %w", stack, ref, err)
		}
		obs.Images[ref] = id
	}
	return obs, nil
}

// ImageRefs returns the image references of a project's services, sorted
// and without duplicates, for Observe.
func ImageRefs(p *types.Project) []string {
	var refs []string
	for name, s := range p.Services {
		refs = append(refs, imageRef(p.Name, name, s))
	}
	slices.Sort(refs)
	return slices.Compact(refs)
}

// imageRef is the image a service's containers run: its image, or for a
// service that is only built, the name Compose gives the built image.
func imageRef(stack, name string, s types.ServiceConfig) string {
	if s.Image != "" {
		return s.Image
	}
	return stack + "-" + name
}
