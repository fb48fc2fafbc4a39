package main

import (
	"context"
	"fmt"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/reconcile"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/volumes"
)

// stackDeps returns what the stack commands observe and apply through.
//
// For now it is an empty, read-only world: listing finds no containers,
// networks or volumes and resolving finds no image, so `berth plan` shows
// what `up` would create from nothing, and any change fails with
// ErrNotImplemented. The real runtime (runtime/runc under g.runRoot and
// g.root, with g.runtime), network/cni, volumes/local and the image store
// replace these here, and only here, once they are ready; reconcile does
// not change.
func stackDeps(g *globals) (reconcile.Deps, error) {
	_ = g
	return reconcile.Deps{
		Runtime:  emptyRuntime{},
		Networks: emptyNetworks{},
		Volumes:  emptyVolumes{},
		Images:   emptyImages{},
	}, nil
}

var errNotWired = fmt.Errorf("no runtime is wired into this berth yet: %w", errdefs.ErrNotImplemented)

type emptyRuntime struct{}

func (emptyRuntime) Create(context.Context, runtime.Config) (string, error) { return "", errNotWired }
func (emptyRuntime) Start(context.Context, string) error                    { return errNotWired }
func (emptyRuntime) Stop(context.Context, string, *time.Duration) error     { return errNotWired }
func (emptyRuntime) Remove(context.Context, string, runtime.RemoveOptions) error {
	return errNotWired
}
func (emptyRuntime) List(context.Context) ([]runtime.Container, error) { return nil, nil }

type emptyNetworks struct{}

func (emptyNetworks) Create(context.Context, network.Config) (network.Network, error) {
	return network.Network{}, errNotWired
}
func (emptyNetworks) Remove(context.Context, string) error            { return errNotWired }
func (emptyNetworks) List(context.Context) ([]network.Network, error) { return nil, nil }

type emptyVolumes struct{}

func (emptyVolumes) Create(context.Context, volumes.Config) (volumes.Volume, error) {
	return volumes.Volume{}, errNotWired
}
func (emptyVolumes) Remove(context.Context, string, bool) error     { return errNotWired }
func (emptyVolumes) List(context.Context) ([]volumes.Volume, error) { return nil, nil }

type emptyImages struct{}

func (emptyImages) Resolve(_ context.Context, ref string) (string, error) {
	return "", fmt.Errorf("image %s: %w", ref, errdefs.ErrNotFound)
}
