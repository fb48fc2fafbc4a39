package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/images"
)

func newSaveCmd(g *globals) *cobra.Command {
	var output, format string
	cmd := &cobra.Command{
		Use:   "save [OPTIONS] IMAGE [IMAGE...]",
		Short: "Save one or more images to a tar archive (streamed to STDOUT by default)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openImageStore(g)
			if err != nil {
				return err
			}
			if output == "" || output == "-" {
				out := cmd.OutOrStdout()
				if f, ok := out.(*os.File); ok && isTerminal(f) {
					return errdefs.ErrInvalidArgument.WithMessage("cowardly refusing to save to a terminal. Use the -o flag or redirect")
				}
				return s.Save(cmd.Context(), out, args, images.ArchiveFormat(format))
			}
			// Written beside the target and renamed: a failed save leaves
			// no half archive under the name.
			tmp, err := os.CreateTemp(filepath.Dir(output), ".berth-save-*")
			if err != nil {
				return fmt.Errorf("save: %w", err)
			}
			defer os.Remove(tmp.Name())
			defer tmp.Close()
			if err := s.Save(cmd.Context(), tmp, args, images.ArchiveFormat(format)); err != nil {
				return err
			}
			if err := tmp.Chmod(0o644); err != nil {
				return fmt.Errorf("save: %w", err)
			}
			if err := tmp.Close(); err != nil {
				return fmt.Errorf("save: %w", err)
			}
			if err := os.Rename(tmp.Name(), output); err != nil {
				return fmt.Errorf("save: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Write to a file, instead of STDOUT")
	cmd.Flags().StringVar(&format, "format", "docker", "Archive format: docker (docker save's, also an OCI layout) or oci")
	return cmd
}

func newLoadCmd(g *globals) *cobra.Command {
	var input string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "load [OPTIONS]",
		Short: "Load images from a tar archive or STDIN",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openImageStore(g)
			if err != nil {
				return err
			}
			var r io.Reader = cmd.InOrStdin()
			if input != "" && input != "-" {
				f, err := os.Open(input)
				if err != nil {
					return fmt.Errorf("load: %w", err)
				}
				defer f.Close()
				r = f
			} else if f, ok := r.(*os.File); ok && isTerminal(f) {
				return errdefs.ErrInvalidArgument.WithMessage("requested load from stdin, but stdin is empty")
			}
			loaded, err := s.Load(cmd.Context(), r)
			out := cmd.OutOrStdout()
			for _, l := range loaded {
				if len(l.Names) == 0 {
					fmt.Fprintf(out, "Loaded image ID: %s\n", l.ID)
				}
				for _, n := range l.Names {
					fmt.Fprintf(out, "Loaded image: %s\n", images.Familiar(n))
				}
			}
			return err
		},
	}
	cmd.Flags().StringVarP(&input, "input", "i", "", "Read from tar archive file, instead of STDIN")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Suppress the load output (accepted for Docker compatibility)")
	return cmd
}
