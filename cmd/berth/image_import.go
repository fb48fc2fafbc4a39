package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/images"
)

func newImportCmd(g *globals) *cobra.Command {
	var opts images.ImportOptions
	cmd := &cobra.Command{
		Use:   "import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
		Short: "Import the contents from a tarball to create a filesystem image",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 2 {
				opts.Name = args[1]
			}
			opts.Source = args[0]
			s, err := openImageStore(g)
			if err != nil {
				return err
			}
			r, err := openImportSource(cmd.Context(), args[0], cmd.InOrStdin())
			if err != nil {
				return err
			}
			defer r.Close()
			id, err := s.Import(cmd.Context(), r, opts)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), id)
			return nil
		},
	}
	f := cmd.Flags()
	stringArrayVarP(f, &opts.Changes, "change", "c", nil, "Apply Dockerfile instruction to the created image")
	f.StringVarP(&opts.Message, "message", "m", "", "Set commit message for imported image")
	f.StringVar(&opts.Platform, "platform", "", "Set platform if server is multi-platform capable")
	return cmd
}

// openImportSource opens "-" (stdin), an http(s) URL or a file.
func openImportSource(ctx context.Context, src string, stdin io.Reader) (io.ReadCloser, error) {
	if src == "-" {
		return io.NopCloser(stdin), nil
	}
	if u, err := url.Parse(src); err == nil && u.Scheme != "" && strings.Contains(src, "://") {
		if u.Scheme != "http" && u.Scheme != "https" {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("import from %s: only http and https URLs are supported", src))
		}
		return fetchURL(ctx, src)
	}
	f, err := os.Open(src)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	return f, nil
}
