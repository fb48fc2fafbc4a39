package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/images/buildcache"
)

// addImageCommands adds the image commands: import, images, image inspect,
// rmi, tag, history, image prune, pull, push, save, load, login, logout
// and search.
func addImageCommands(root *cobra.Command, g *globals) {
	root.AddCommand(newImportCmd(g), newImagesCmd(g, "images"), newRmiCmd(g, "rmi"), newTagCmd(g, "tag"), newHistoryCmd(g, "history"))
	image := &cobra.Command{Use: "image", Short: "Manage images"}
	image.AddCommand(newImportCmd(g), newImagesCmd(g, "ls"), newImageInspectCmd(g), newRmiCmd(g, "rm"),
		newTagCmd(g, "tag"), newHistoryCmd(g, "history"), newImagePruneCmd(g))
	addImageRegistryCommands(image, g)
	root.AddCommand(image)
	addRegistryCommands(root, g)
}

// openImageStore opens the image store, <root>/images, once per command
// (a run looks its image up twice).
func openImageStore(g *globals) (*images.Store, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	dir := filepath.Join(g.root, "images")
	if g.images != nil && g.images.Dir() == dir {
		return g.images, nil
	}
	// The build cache's layers are kept by garbage collection: a cached
	// step is a hit only while its layers are stored (docs/build.md).
	cache := &buildcache.Cache{Dir: filepath.Join(g.root, "build-cache")}
	s, err := images.Open(dir, images.Options{InUse: imageInUse(g), KeepLayers: cache.Layers})
	if err != nil {
		return nil, err
	}
	g.images = s
	return s, nil
}

func newTagCmd(g *globals, use string) *cobra.Command {
	return &cobra.Command{
		Use:   use + " SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Short: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openImageStore(g)
			if err != nil {
				return err
			}
			return s.Tag(cmd.Context(), args[0], args[1])
		},
	}
}

// eachArg runs fn for every argument, printing each failure to stderr as
// Docker does, and fails with exit status 1 if any did.
func eachArg(cmd *cobra.Command, args []string, fn func(string) error) error {
	failed := false
	for _, a := range args {
		if err := fn(a); err != nil {
			fmt.Fprintln(cmd.ErrOrStderr(), "berth:", err)
			failed = true
		}
	}
	if failed {
		return &exitError{code: 1}
	}
	return nil
}
