//go:build !lean

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/images/build"
	"github.com/berth-dev/berth/spec"
)

// imageBuilder builds an image from a Dockerfile (images/build.Builder).
type imageBuilder interface {
	Build(ctx context.Context, opts build.Options) (string, error)
}

// lazyBuilder makes the real builder on the first build only.
type lazyBuilder struct{ g *globals }

func (l lazyBuilder) Build(ctx context.Context, opts build.Options) (string, error) {
	if opts.Attacher == nil {
		opts.Attacher = newBuildNetworks(l.g)
	}
	b, err := newBuilder(l.g)
	if err != nil {
		return "", err
	}
	return b.Build(ctx, opts)
}

// buildOptionsFor turns a service's build: section into the builder's
// options, tagged with the image name the service runs.
func buildOptionsFor(p *types.Project, s types.ServiceConfig, noCache, pull bool, progress io.Writer) build.Options {
	b := s.Build
	o := build.Options{
		ContextDir: b.Context, Dockerfile: b.Dockerfile, Target: b.Target,
		Labels: maps.Clone(map[string]string(b.Labels)), NoCache: b.NoCache || noCache, Pull: b.Pull || pull,
		Network: b.Network, Platform: s.Platform, Tags: append([]string{spec.ImageName(p, s)}, b.Tags...), Progress: progress,
	}
	if o.ContextDir == "" {
		o.ContextDir = p.WorkingDir
	}
	if b.DockerfileInline != "" {
		o.DockerfileInline = []byte(b.DockerfileInline)
	}
	for k, v := range b.Args {
		if v != nil {
			if o.Args == nil {
				o.Args = map[string]string{}
			}
			o.Args[k] = *v
		}
	}
	for _, k := range b.SSH { // ssh: [default] means the agent of $SSH_AUTH_SOCK
		path := k.Path
		if path == "" {
			path = os.Getenv("SSH_AUTH_SOCK")
		}
		if path != "" {
			if o.SSH == nil {
				o.SSH = map[string]string{}
			}
			o.SSH[k.ID] = path
		}
	}
	for _, sec := range b.Secrets {
		if f := p.Secrets[sec.Source].File; f != "" {
			if o.Secrets == nil {
				o.Secrets = map[string]string{}
			}
			id := sec.Target
			if id == "" {
				id = sec.Source
			}
			o.Secrets[filepath.Base(id)] = f
		}
	}
	return o
}

// buildTodo builds the images of the services todo, in name order.
func buildTodo(ctx context.Context, w *stackWorld, p *types.Project, todo []string, progress io.Writer, prog *progress) error {
	if w.Builder == nil {
		return errUnsupported("building images")
	}
	slices.Sort(todo)
	for _, name := range todo {
		s := p.Services[name]
		id := "Image " + spec.ImageName(p, s)
		prog.show(id, name, "Building", nil)
		if _, err := w.Builder.Build(ctx, buildOptionsFor(p, s, false, false, progress)); err != nil {
			prog.show(id, name, "Error", err)
			return fmt.Errorf("build service %s: %w", name, err)
		}
		prog.show(id, name, "Built", nil)
	}
	return nil
}

func newComposeBuildCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	var noCache, pull, quiet bool
	var args []string
	cmd := &cobra.Command{
		Use:   "build [OPTIONS] [SERVICE...]",
		Short: "Build the images of the stack's services",
		RunE: func(cmd *cobra.Command, services []string) error {
			ctx := cmd.Context()
			p, err := loadProject(ctx, sf)
			if err != nil {
				return err
			}
			if err := checkServices(p, services); err != nil {
				return err
			}
			extra, err := keyValues("build-arg", args)
			if err != nil {
				return err
			}
			w, err := env.open(env.g)
			if err != nil {
				return err
			}
			if w.Builder == nil {
				return errUnsupported("build")
			}
			if len(services) == 0 {
				services = p.ServiceNames()
			}
			var progress io.Writer = cmd.ErrOrStderr()
			if quiet {
				progress = nil
			}
			var errs []error
			for _, name := range services {
				s := p.Services[name]
				if s.Build == nil {
					continue
				}
				o := buildOptionsFor(p, s, noCache, pull, progress)
				for k, v := range extra {
					if o.Args == nil {
						o.Args = map[string]string{}
					}
					o.Args[k] = v
				}
				if _, err := w.Builder.Build(ctx, o); err != nil {
					errs = append(errs, fmt.Errorf("build service %s: %w", name, err))
				}
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVar(&noCache, "no-cache", false, "do not use the build cache")
	cmd.Flags().BoolVar(&pull, "pull", false, "always pull newer base images")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print nothing but errors")
	stringArrayVar(cmd.Flags(), &args, "build-arg", nil, "set a build argument (NAME=VALUE); repeatable")
	return cmd
}
