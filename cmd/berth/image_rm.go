package main

import (
	"fmt"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/images"
)

func newRmiCmd(g *globals, use string) *cobra.Command {
	var force, noPrune bool
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS] IMAGE [IMAGE...]",
		Short: "Remove one or more images",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openImageStore(g)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			return eachArg(cmd, args, func(ref string) error {
				report, err := s.Remove(cmd.Context(), ref, force)
				for _, r := range report {
					if r.Untagged != "" {
						fmt.Fprintln(out, "Untagged:", r.Untagged)
					}
					if r.Deleted != "" {
						fmt.Fprintln(out, "Deleted:", r.Deleted)
					}
				}
				return err
			})
		},
	}
	if use == "rm" {
		cmd.Aliases = []string{"remove"}
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force removal of the image")
	cmd.Flags().BoolVar(&noPrune, "no-prune", false, "Do not delete untagged parents (berth images have none)")
	return cmd
}

func newImagePruneCmd(g *globals) *cobra.Command {
	var all, force bool
	var filters []string
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused images",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := parsePruneFilters(filters, time.Now(), "until", "label", "label!")
			if err != nil {
				return err
			}
			if !force {
				warning := "WARNING! This will remove all dangling images."
				if all {
					warning = "WARNING! This will remove all images without at least one container associated to them."
				}
				if !confirmed(cmd.OutOrStdout(), cmd.InOrStdin(), warning) {
					return nil
				}
			}
			s, err := openImageStore(g)
			if err != nil {
				return err
			}
			var match func(*images.Image) bool
			if len(filters) > 0 {
				// Docker's: the config's labels and created time.
				match = func(im *images.Image) bool {
					return f.match(im.Config.Created.Time, im.Config.Config.Labels)
				}
			}
			report, freed, err := s.PruneMatching(cmd.Context(), all, match)
			out := cmd.OutOrStdout()
			if len(report) > 0 {
				fmt.Fprintln(out, "Deleted Images:")
				for _, r := range report {
					if r.Untagged != "" {
						fmt.Fprintln(out, "untagged:", r.Untagged)
					}
					if r.Deleted != "" {
						fmt.Fprintln(out, "deleted:", r.Deleted)
					}
				}
				fmt.Fprintln(out)
			}
			fmt.Fprintln(out, "Total reclaimed space:", units.HumanSizeWithPrecision(float64(freed), 3))
			return err
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Remove all unused images, not just dangling ones")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	stringArrayVar(cmd.Flags(), &filters, "filter", nil, "Provide filter values (e.g. \"until=<timestamp>\")")
	return cmd
}
