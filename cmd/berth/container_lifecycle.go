package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/runtime"
)

// stopTimeoutFlag is -t/--timeout: seconds, unset means the container's own.
type stopTimeoutFlag struct{ secs int }

func (s *stopTimeoutFlag) register(cmd *cobra.Command) {
	cmd.Flags().IntVarP(&s.secs, "timeout", "t", 0, "Seconds to wait before killing the container")
	cmd.Flags().IntVar(&s.secs, "time", 0, "Seconds to wait before killing the container")
	_ = cmd.Flags().MarkHidden("time")
}

func (s *stopTimeoutFlag) value(cmd *cobra.Command) *time.Duration {
	if !cmd.Flags().Changed("timeout") && !cmd.Flags().Changed("time") {
		return nil
	}
	d := time.Duration(s.secs) * time.Second
	if s.secs < 0 {
		d = -1
	}
	return &d
}

func newStopCmd(g *globals) *cobra.Command {
	var t stopTimeoutFlag
	cmd := &cobra.Command{
		Use:   "stop [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Stop one or more running containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			return eachArg(cmd, args, func(ref string) error {
				if err := rt.Stop(cmd.Context(), ref, t.value(cmd)); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), ref)
				return nil
			})
		},
	}
	t.register(cmd)
	return cmd
}

func newRestartCmd(g *globals) *cobra.Command {
	var t stopTimeoutFlag
	cmd := &cobra.Command{
		Use:   "restart [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Restart one or more containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			return eachArg(cmd, args, func(ref string) error {
				if err := rt.Restart(cmd.Context(), ref, t.value(cmd)); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), ref)
				return nil
			})
		},
	}
	t.register(cmd)
	return cmd
}

func newKillCmd(g *globals) *cobra.Command {
	var sig string
	cmd := &cobra.Command{
		Use:   "kill [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Kill one or more running containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			return eachArg(cmd, args, func(ref string) error {
				if err := rt.Kill(cmd.Context(), ref, sig); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), ref)
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&sig, "signal", "s", "KILL", "Signal to send to the container")
	return cmd
}

func newRmCmd(g *globals, use string) *cobra.Command {
	var force, volumes bool
	cmd := &cobra.Command{
		Use:     use + " [OPTIONS] CONTAINER [CONTAINER...]",
		Short:   "Remove one or more containers",
		Aliases: []string{},
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			return eachArg(cmd, args, func(ref string) error {
				if err := rt.Remove(cmd.Context(), ref, runtime.RemoveOptions{Force: force, RemoveVolumes: volumes}); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), ref)
				return nil
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force the removal of a running container (uses SIGKILL)")
	cmd.Flags().BoolVarP(&volumes, "volumes", "v", false, "Remove anonymous volumes associated with the container")
	return cmd
}

func newPauseCmd(g *globals, pause bool) *cobra.Command {
	use, short := "pause", "Pause all processes within one or more containers"
	if !pause {
		use, short = "unpause", "Unpause all processes within one or more containers"
	}
	return &cobra.Command{
		Use:   use + " CONTAINER [CONTAINER...]",
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			return eachArg(cmd, args, func(ref string) error {
				op := rt.Pause
				if !pause {
					op = rt.Unpause
				}
				if err := op(cmd.Context(), ref); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), ref)
				return nil
			})
		},
	}
}

func newWaitCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "wait CONTAINER [CONTAINER...]",
		Short: "Block until one or more containers stop, then print their exit codes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			return eachArg(cmd, args, func(ref string) error {
				code, err := rt.Wait(cmd.Context(), ref)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), code)
				return nil
			})
		},
	}
}

func newRenameCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rename CONTAINER NEW_NAME",
		Short: "Rename a container",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			return rt.Rename(cmd.Context(), args[0], args[1])
		},
	}
}

func newContainerPruneCmd(g *globals) *cobra.Command {
	var force bool
	var filters []string
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all stopped containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := parsePruneFilters(filters, time.Now(), "until", "label", "label!")
			if err != nil {
				return err
			}
			if !force {
				if !confirmed(cmd.OutOrStdout(), cmd.InOrStdin(), "WARNING! This will remove all stopped containers.") {
					return nil
				}
			}
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			list, err := rt.ListObserved(cmd.Context())
			if err != nil {
				return err
			}
			var deleted []string
			var space int64
			for _, o := range list {
				if o.State.Status != "exited" && o.State.Status != "created" && o.State.Status != "dead" {
					continue
				}
				if !f.match(o.Record.Created, o.Record.Config.Labels) {
					continue
				}
				size := rt.SizeRw(o.Record.ID)
				if err := rt.Remove(cmd.Context(), o.Record.ID, runtime.RemoveOptions{}); err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), "berth:", err)
					continue
				}
				deleted = append(deleted, o.Record.ID)
				space += size
			}
			// Leftovers of a create killed midway: no record, nothing to list.
			_, _ = rt.RemoveOrphans(time.Minute)
			out := cmd.OutOrStdout()
			if len(deleted) > 0 {
				fmt.Fprintln(out, "Deleted Containers:")
				for _, id := range deleted {
					fmt.Fprintln(out, id)
				}
				fmt.Fprintln(out)
			}
			fmt.Fprintf(out, "Total reclaimed space: %s\n", humanSize(space))
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	stringArrayVar(cmd.Flags(), &filters, "filter", nil, "Provide filter values (e.g. \"until=<timestamp>\")")
	return cmd
}
