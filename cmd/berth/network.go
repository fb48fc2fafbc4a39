package main

import "github.com/spf13/cobra"

// addNetworkCommands adds `berth network create|ls|inspect|rm|prune|connect|disconnect`.
func addNetworkCommands(root *cobra.Command, g *globals) {}
