package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/reconcile"
	"github.com/berth-dev/berth/spec"
)

// downOptions are the flags of `berth down`, as `docker compose down`.
type downOptions struct {
	stack         *stackFlags
	volumes       bool
	rmi           string
	removeOrphans bool
	timeout       int
	progress      string
}

// newDownCmd is `berth down`; sf is the compose group's stack flags, or nil
// to register them on the command itself.
func newDownCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	o := &downOptions{stack: sf}
	cmd := &cobra.Command{
		Use:   "down [OPTIONS]",
		Short: "Stop and remove the stack's containers and networks",
		Long: `Plan the removal of the stack's containers (dependents first), its networks
and, with -v, its volumes; print the plan, then apply it. Only objects with
the stack's label are touched. With -p NAME it works without the stack
file, finding the stack's objects by their labels.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDown(cmd, env, o)
		},
	}
	fs := cmd.Flags()
	if o.stack == nil {
		o.stack = &stackFlags{}
		o.stack.register(fs)
	}
	fs.BoolVarP(&o.volumes, "volumes", "v", false, "also remove named volumes and anonymous volumes")
	fs.StringVar(&o.rmi, "rmi", "", `remove images: "local" (those without a custom tag) or "all"`)
	fs.BoolVar(&o.removeOrphans, "remove-orphans", false, "remove containers of services not in the stack")
	fs.IntVarP(&o.timeout, "timeout", "t", 0, "seconds to wait for a container to stop before killing it")
	fs.StringVar(&o.progress, "progress", "auto", "progress output: auto, tty, plain, json or quiet")
	return cmd
}

func runDown(cmd *cobra.Command, env *stackEnv, o *downOptions) error {
	ctx := cmd.Context()
	if o.rmi != "" && o.rmi != "local" && o.rmi != "all" {
		return fmt.Errorf("--rmi %q: want local or all: %w", o.rmi, errdefs.ErrInvalidArgument)
	}
	opts := reconcile.DownOptions{RemoveOrphans: o.removeOrphans, Volumes: o.volumes}
	if cmd.Flags().Changed("timeout") {
		if o.timeout < 0 {
			return fmt.Errorf("--timeout %d: want seconds >= 0: %w", o.timeout, errdefs.ErrInvalidArgument)
		}
		d := time.Duration(o.timeout) * time.Second
		opts.Timeout = &d
	}
	prog, err := newProgress(o.progress, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	p, name, err := projectOrName(ctx, o.stack)
	if err != nil && o.stack.project != "" {
		// A broken stack file must not keep a stack up: with -p, down
		// finds what to remove by its labels.
		fmt.Fprintf(cmd.ErrOrStderr(), "berth: %v\nberth: taking stack %s down by its labels\n", err, o.stack.project)
		p, name, err = nil, o.stack.project, nil
	}
	if err != nil {
		return err
	}
	w, err := env.open(env.g)
	if err != nil {
		return err
	}
	if o.rmi != "" && w.Rmi == nil {
		return errUnsupported("down --rmi")
	}
	lock, err := lockStack(ctx, env.g, name)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	var refs []string
	if p != nil {
		refs = reconcile.ImageRefs(p)
	}
	obs, err := reconcile.Observe(ctx, name, refs, w.Deps)
	if err != nil {
		return err
	}
	plan, err := reconcile.MakeDownPlan(name, p, obs, opts)
	if err != nil {
		return err
	}
	rmi := downImages(name, p, obs, plan, o.rmi)
	if err := showPlan(cmd.OutOrStdout(), prog.mode, plan); err != nil {
		return err
	}
	if !plan.Empty() {
		// Stopping is mostly waiting for the grace periods: all at once, as
		// Compose does, where the dependency order allows.
		par := parallelLimit(max(8, len(plan.Ops)))
		files, err := stackFilesDir(env.g, name)
		if err != nil {
			return err
		}
		if err := reconcile.Apply(ctx, plan, w.Deps, reconcile.ApplyOptions{Progress: prog.event, Parallel: par, FilesDir: files}); err != nil {
			return err
		}
		// Gone when the stack is: the directory is removed once empty.
		os.Remove(files)
	}
	if err := removeStackRecord(env.g, name); err != nil {
		return err
	}
	os.Remove(filepath.Join(env.g.root, "stacks", name)) // once empty
	return removeImages(ctx, w.Rmi, rmi, prog)
}

// downImages are the images --rmi removes: with "local" those the stack
// builds (no image: of their own), with "all" every image its services or
// the containers the plan removes use.
func downImages(stack string, p *types.Project, obs reconcile.Observed, plan *reconcile.Plan, mode string) []string {
	if mode == "" {
		return nil
	}
	var refs []string
	if p != nil {
		for _, s := range p.Services {
			if mode == "all" || s.Image == "" {
				refs = append(refs, spec.ImageName(p, s))
			}
		}
	}
	removed := map[string]bool{}
	for _, op := range plan.Ops {
		if op.Resource == reconcile.ResourceContainer {
			removed[op.ContainerID] = true
		}
	}
	for _, c := range obs.Containers {
		if !removed[c.ID] || c.Image == "" {
			continue
		}
		if mode == "all" || strings.HasPrefix(c.Image, stack+"-") {
			refs = append(refs, c.Image)
		}
	}
	slices.Sort(refs)
	return slices.Compact(refs)
}

// removeImages removes the images; one already gone is fine, one still
// used elsewhere is reported and the rest go on.
func removeImages(ctx context.Context, im imageRemover, refs []string, prog *progress) error {
	var failed bool
	for _, ref := range refs {
		_, err := im.Remove(ctx, ref, false)
		switch {
		case errdefs.IsNotFound(err):
		case err != nil:
			failed = true
			prog.show("Image "+ref, "", "Error", err)
		default:
			prog.show("Image "+ref, "", "Removed", nil)
		}
	}
	if failed {
		return &exitError{code: 1}
	}
	return nil
}
