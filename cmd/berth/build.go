package main

import "github.com/spf13/cobra"

// addBuildCommands adds `berth build` and `berth builder prune`.
func addBuildCommands(root *cobra.Command, g *globals) {}
