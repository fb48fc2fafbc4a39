// Package images owns local images: the content-addressed store (OCI image
// layout), names and tags, unpacked layers stacked with overlayfs, and the
// transfer of images to and from archives and registries.
package images

import "context"

// Resolver finds the local image a reference names. It returns an error
// classified as errdefs.ErrNotFound when no local image has that name.
type Resolver interface {
	Resolve(ctx context.Context, ref string) (ID string, err error)
}
