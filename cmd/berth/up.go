package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/berth-dev/berth/internal/flock"
	"github.com/berth-dev/berth/reconcile"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/spec"
)

// upOptions are the flags of `berth up`, as `docker compose up`.
type upOptions struct {
	stack *stackFlags
	conv  planOptions // the convergence flags, shared with plan

	detach, wait     bool
	waitTimeout      int
	pull             string
	noStart          bool
	abortOnExit      bool
	abortOnFailure   bool
	exitCodeFrom     string
	attach           []string
	noLogPrefix      bool
	timestamps       bool
	noColor          bool
	timeout          int
	progress         string
	createOnly       bool // `compose create`: --no-start, no logs
	attachDependents bool
	watch            bool
	build, noBuild   bool
}

// newUpCmd is `berth up`; sf is the compose group's stack flags, or nil to
// register them on the command itself.
func newUpCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	o := &upOptions{stack: sf}
	cmd := &cobra.Command{
		Use:   "up [OPTIONS] [SERVICE...]",
		Short: "Create and start the stack's containers, changing only what differs",
		Long: `Load the stack, plan against what exists (as berth plan shows it), print the
plan, then apply it: networks and volumes first, containers in depends_on
order, independent ones in parallel. A service whose configuration did not
change is never recreated.

In the foreground (without -d) it then streams every service's logs with a
"service-1  | " prefix until the containers exit; Ctrl-C stops the stack
gracefully, a second Ctrl-C kills it.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUp(cmd, env, o, args)
		},
	}
	fs := cmd.Flags()
	if o.stack == nil {
		o.stack = &stackFlags{}
		o.stack.register(fs)
	}
	o.registerConv(cmd)
	fs.BoolVarP(&o.detach, "detach", "d", false, "run in the background, print nothing after the progress")
	fs.BoolVar(&o.wait, "wait", false, "wait for the services to be running or healthy (implies -d)")
	fs.IntVar(&o.waitTimeout, "wait-timeout", 0, "seconds to wait with --wait (0: no limit)")
	fs.StringVar(&o.pull, "pull", "missing", `pull images: "always", "missing" or "never"`)
	fs.BoolVar(&o.noStart, "no-start", false, "create the containers but do not start them")
	fs.BoolVar(&o.abortOnExit, "abort-on-container-exit", false, "stop every container when one stops")
	fs.BoolVar(&o.abortOnFailure, "abort-on-container-failure", false, "stop every container when one exits with a non-zero code")
	fs.StringVar(&o.exitCodeFrom, "exit-code-from", "", "return this service's exit code (implies --abort-on-container-exit)")
	stringArrayVar(fs, &o.attach, "attach", nil, "stream the logs of these services only; repeatable")
	fs.BoolVar(&o.attachDependents, "attach-dependencies", false, "also stream the logs of the dependencies")
	fs.BoolVar(&o.noLogPrefix, "no-log-prefix", false, "do not prefix log lines with the container")
	fs.BoolVar(&o.timestamps, "timestamps", false, "show timestamps in the logs")
	fs.BoolVar(&o.noColor, "no-color", false, "monochrome log prefixes")
	fs.IntVarP(&o.timeout, "timeout", "t", 0, "seconds to wait for a container to stop before killing it")
	fs.StringVar(&o.progress, "progress", "auto", "progress output: auto, tty, plain, json or quiet")
	fs.BoolVar(&o.build, "build", false, "build the images of services with a build: section before starting")
	fs.BoolVar(&o.noBuild, "no-build", false, "do not build images, even missing ones")
	fs.BoolVar(&o.watch, "watch", false, "stay and re-apply the stack whenever a file that shaped it changes")
	return cmd
}

// newComposeCreateCmd is `compose create`: up --no-start, without logs.
func newComposeCreateCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	o := &upOptions{stack: sf, createOnly: true, noStart: true, detach: true, pull: "missing"}
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] [SERVICE...]",
		Short: "Create the stack's containers without starting them",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUp(cmd, env, o, args)
		},
	}
	o.registerConv(cmd)
	cmd.Flags().StringVar(&o.pull, "pull", "missing", `pull images: "always", "missing" or "never"`)
	cmd.Flags().StringVar(&o.progress, "progress", "auto", "progress output: auto, tty, plain, json or quiet")
	return cmd
}

func (o *upOptions) registerConv(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.BoolVar(&o.conv.removeOrphans, "remove-orphans", false, "remove containers of services not in the stack")
	fs.BoolVar(&o.conv.forceRecreate, "force-recreate", false, "recreate containers even if their configuration is unchanged")
	fs.BoolVar(&o.conv.noRecreate, "no-recreate", false, "do not recreate existing containers")
	fs.BoolVar(&o.conv.alwaysRecreateDeps, "always-recreate-deps", false, "recreate the dependencies of the named services")
	fs.BoolVar(&o.conv.noDeps, "no-deps", false, "leave the dependencies of the named services alone")
	stringArrayVar(fs, &o.conv.scale, "scale", nil, "scale SERVICE to NUM replicas (SERVICE=NUM); repeatable")
}

// options checks the flags together and turns them into plan options.
func (o *upOptions) options(cmd *cobra.Command, services []string) (reconcile.Options, error) {
	o.conv.format = "text"
	opts, err := o.conv.options(services)
	if err != nil {
		return opts, err
	}
	inval := func(format string, args ...any) (reconcile.Options, error) {
		return opts, fmt.Errorf(format+": %w", append(args, errdefs.ErrInvalidArgument)...)
	}
	if o.exitCodeFrom != "" {
		o.abortOnExit = true
	}
	switch {
	case o.pull != "always" && o.pull != "missing" && o.pull != "never":
		return inval("--pull %q: want always, missing or never", o.pull)
	case (o.detach || o.wait) && (o.abortOnExit || o.abortOnFailure):
		return inval("--abort-on-container-exit, --abort-on-container-failure and --exit-code-from are incompatible with -d and --wait")
	case o.abortOnExit && o.abortOnFailure:
		return inval("--abort-on-container-exit and --abort-on-container-failure are incompatible")
	case o.wait && o.noStart:
		return inval("--wait and --no-start are incompatible")
	case o.waitTimeout < 0:
		return inval("--wait-timeout %d: want seconds >= 0", o.waitTimeout)
	case o.build && o.noBuild:
		return inval("--build and --no-build are incompatible")
	case o.watch && (o.wait || o.noStart || o.abortOnExit || o.abortOnFailure):
		return inval("--watch is incompatible with --wait, --no-start and the abort flags")
	}
	if o.wait || o.noStart {
		o.detach = true
	}
	opts.NoStart = o.noStart
	if f := cmd.Flags().Lookup("pull"); f == nil || !f.Changed {
		o.pull = "" // each service's pull_policy, missing by default
	}
	if f := cmd.Flags().Lookup("timeout"); f != nil && f.Changed {
		if o.timeout < 0 {
			return inval("--timeout %d: want seconds >= 0", o.timeout)
		}
		d := time.Duration(o.timeout) * time.Second
		opts.Timeout = &d
	}
	return opts, nil
}

func runUp(cmd *cobra.Command, env *stackEnv, o *upOptions, services []string) error {
	ctx := cmd.Context()
	opts, err := o.options(cmd, services)
	if err != nil {
		return err
	}
	prog, err := newProgress(o.progress, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	p, err := loadProject(ctx, o.stack)
	if err != nil {
		return err
	}
	if err := checkServices(p, append(slices.Clone(o.attach), exitCodeService(o)...)); err != nil {
		return err
	}
	w, err := env.open(env.g)
	if err != nil {
		return err
	}
	if o.watch {
		return watchStack(cmd, env, w, o, services, opts, prog)
	}
	lock, err := converge(ctx, cmd, env, w, p, opts, o.images(cmd), prog)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if !o.noStart {
		// For berth boot: the stack is up, and this is how it was loaded.
		if err := saveStackRecord(env.g, o.stack, p); err != nil {
			return err
		}
	}
	targets := targetedServices(p, services, opts.NoDeps)
	if o.wait {
		wctx := ctx
		if o.waitTimeout > 0 {
			var cancel context.CancelFunc
			wctx, cancel = context.WithTimeout(ctx, time.Duration(o.waitTimeout)*time.Second)
			defer cancel()
		}
		if err := waitReady(wctx, env, w.Runtime, p.Name, targets, prog); err != nil {
			return err
		}
	}
	lock.Unlock()
	if o.detach {
		return nil
	}
	attach := o.attach
	if len(attach) == 0 {
		attach = services
		if o.attachDependents || len(services) == 0 {
			attach = targets
		}
	}
	return foreground(cmd, env, w, p, o, attach, opts.Timeout, prog)
}

// converge is the heart of up: under the stack's lock, observe, plan,
// check the images, print the plan and apply it. It returns the lock still
// held, for --wait to keep it.
// imagePolicy is how up gets the images: --pull, and --build/--no-build.
type imagePolicy struct {
	pull  string // always, missing, never, or "" for each service's pull_policy
	build string // always, missing or never
	out   io.Writer
	// onPlan, if set, is given the plan once it is made and its images
	// checked, before it is applied (berth gitops records its summary).
	onPlan func(*reconcile.Plan)
}

func (o *upOptions) images(cmd *cobra.Command) imagePolicy {
	ip := imagePolicy{pull: o.pull, build: "missing", out: cmd.ErrOrStderr()}
	switch {
	case o.build:
		ip.build = "always"
	case o.noBuild:
		ip.build = "never"
	}
	return ip
}

func converge(ctx context.Context, cmd *cobra.Command, env *stackEnv, w *stackWorld, p *types.Project, opts reconcile.Options, ip imagePolicy, prog *progress) (*flock.Lock, error) {
	lock, err := lockStack(ctx, env.g, p.Name)
	if err != nil {
		return nil, err
	}
	err = func() error {
		targets := targetedServices(p, opts.Services, opts.NoDeps)
		if err := pullImages(ctx, w, p, targets, ip.pull, prog); err != nil {
			return err
		}
		if err := buildImages(ctx, w, p, targets, ip.build, ip.out, prog); err != nil {
			return err
		}
		obs, err := reconcile.Observe(ctx, p.Name, reconcile.ImageRefs(p), w.Deps)
		if err != nil {
			return err
		}
		plan, err := reconcile.MakePlan(p, obs, opts)
		if err != nil {
			return err
		}
		if err := checkImages(plan, obs, ip.pull); err != nil {
			return err
		}
		if ip.onPlan != nil {
			ip.onPlan(plan)
		}
		if err := showPlan(cmd.OutOrStdout(), prog.mode, plan); err != nil {
			return err
		}
		if plan.Empty() {
			return nil
		}
		files, err := stackFilesDir(env.g, p.Name)
		if err != nil {
			return err
		}
		return reconcile.Apply(ctx, plan, w.Deps, reconcile.ApplyOptions{Progress: prog.event, Parallel: parallelLimit(0), PollInterval: env.pollInterval(), FilesDir: files})
	}()
	if err != nil {
		lock.Unlock()
		return nil, err
	}
	return lock, nil
}

// parallelLimit is how many operations Apply runs at once: Compose's
// COMPOSE_PARALLEL_LIMIT when set to a positive number, else def (0:
// Apply's default).
func parallelLimit(def int) int {
	if n, err := strconv.Atoi(os.Getenv("COMPOSE_PARALLEL_LIMIT")); err == nil && n > 0 {
		return n
	}
	return def
}

func exitCodeService(o *upOptions) []string {
	if o.exitCodeFrom == "" {
		return nil
	}
	return []string{o.exitCodeFrom}
}

// showPlan prints the plan before anything changes: its text, or one JSON
// line with --progress json, nothing with quiet.
func showPlan(w io.Writer, mode string, plan *reconcile.Plan) error {
	switch mode {
	case "quiet":
		return nil
	case "json":
		data, err := json.Marshal(struct {
			Plan    *reconcile.Plan `json:"plan"`
			Summary string          `json:"summary"`
		}{plan, plan.Summary()})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", data)
		return err
	}
	return plan.WriteText(w)
}

// pullPolicy is a service's effective pull policy: the --pull flag when
// given, else its pull_policy ("missing" by default). "build" is "never":
// berth up does not build yet.
func pullPolicy(flag string, s types.ServiceConfig) string {
	if flag != "" {
		return flag
	}
	switch s.PullPolicy {
	case types.PullPolicyAlways, types.PullPolicyNever:
		return s.PullPolicy
	case types.PullPolicyBuild:
		return types.PullPolicyNever
	}
	return types.PullPolicyMissing
}

// pullImages pulls the images of the services as their policies say:
// always, or when missing locally. A service with no image: is built, not
// pulled. Pulls run in parallel, one per image.
func pullImages(ctx context.Context, w *stackWorld, p *types.Project, services []string, flag string, prog *progress) error {
	if w.Puller == nil {
		return nil
	}
	refs := map[string]bool{}
	for _, name := range services {
		s := p.Services[name]
		if s.Image == "" || (s.Build != nil && pullPolicy(flag, s) != types.PullPolicyAlways) {
			continue // built, not pulled
		}
		switch pullPolicy(flag, s) {
		case types.PullPolicyAlways:
			refs[s.Image] = true
		case types.PullPolicyMissing:
			if _, err := w.Images.Resolve(ctx, s.Image); errdefs.IsNotFound(err) {
				refs[s.Image] = true
			} else if err != nil {
				return fmt.Errorf("resolve image %s: %w", s.Image, err)
			}
		}
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, ref := range slices.Sorted(maps.Keys(refs)) {
		g.Go(func() error {
			prog.show("Image "+ref, "", "Pulling", nil)
			if _, err := w.Puller.Pull(ctx, ref); err != nil {
				prog.show("Image "+ref, "", "Error", err)
				return fmt.Errorf("pull %s: %w", ref, err)
			}
			prog.show("Image "+ref, "", "Pulled", nil)
			return nil
		})
	}
	return g.Wait()
}

// checkImages fails before anything changes when a container is to be
// made from an image that is not present locally (after the pulls): one
// whose policy is never, one the stack builds, or with no way to pull.
func checkImages(plan *reconcile.Plan, obs reconcile.Observed, pull string) error {
	missing := map[string][]string{}
	for _, op := range plan.Ops {
		if op.Resource != reconcile.ResourceContainer || (op.Kind != reconcile.KindCreate && op.Kind != reconcile.KindRecreate) {
			continue
		}
		s := plan.Project.Services[op.Service]
		ref := spec.ImageName(plan.Project, s)
		if _, ok := obs.Images[ref]; !ok && !slices.Contains(missing[ref], op.Service) {
			missing[ref] = append(missing[ref], op.Service)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	var lines []string
	for _, ref := range slices.Sorted(maps.Keys(missing)) {
		svc := missing[ref][0]
		why := "and it cannot be pulled here"
		switch s := plan.Project.Services[svc]; {
		case s.Build != nil:
			why = "it is built, and --no-build was given"
		case pullPolicy(pull, s) == types.PullPolicyNever && pull == "never":
			why = "--pull never"
		case pullPolicy(pull, s) == types.PullPolicyNever:
			why = "pull_policy " + s.PullPolicy
		}
		lines = append(lines, fmt.Sprintf("image %s of service %s is not present locally (%s)", ref, strings.Join(missing[ref], ", "), why))
	}
	return fmt.Errorf("%s: %w", strings.Join(lines, "; "), errdefs.ErrNotFound)
}

// targetedServices are the services up acts on: the named ones and their
// dependencies (unless noDeps), or all.
func targetedServices(p *types.Project, services []string, noDeps bool) []string {
	if len(services) == 0 {
		return p.ServiceNames()
	}
	seen := map[string]bool{}
	var visit func(string)
	visit = func(s string) {
		if seen[s] {
			return
		}
		seen[s] = true
		if noDeps {
			return
		}
		for d := range p.Services[s].DependsOn {
			if _, ok := p.Services[d]; ok {
				visit(d)
			}
		}
	}
	for _, s := range services {
		visit(s)
	}
	return slices.Sorted(maps.Keys(seen))
}

// waitReady polls until every container of the services is running (and
// healthy when it has a healthcheck) or has exited 0, as --wait does. An
// unhealthy container or a non-zero exit fails at once.
func waitReady(ctx context.Context, env *stackEnv, rt runtime.Runtime, stack string, services []string, prog *progress) error {
	shown := map[string]string{}
	for {
		cs, err := stackContainers(ctx, rt, stack, services, false)
		if err != nil {
			return err
		}
		ready := true
		for _, c := range cs {
			state, err := readiness(c)
			if err != nil {
				prog.show(objectID(reconcile.ResourceContainer, c.Name), serviceOf(c.Labels), "Error", err)
				return fmt.Errorf("wait: %w", err)
			}
			if shown[c.ID] != state {
				shown[c.ID] = state
				prog.show(objectID(reconcile.ResourceContainer, c.Name), serviceOf(c.Labels), state, nil)
			}
			ready = ready && state != "Waiting"
		}
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			var waiting []string
			for _, c := range cs {
				if shown[c.ID] == "Waiting" {
					waiting = append(waiting, c.Name)
				}
			}
			return fmt.Errorf("wait: %s not ready: %w", strings.Join(waiting, ", "), ctx.Err())
		case <-time.After(env.pollInterval()):
		}
	}
}

// readiness is a container's --wait state: "Healthy", "Running" or
// "Exited" when ready, "Waiting" when not yet, an error when it never will
// be (classified errdefs.ErrFailedPrecondition).
func readiness(c runtime.Container) (string, error) {
	switch {
	case c.Status == runtime.StatusExited && c.ExitCode == 0:
		return "Exited", nil
	case c.Status == runtime.StatusExited || c.Status == runtime.StatusDead:
		return "", fmt.Errorf("container %s exited (%d): %w", c.Name, c.ExitCode, errdefs.ErrFailedPrecondition)
	case c.Health == "unhealthy":
		return "", fmt.Errorf("container %s is unhealthy%s: %w", c.Name, reconcile.LastProbe(c), errdefs.ErrFailedPrecondition)
	case c.Status == runtime.StatusRunning && c.Health == "healthy":
		return "Healthy", nil
	case c.Status == runtime.StatusRunning && c.Health == "":
		return "Running", nil
	}
	return "Waiting", nil
}
