package main

import "github.com/spf13/cobra"

// addContainerCommands adds Docker's container commands: create, run, start,
// stop, ps, logs, exec and the rest.
func addContainerCommands(root *cobra.Command, g *globals) {}
