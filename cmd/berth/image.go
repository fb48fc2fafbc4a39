package main

import "github.com/spf13/cobra"

// addImageCommands adds the image commands: import, images, image inspect,
// rmi, tag, and later pull, push, save, load.
func addImageCommands(root *cobra.Command, g *globals) {}
