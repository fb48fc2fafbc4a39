package main

import "github.com/spf13/cobra"

func newConfigCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "config", Short: "Render the stack's normalized model"}
}
