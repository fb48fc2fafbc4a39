// Package images owns local images: the content-addressed store (OCI image
// layout), names and tags, unpacked layers stacked with overlayfs, and the
// transfer of images to and from archives and registries.
//
// Store is the one implementation: an OCI image layout under
// <root>/images with layers unpacked once per chain ID (docs/images.md).
// Layer tars are hostile input; Unpack is the only code that writes them to
// disk. This package must not import runtime, network, volumes, spec or cmd:
// containers reach it through the narrow interfaces their packages declare,
// and it learns which images containers use only through Options.InUse.
package images

import "context"

// Resolver finds the local image a reference names. It returns an error
// classified as errdefs.ErrNotFound when no local image has that name.
type Resolver interface {
	Resolve(ctx context.Context, ref string) (ID string, err error)
}

var _ Resolver = (*Store)(nil)

// Puller fetches an image from its registry into the local store. It
// returns the local image's ID.
type Puller interface {
	Pull(ctx context.Context, ref string) (ID string, err error)
}
