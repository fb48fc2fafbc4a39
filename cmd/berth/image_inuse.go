package main

// imageInUse returns the hook the image store asks before it deletes an
// image: whether a container (in any state) was created from the image with
// this ID (sha256:...). rmi refuses such an image without -f and with -f
// only untags it; prune skips it; its layers are never collected. It reads
// the container records only (containersUseImage), never the image store.
func imageInUse(g *globals) func(imageID string) bool {
	return containersUseImage(g)
}
