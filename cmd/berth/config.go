package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/spec"
)

// configOptions are the flags of `berth config`, as `docker compose config`.
type configOptions struct {
	stack         stackFlags
	format        string
	services      bool
	volumes       bool
	images        bool
	profiles      bool
	hash          string
	noInterpolate bool
	quiet         bool
	output        string
}

func newConfigCmd(g *globals) *cobra.Command {
	o := &configOptions{stack: stackFlags{g: g}}
	cmd := &cobra.Command{
		Use:   "config [OPTIONS] [SERVICE...]",
		Short: "Validate the stack and render its normalized model",
		Long: `Load the stack (Compose YAML or HCL) the way every stack command does and
print the normalized model, or parts of it. Every problem in the input is
reported with its file:line:col, and the exit status is 1.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConfig(cmd, o, args)
		},
	}
	fs := cmd.Flags()
	o.stack.register(fs)
	fs.StringVar(&o.format, "format", "yaml", "output format: yaml or json")
	fs.BoolVar(&o.services, "services", false, "print the service names, one per line")
	fs.BoolVar(&o.volumes, "volumes", false, "print the volume names, one per line")
	fs.BoolVar(&o.images, "images", false, "print the image of each service, one per line")
	fs.BoolVar(&o.profiles, "profiles", false, "print the profile names, one per line")
	fs.StringVar(&o.hash, "hash", "", `print "service hash" for the services named (comma-separated), or '*' for all`)
	fs.BoolVar(&o.noInterpolate, "no-interpolate", false, "do not interpolate environment variables")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "only validate the stack, print nothing")
	fs.StringVarP(&o.output, "output", "o", "", "write to this file instead of standard output")
	return cmd
}

func runConfig(cmd *cobra.Command, o *configOptions, services []string) error {
	st, err := o.stack.loadStack(cmd.Context(), func(so *spec.Options) {
		so.NoInterpolate = o.noInterpolate
		so.Services = services
	})
	if err != nil {
		var ps spec.Problems
		if errors.As(err, &ps) {
			return &exitError{code: 1, err: fmt.Errorf("invalid stack:\n%w", ps)}
		}
		return err
	}
	printWarnings(cmd.ErrOrStderr(), st.Warnings)
	if o.quiet {
		return nil
	}
	p := st.Project
	var out []byte
	lines := func(ss []string) []byte {
		if len(ss) == 0 {
			return nil
		}
		return []byte(strings.Join(ss, "\n") + "\n")
	}
	switch {
	case o.services:
		out = lines(p.ServiceNames())
	case o.volumes:
		out = lines(p.VolumeNames())
	case o.images:
		out = lines(spec.Images(p))
	case o.profiles:
		out = lines(spec.Profiles(p))
	case o.hash != "":
		hs, err := spec.Hashes(p, o.hash)
		if err != nil {
			return err
		}
		out = lines(hs)
	default:
		if out, err = spec.Render(p, o.format); err != nil {
			return err
		}
	}
	if o.output != "" {
		return atomicfile.Write(o.output, out, 0o644)
	}
	_, err = cmd.OutOrStdout().Write(out)
	return err
}
