package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"sync"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/reconcile"
	"github.com/berth-dev/berth/watch"
)

// developWatch runs the stack's develop.watch rules (package watch) on the
// real engine, beside the stack-file watch of watchStack: syncs, execs and
// restarts go to the containers through engineOps; a rebuild builds the
// service's image and converges that service alone, as `up --build
// --force-recreate --no-deps SERVICE` would.
type developWatch struct {
	w        *watch.Watcher
	services []string // the services named on the command line (all: none)
	out      io.Writer

	mu      sync.Mutex
	project *types.Project // the latest loaded stack, for rebuilds
}

func newDevelopWatch(cmd *cobra.Command, env *stackEnv, world *stackWorld, o *upOptions, services []string, opts reconcile.Options, prog *progress, out io.Writer, p *types.Project) (*developWatch, error) {
	rules, err := watch.Rules(p, services)
	if err != nil {
		return nil, fmt.Errorf("develop.watch: %w", err)
	}
	d := &developWatch{services: services, out: out, project: p}
	d.w = &watch.Watcher{
		Rules: rules,
		Log:   out,
		Exec: &watch.StackExecutor{
			Stack: p.Name,
			Ops:   engineOps{w: world, out: out},
			RebuildService: func(ctx context.Context, service string) error {
				return d.rebuild(ctx, cmd, env, world, o, opts, prog, service)
			},
		},
	}
	return d, nil
}

func (d *developWatch) run(ctx context.Context) error { return d.w.Run(ctx) }

// update takes a reloaded stack: its rules replace the old ones (an invalid
// rule is reported and the old rules stay), and rebuilds use it.
func (d *developWatch) update(p *types.Project) {
	d.mu.Lock()
	d.project = p
	d.mu.Unlock()
	rules, err := watch.Rules(p, d.services)
	if err != nil {
		fmt.Fprintf(d.out, "berth: develop.watch: %v\n", err)
		return
	}
	d.w.Update(rules)
}

// rebuild builds the service's image (always, as Compose's rebuild does)
// and converges the service alone with force-recreate, under the stack's
// lock like any up. Its failure is permanent for the watcher: building the
// same files again fails again, the next change of them retries.
func (d *developWatch) rebuild(ctx context.Context, cmd *cobra.Command, env *stackEnv, w *stackWorld, o *upOptions, opts reconcile.Options, prog *progress, service string) error {
	d.mu.Lock()
	p := d.project
	d.mu.Unlock()
	if _, ok := p.Services[service]; !ok {
		return watch.Permanent(fmt.Errorf("no such service: %s", service))
	}
	if p.Services[service].Build == nil {
		return watch.Permanent(fmt.Errorf("service %s has no build section to rebuild", service))
	}
	opts.Services = []string{service}
	opts.NoDeps = true
	opts.ForceRecreate = true
	opts.NoRecreate = false
	opts.AlwaysRecreateDeps = false
	opts.RemoveOrphans = false
	opts.Scale = maps.Clone(opts.Scale)
	ip := o.images(cmd)
	ip.build = "always"
	lock, err := converge(ctx, cmd, env, w, p, opts, ip, prog)
	if err != nil {
		return watch.Permanent(err)
	}
	return lock.Unlock()
}
