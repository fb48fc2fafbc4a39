package main

// imageInUse returns the hook the image store asks before it deletes an
// image: whether a container (any state) was created from the image with
// this ID (sha256:...). rmi refuses such an image without -f and with -f
// only untags it; prune skips it; its layers are never collected.
//
// The container commands own the container records, so they supply the
// body; until then no image counts as in use.
func imageInUse(g *globals) func(imageID string) bool {
	return nil
}
