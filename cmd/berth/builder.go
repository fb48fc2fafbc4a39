package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/images/buildcache"
	"github.com/berth-dev/berth/network/netns"
)

// addBuildCommands adds `berth build` and `berth builder prune`.
func addBuildCommands(root *cobra.Command, g *globals) {
	root.AddCommand(newBuildCmd(g))
	builder := &cobra.Command{Use: "builder", Short: "Manage the build cache"}
	builder.AddCommand(newBuilderPruneCmd(g))
	root.AddCommand(builder)
}

// buildAttached tells the network clean-up (rm, network rm and prune) that
// an attachment is a RUN step's, whose namespace is there while it runs:
// not a vanished container's to take away. A killed build's is reaped by
// the next build.
func buildAttached(g *globals) func(id string) bool {
	dir := buildNetnsDir(g)
	return func(id string) bool {
		if !strings.HasPrefix(id, buildcache.RunIDPrefix) {
			return false
		}
		_, err := os.Stat(netns.Path(dir, id))
		return err == nil
	}
}

func buildNetnsDir(g *globals) string { return filepath.Join(g.runRoot, "build", "netns") }

func newBuilderPruneCmd(g *globals) *cobra.Command {
	var all, force bool
	var filters []string
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Remove build cache",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// Of Docker's filters (BuildKit's), only until: berth's
			// records have no labels, descriptions or use counts.
			f, err := parsePruneFilters(filters, time.Now(), "until")
			if err != nil {
				return err
			}
			if !force {
				warning := "WARNING! This will remove all dangling build cache."
				if all {
					warning = "WARNING! This will remove all build cache."
				}
				if !confirmed(cmd.OutOrStdout(), cmd.InOrStdin(), warning) {
					return nil
				}
			}
			ctx := cmd.Context()
			st, err := openImageStore(g)
			if err != nil {
				return err
			}
			// Plain prune deletes Docker's dangling build cache: records
			// with a layer no named image has (an rmi'd image's steps, an
			// intermediate stage's). A record of a named image's layers
			// (FROM base, ENV ...) costs no layer space and stays.
			var keep func(chains []string) bool
			if !all {
				named, err := namedImageChains(ctx, st)
				if err != nil {
					return err
				}
				keep = func(chains []string) bool {
					for _, c := range chains {
						if !named[c] {
							return false
						}
					}
					return true
				}
			}
			c := &buildcache.Cache{Dir: filepath.Join(g.root, "build-cache")}
			var res buildcache.PruneResult
			if f.until.IsZero() {
				res, err = c.Prune(all, keep)
			} else {
				res, err = c.PruneUntil(all, keep, f.until)
			}
			if err != nil {
				return err
			}
			// The store keeps the layers cache records name (KeepLayers):
			// collecting now frees those of the deleted records.
			freed, err := st.GC(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Deleted build cache objects: %d records, %d cache mounts\nTotal reclaimed space: %s\n", res.Records, res.Mounts, buildCacheSize(res.Bytes+freed))
			return nil
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Remove all unused build cache, not just dangling ones")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	stringArrayVar(cmd.Flags(), &filters, "filter", nil, "Provide filter values (e.g. \"until=24h\")")
	return cmd
}

// namedImageChains is the set of layer chain IDs (sha256:...) of the images
// that have a name.
func namedImageChains(ctx context.Context, st *images.Store) (map[string]bool, error) {
	ims, err := st.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("builder prune: %w", err)
	}
	named := map[string]bool{}
	for _, im := range ims {
		if im.Dangling() {
			continue
		}
		for _, l := range im.Layers {
			named[l.ChainID.String()] = true
		}
	}
	return named, nil
}

func buildCacheSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2fGB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2fMB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.2fkB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}
