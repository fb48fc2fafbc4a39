//go:build lean

package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/images"
)

// The lean berth leaves out the registry client too (net/http, crypto/tls,
// go-containerregistry's remote: ~1.7 ms of every command's start-up and a
// fifth of the binary): pull, push, login, logout and search are
// berth-full's, and a command that must pull (a run or create of a missing
// image or with --pull always, an up or compose pull whose images must be
// fetched) hands its whole command line to berth-full before it changes
// anything, as a build does.

// addRegistryCommands adds pull, push, save, load, login, logout, search.
func addRegistryCommands(root *cobra.Command, g *globals) {
	root.AddCommand(newPullCmd(g), newPushCmd(g), newSaveCmd(g), newLoadCmd(g),
		fullCommand("login [OPTIONS] [SERVER]", "Log in to a registry (Docker Hub if no server is given)", false),
		fullCommand("logout [SERVER]", "Log out from a registry (Docker Hub if no server is given)", false),
		fullCommand("search [OPTIONS] TERM", "Search Docker Hub, or a private registry's catalog with HOST[:PORT]/TERM", false))
}

// addImageRegistryCommands adds the same under `berth image`.
func addImageRegistryCommands(image *cobra.Command, g *globals) {
	image.AddCommand(newPullCmd(g), newPushCmd(g), newSaveCmd(g), newLoadCmd(g))
}

func newPullCmd(*globals) *cobra.Command {
	return fullCommand("pull [OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry", false)
}

func newPushCmd(*globals) *cobra.Command {
	return fullCommand("push [OPTIONS] NAME[:TAG]", "Upload an image to a registry", false)
}

func pullMissing(*cobra.Command, *globals, *images.Store, string, string, io.Writer) (string, error) {
	return "", execFull()
}

func pullAgain(*cobra.Command, *globals, string, string, io.Writer) error {
	return execFull()
}

// Pull hands the command over to berth-full, which pulls.
func (p registryPuller) Pull(context.Context, string) (string, error) {
	return "", execFull()
}

// fetchURL hands an import from a URL over to berth-full.
func fetchURL(context.Context, string) (io.ReadCloser, error) {
	return nil, execFull()
}
