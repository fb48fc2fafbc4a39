package main

import "github.com/spf13/cobra"

// addStackCommands adds the stack commands: config, plan, up, down, watch and
// the compose group.
func addStackCommands(root *cobra.Command, g *globals) {
	root.AddCommand(newConfigCmd(g), newPlanCmd(g))
}
