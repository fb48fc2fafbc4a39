//go:build !lean

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/images"
)

// registrySettingsPath is the registry settings file: $BERTH_REGISTRIES_CONFIG,
// else <root>/registries.json if it exists, else /etc/berth/registries.json.
func registrySettingsPath(g *globals) string {
	if p := os.Getenv("BERTH_REGISTRIES_CONFIG"); p != "" {
		return p
	}
	if p := filepath.Join(g.root, "registries.json"); fileExists(p) {
		return p
	}
	return "/etc/berth/registries.json"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// dockerConfigDir is where Docker keeps config.json: $DOCKER_CONFIG or
// ~/.docker.
func dockerConfigDir() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".docker"
	}
	return filepath.Join(home, ".docker")
}

// openRegistries builds the registry client from the settings file;
// $BERTH_CERTS_DIR overrides its certs-dir.
func openRegistries(g *globals) (*images.Registries, error) {
	cfg, err := images.LoadRegistryConfig(registrySettingsPath(g))
	if err != nil {
		return nil, err
	}
	if d := os.Getenv("BERTH_CERTS_DIR"); d != "" {
		cfg.CertsDir = d
	}
	return images.NewRegistries(cfg, dockerConfigDir()), nil
}

type pullOptions struct {
	all      bool
	quiet    bool
	platform string
	progress string
}

func newPullCmd(g *globals) *cobra.Command {
	var o pullOptions
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] NAME[:TAG|@DIGEST]",
		Short: "Download an image from a registry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPull(cmd, g, args[0], o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all-tags", "a", false, "Download all tagged images in the repository")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Suppress verbose output")
	f.StringVar(&o.platform, "platform", "", "Set platform if server is multi-platform capable (os/arch[/variant])")
	f.StringVar(&o.progress, "progress", "auto", "Progress output: auto, tty, plain, json or quiet")
	return cmd
}

// openTransfer checks the progress flags and opens what pull and push move
// images between: the local store and the registries.
func openTransfer(g *globals, progress string, quiet bool, out io.Writer) (progressMode, *images.Store, *images.Registries, error) {
	mode, err := parseProgress(progress, quiet, out)
	if err != nil {
		return "", nil, nil, err
	}
	s, err := openImageStore(g)
	if err != nil {
		return "", nil, nil, err
	}
	reg, err := openRegistries(g)
	if err != nil {
		return "", nil, nil, err
	}
	return mode, s, reg, nil
}

func runPull(cmd *cobra.Command, g *globals, ref string, o pullOptions) error {
	out := cmd.OutOrStdout()
	mode, s, reg, err := openTransfer(g, o.progress, o.quiet, out)
	if err != nil {
		return err
	}
	pp := newProgressPrinter(out, mode)
	opts := images.PullOptions{Platform: o.platform, Progress: pp.Update}
	var results []images.PullResult
	before := map[string]string{}
	if o.all {
		results, err = reg.PullAllTags(cmd.Context(), s, ref, opts)
	} else {
		if full, nerr := images.Normalize(ref); nerr == nil {
			if id, rerr := s.Resolve(cmd.Context(), full); rerr == nil {
				before[full] = id
			}
		}
		var res images.PullResult
		res, err = reg.Pull(cmd.Context(), s, ref, opts)
		if err == nil {
			results = append(results, res)
		}
	}
	if err != nil {
		return err
	}
	for _, res := range results {
		switch mode {
		case "quiet":
		case "json":
		default:
			if id, ok := before[res.Ref]; ok && id == res.ID {
				fmt.Fprintf(out, "Status: Image is up to date for %s\n", images.Familiar(res.Ref))
			} else {
				fmt.Fprintf(out, "Status: Downloaded newer image for %s\n", images.Familiar(res.Ref))
			}
		}
		if mode != "json" {
			fmt.Fprintln(out, res.Ref)
		}
	}
	return nil
}

type pushOptions struct {
	all      bool
	quiet    bool
	progress string
}

func newPushCmd(g *globals) *cobra.Command {
	var o pushOptions
	cmd := &cobra.Command{
		Use:   "push [OPTIONS] NAME[:TAG]",
		Short: "Upload an image to a registry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			mode, s, reg, err := openTransfer(g, o.progress, o.quiet, out)
			if err != nil {
				return err
			}
			refs, err := pushRefs(cmd, s, args[0], o.all)
			if err != nil {
				return err
			}
			if mode == "plain" || mode == "tty" {
				repo, _, _ := images.SplitName(refs[0])
				fmt.Fprintf(out, "The push refers to repository [%s]\n", repo)
			}
			for _, ref := range refs {
				pp := newProgressPrinter(out, mode)
				res, err := reg.Push(cmd.Context(), s, ref, images.PushOptions{Progress: pp.Update})
				if err != nil {
					return err
				}
				// The other modes had "TAG: digest: … size: N" as the
				// push's last progress event.
				if mode == "quiet" {
					fmt.Fprintln(out, res.Ref)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all-tags", "a", false, "Push all tags of an image to the repository")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Suppress verbose output")
	f.StringVar(&o.progress, "progress", "auto", "Progress output: auto, tty, plain, json or quiet")
	return cmd
}

// pushRefs is the full references push sends: ref, or with all every local
// tag of ref's repository (ref must then have no tag, as in Docker).
func pushRefs(cmd *cobra.Command, s *images.Store, ref string, all bool) ([]string, error) {
	full, err := images.NormalizeTag(ref)
	if err != nil {
		return nil, err
	}
	if !all {
		return []string{full}, nil
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil || !reference.IsNameOnly(named) {
		return nil, errdefs.ErrInvalidArgument.WithMessage("tag can't be used with --all-tags/-a")
	}
	list, err := s.List(cmd.Context())
	if err != nil {
		return nil, err
	}
	var refs []string
	for _, im := range list {
		for _, n := range im.Names {
			if r, err := reference.ParseNormalizedNamed(n); err == nil && r.Name() == named.Name() {
				if _, ok := r.(reference.Tagged); ok {
					refs = append(refs, n)
				}
			}
		}
	}
	if len(refs) == 0 {
		return nil, errdefs.ErrNotFound.WithMessage("an image does not exist locally with the tag: " + reference.FamiliarName(named))
	}
	slices.Sort(refs)
	return refs, nil
}

// pullMissing pulls ref, which is not local, for ensurePlatformImage.
func pullMissing(cmd *cobra.Command, g *globals, s *images.Store, ref, platform string, progress io.Writer) (string, error) {
	full, nerr := images.Normalize(ref)
	if nerr != nil {
		return "", nerr
	}
	fmt.Fprintf(progress, "Unable to find image '%s' locally\n", images.Familiar(full))
	reg, err := openRegistries(g)
	if err != nil {
		return "", err
	}
	mode, _ := parseProgress("auto", false, progress)
	pp := newProgressPrinter(progress, mode)
	res, err := reg.Pull(cmd.Context(), s, full, images.PullOptions{Platform: platform, Progress: pp.Update})
	if err != nil {
		return "", err
	}
	fmt.Fprintf(progress, "Status: Downloaded newer image for %s\n", images.Familiar(full))
	return res.ID, nil
}

// pullAgain pulls ref (for platform, "" for this machine's) whether or not
// it is local, and says, as docker pull does, whether the local image
// changed.
func pullAgain(cmd *cobra.Command, g *globals, ref, platform string, progress io.Writer) error {
	full, err := images.Normalize(ref)
	if err != nil {
		return err
	}
	mode, s, reg, err := openTransfer(g, "auto", false, progress)
	if err != nil {
		return err
	}
	before, _ := s.Resolve(cmd.Context(), full)
	res, err := reg.Pull(cmd.Context(), s, full, images.PullOptions{Platform: platform, Progress: newProgressPrinter(progress, mode).Update})
	if err != nil {
		return err
	}
	if res.ID == before {
		fmt.Fprintf(progress, "Status: Image is up to date for %s\n", images.Familiar(full))
	} else {
		fmt.Fprintf(progress, "Status: Downloaded newer image for %s\n", images.Familiar(full))
	}
	return nil
}

// Pull pulls ref into the store.
func (p registryPuller) Pull(ctx context.Context, ref string) (string, error) {
	full, err := images.Normalize(ref)
	if err != nil {
		return "", err
	}
	reg, err := openRegistries(p.g)
	if err != nil {
		return "", err
	}
	return images.StorePuller{Registries: reg, Store: p.store}.Pull(ctx, full)
}
