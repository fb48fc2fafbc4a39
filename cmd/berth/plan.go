package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/reconcile"
)

// planOptions are the flags of `berth plan`: the stack flags and the
// convergence flags of `docker compose up`.
type planOptions struct {
	stack              *stackFlags
	format             string
	removeOrphans      bool
	forceRecreate      bool
	noRecreate         bool
	alwaysRecreateDeps bool
	noDeps             bool
	scale              []string
}

// newPlanCmd is `berth plan`; sf is the compose group's stack flags, or nil
// to register them on the command itself.
func newPlanCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	o := &planOptions{stack: sf}
	cmd := &cobra.Command{
		Use:   "plan [OPTIONS] [SERVICE...]",
		Short: "Show what up would change, and why",
		Long: `Load the stack, observe what exists and print the operations up would run,
each with its cause; a recreate lists the fields that changed. Nothing is
changed.

Exit status: 0 when there is nothing to do, 2 when there are changes,
1 on error (like terraform plan -detailed-exitcode).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPlan(cmd, env, o, args)
		},
	}
	fs := cmd.Flags()
	if o.stack == nil {
		o.stack = &stackFlags{}
		o.stack.register(fs)
	}
	fs.StringVar(&o.format, "format", "text", "output format: text or json")
	fs.BoolVar(&o.removeOrphans, "remove-orphans", false, "remove containers of services not in the stack")
	fs.BoolVar(&o.forceRecreate, "force-recreate", false, "recreate containers even if their configuration is unchanged")
	fs.BoolVar(&o.noRecreate, "no-recreate", false, "do not recreate existing containers")
	fs.BoolVar(&o.alwaysRecreateDeps, "always-recreate-deps", false, "recreate the dependencies of the named services")
	fs.BoolVar(&o.noDeps, "no-deps", false, "leave the dependencies of the named services alone")
	stringArrayVar(fs, &o.scale, "scale", nil, "scale SERVICE to NUM replicas (SERVICE=NUM); repeatable")
	return cmd
}

// options checks the flags and turns them into reconcile.Options.
func (o *planOptions) options(services []string) (reconcile.Options, error) {
	opts := reconcile.Options{
		Services:           services,
		NoDeps:             o.noDeps,
		ForceRecreate:      o.forceRecreate,
		NoRecreate:         o.noRecreate,
		AlwaysRecreateDeps: o.alwaysRecreateDeps,
		RemoveOrphans:      o.removeOrphans,
	}
	switch {
	case o.format != "text" && o.format != "json":
		return opts, fmt.Errorf("--format %q: want text or json: %w", o.format, errdefs.ErrInvalidArgument)
	case o.forceRecreate && o.noRecreate:
		return opts, fmt.Errorf("--force-recreate and --no-recreate are incompatible: %w", errdefs.ErrInvalidArgument)
	case o.alwaysRecreateDeps && o.noRecreate:
		return opts, fmt.Errorf("--always-recreate-deps and --no-recreate are incompatible: %w", errdefs.ErrInvalidArgument)
	}
	for _, s := range o.scale {
		name, num, ok := strings.Cut(s, "=")
		n, err := strconv.Atoi(num)
		if !ok || name == "" || err != nil || n < 0 {
			return opts, fmt.Errorf("--scale %q: want SERVICE=NUM: %w", s, errdefs.ErrInvalidArgument)
		}
		if opts.Scale == nil {
			opts.Scale = map[string]int{}
		}
		opts.Scale[name] = n
	}
	return opts, nil
}

func runPlan(cmd *cobra.Command, env *stackEnv, o *planOptions, services []string) error {
	opts, err := o.options(services)
	if err != nil {
		return err
	}
	// The whole project is loaded, not just the named services: the
	// others must not look like orphans.
	p, err := loadProject(cmd.Context(), o.stack)
	if err != nil {
		return err
	}
	w, err := env.open(env.g)
	if err != nil {
		return err
	}
	obs, err := reconcile.Observe(cmd.Context(), p.Name, reconcile.ImageRefs(p), w.Deps)
	if err != nil {
		return err
	}
	plan, err := reconcile.MakePlan(p, obs, opts)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if o.format == "json" {
		err = plan.WriteJSON(out)
	} else {
		err = plan.WriteText(out)
	}
	if err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	if !plan.Empty() {
		return &exitError{code: 2}
	}
	return nil
}
