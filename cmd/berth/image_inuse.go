package main

import (
	"context"
	"sync"
)

// imageInUse returns the hook the image store asks before it deletes an
// image: whether a container (in any state) was created from the image with
// this ID (sha256:...). rmi refuses such an image without -f and with -f
// only untags it; prune skips it; its layers are never collected.
//
// The containers are listed once, on the first question, for the rest of
// the command. When they cannot be listed every image counts as in use:
// better to refuse a removal than to delete layers under a container.
func imageInUse(g *globals) func(imageID string) bool {
	var once sync.Once
	var used map[string]bool
	return func(imageID string) bool {
		once.Do(func() {
			rt, err := newRuntime(g)
			if err != nil {
				return
			}
			list, err := rt.List(context.Background())
			if err != nil {
				return
			}
			used = map[string]bool{}
			for _, c := range list {
				used[c.ImageID] = true
			}
		})
		return used == nil || used[imageID]
	}
}
