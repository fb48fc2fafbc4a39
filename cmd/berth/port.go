package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/runtime/runc"
)

// newPortCmd is `docker port`: the container's bindings as its inspect
// shows them (NetworkSettings.Ports, so nothing while it is not running),
// in Docker's order and with Docker's words.
func newPortCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "port CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "List port mappings or a specific mapping for the container",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			private := ""
			if len(args) == 2 {
				private = args[1]
				port, _, _ := strings.Cut(private, "/")
				if _, err := strconv.ParseUint(port, 10, 16); err != nil {
					return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid port (%s): %v", port, err))
				}
			}
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			rec, st, err := rt.State(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			lines, ok := runc.PortLines(rt.PortMap(cmd.Context(), rec, st), private)
			if !ok {
				return errdefs.ErrNotFound.WithMessage(fmt.Sprintf("no public port '%s' published for %s", private, args[0]))
			}
			for _, l := range lines {
				fmt.Fprintln(cmd.OutOrStdout(), l)
			}
			return nil
		},
	}
}
