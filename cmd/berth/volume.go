package main

import "github.com/spf13/cobra"

// addVolumeCommands adds `berth volume create|ls|inspect|rm|prune`.
func addVolumeCommands(root *cobra.Command, g *globals) {}
