package main

import "github.com/spf13/cobra"

// addContainerCommands adds Docker's container commands: create, run, start,
// stop, ps, logs, exec and the rest, both at the top level and under
// `berth container`, as Docker has them.
func addContainerCommands(root *cobra.Command, g *globals) {
	group := &cobra.Command{Use: "container", Short: "Manage containers"}
	for _, c := range []*cobra.Command{
		newCreateCmd(g), newRunCmd(g), newStartCmd(g), newStopCmd(g), newRestartCmd(g),
		newKillCmd(g), newRmCmd(g, "rm"), newPsCmd(g, "ps"), newLogsCmd(g), newExecCmd(g),
		newContainerInspectCmd(g, "inspect"), newWaitCmd(g), newPauseCmd(g, true), newPauseCmd(g, false),
		newRenameCmd(g), newTopCmd(g), newPortCmd(g), newAttachCmd(g),
		newCpCmd(g), newExportCmd(g), newDiffCmd(g), newCommitCmd(g), newStatsCmd(g), newUpdateCmd(g),
		newInfoCmd(g), newVersionCmd(g), newEventsCmd(g),
	} {
		root.AddCommand(c)
	}
	group.AddCommand(
		newCreateCmd(g), newRunCmd(g), newStartCmd(g), newStopCmd(g), newRestartCmd(g),
		newKillCmd(g), newRmCmd(g, "rm"), newPsCmd(g, "ls"), newLogsCmd(g), newExecCmd(g),
		newContainerInspectCmd(g, "inspect"), newWaitCmd(g), newPauseCmd(g, true), newPauseCmd(g, false),
		newRenameCmd(g), newTopCmd(g), newPortCmd(g), newAttachCmd(g), newContainerPruneCmd(g), newReleaseNetworkCmd(g),
		newCpCmd(g), newExportCmd(g), newDiffCmd(g), newCommitCmd(g), newStatsCmd(g), newUpdateCmd(g),
	)
	root.AddCommand(group)
}

// newReleaseNetworkCmd is what a container's monitor runs after its final
// exit: it releases the container's address, published ports and names
// (runc.Runtime.Release), unless it runs again meanwhile.
func newReleaseNetworkCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "release-network CONTAINER TOKEN",
		Short:  "Release an exited container's network (run by its monitor)",
		Hidden: true,
		Args:   cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			return rt.Release(cmd.Context(), args[0], args[1])
		},
	}
}
