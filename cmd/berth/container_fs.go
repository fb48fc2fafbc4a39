package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/runtime/runc"
)

// splitCpArg splits "CONTAINER:PATH"; a host path has no container part.
// Like Docker, a path starting with / or . is always local.
func splitCpArg(arg string) (container, p string) {
	if strings.HasPrefix(arg, "/") || strings.HasPrefix(arg, ".") {
		return "", arg
	}
	c, p, ok := strings.Cut(arg, ":")
	if !ok {
		return "", arg
	}
	return c, p
}

func newCpCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n  berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
		Short: "Copy files/folders between a container and the local filesystem",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			srcC, src := splitCpArg(args[0])
			dstC, dst := splitCpArg(args[1])
			switch {
			case srcC != "" && dstC != "":
				return errors.New("copying between containers is not supported")
			case srcC == "" && dstC == "":
				return errors.New("must specify at least one container source")
			}
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			ref := srcC + dstC
			return rt.WithRootfs(cmd.Context(), ref, func(_ *runc.Record, dir string) error {
				root, err := os.OpenRoot(dir)
				if err != nil {
					return err
				}
				defer root.Close()
				if srcC != "" {
					if dst == "-" {
						return runc.TarFrom(root, src, cmd.OutOrStdout())
					}
					return runc.CopyOut(root, src, dst)
				}
				if src == "-" {
					return runc.UntarTo(root, dst, cmd.InOrStdin())
				}
				return runc.CopyIn(root, src, dst)
			})
		},
	}
	cmd.Flags().BoolP("archive", "a", false, "Archive mode (copy all uid/gid information)")
	cmd.Flags().BoolP("follow-link", "L", false, "Always follow symbol link in SRC_PATH")
	return cmd
}

func newExportCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "export [OPTIONS] CONTAINER",
		Short: "Export a container's filesystem as a tar archive",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var w io.Writer = cmd.OutOrStdout()
			if output != "" {
				f, err := os.Create(output)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			} else if f, ok := w.(*os.File); ok && isTerminal(f) {
				return errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")
			}
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			return rt.WithRootfs(cmd.Context(), args[0], func(_ *runc.Record, dir string) error {
				root, err := os.OpenRoot(dir)
				if err != nil {
					return err
				}
				defer root.Close()
				return runc.TarFrom(root, "/", w)
			})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Write to a file, instead of STDOUT")
	return cmd
}

func newDiffCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "diff CONTAINER",
		Short: "Inspect changes to files or directories on a container's filesystem",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			changes, err := rt.Diff(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			for _, c := range changes {
				fmt.Fprintln(cmd.OutOrStdout(), c.Kind, c.Path)
			}
			return nil
		},
	}
}

func newCommitCmd(g *globals) *cobra.Command {
	var (
		author, message string
		changes         []string
		pause           bool
	)
	cmd := &cobra.Command{
		Use:   "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
		Short: "Create a new image from a container's changes",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			store, err := openImageStore(g)
			if err != nil {
				return err
			}
			rec, st, err := rt.State(ctx, args[0])
			if err != nil {
				return err
			}
			if pause && st.Status == "running" {
				if err := rt.Pause(ctx, rec.ID); err != nil {
					return err
				}
				defer rt.Unpause(ctx, rec.ID)
			}
			c := rec.Config
			cfg := containerImageConfig(rec)
			name := ""
			if len(args) == 2 {
				name = args[1]
			}
			id, err := store.Commit(ctx, images.CommitOptions{
				Parent: rec.ImageID, Upper: rt.UpperDir(rec.ID), Config: cfg, Changes: changes,
				Comment: message, Author: author, Name: name,
				CreatedBy: strings.Join(append(append([]string{}, c.Entrypoint...), c.Cmd...), " "),
			})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), id)
			return nil
		},
	}
	cmd.Flags().StringVarP(&author, "author", "a", "", "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")")
	cmd.Flags().StringVarP(&message, "message", "m", "", "Commit message")
	stringArrayVarP(cmd.Flags(), &changes, "change", "c", nil, "Apply Dockerfile instruction to the created image")
	cmd.Flags().BoolVarP(&pause, "pause", "p", true, "Pause container during commit")
	return cmd
}
