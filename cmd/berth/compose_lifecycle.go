package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/reconcile"
	"github.com/berth-dev/berth/runtime"
)

// serviceLayers groups containers by service in depends_on order (reverse
// for stopping); services the project does not know (or all, without a
// project) form one layer at the start, so they stop first and start last.
func serviceLayers(p *types.Project, cs []runtime.Container, reverse bool) ([][]runtime.Container, error) {
	var order []string
	if p != nil {
		var err error
		if order, err = reconcile.ServiceOrder(p); err != nil {
			return nil, err
		}
	}
	bySvc := map[string][]runtime.Container{}
	var unknown []runtime.Container
	for _, c := range cs {
		svc := serviceOf(c.Labels)
		if slices.Contains(order, svc) {
			bySvc[svc] = append(bySvc[svc], c)
		} else {
			unknown = append(unknown, c)
		}
	}
	var layers [][]runtime.Container
	for _, svc := range order {
		if len(bySvc[svc]) > 0 {
			layers = append(layers, bySvc[svc])
		}
	}
	if reverse {
		slices.Reverse(layers)
		if len(unknown) > 0 {
			layers = append([][]runtime.Container{unknown}, layers...)
		}
	} else if len(unknown) > 0 {
		layers = append(layers, unknown)
	}
	return layers, nil
}

// eachLayer runs fn on every container, layer after layer, the containers of
// one layer in parallel, and reports each outcome. It goes on after a
// failure and returns every error.
func eachLayer(ctx context.Context, layers [][]runtime.Container, prog *progress, doing, done string, fn func(context.Context, runtime.Container) error) error {
	var errs []error
	var mu sync.Mutex
	for _, layer := range layers {
		var wg sync.WaitGroup
		for _, c := range layer {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := objectID(reconcile.ResourceContainer, c.Name)
				if prog != nil {
					prog.show(id, serviceOf(c.Labels), doing, nil)
				}
				if err := fn(ctx, c); err != nil {
					if prog != nil {
						prog.show(id, serviceOf(c.Labels), "Error", err)
					}
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s: %w", c.Name, err))
					mu.Unlock()
					return
				}
				if prog != nil {
					prog.show(id, serviceOf(c.Labels), done, nil)
				}
			}()
		}
		wg.Wait()
	}
	return errors.Join(errs...)
}

// stopStack stops the stack's running containers of the services (all when
// none), dependents before their dependencies.
func stopStack(ctx context.Context, rt runtime.Runtime, p *types.Project, services []string, timeout *time.Duration, prog *progress) error {
	cs, err := stackContainers(ctx, rt, p.Name, services, false)
	if err != nil {
		return err
	}
	cs = slices.DeleteFunc(cs, func(c runtime.Container) bool { return !isUp(c) })
	layers, err := serviceLayers(p, cs, true)
	if err != nil {
		return err
	}
	return eachLayer(ctx, layers, prog, "Stopping", "Stopped", func(ctx context.Context, c runtime.Container) error {
		return ignoreGone(rt.Stop(ctx, c.ID, timeout))
	})
}

func isUp(c runtime.Container) bool {
	switch c.Status {
	case runtime.StatusRunning, runtime.StatusPaused, runtime.StatusRestarting:
		return true
	}
	return false
}

func ignoreGone(err error) error {
	if errdefs.IsNotFound(err) {
		return nil
	}
	return err
}

// lifecycleCmd is the shape of start, stop, restart, kill, pause, unpause
// and rm: load the stack (or take -p), pick its containers of the named
// services, act on them in (reverse) dependency order with progress.
type lifecycleCmd struct {
	env      *stackEnv
	sf       *stackFlags
	progress string
}

// targets returns the project (nil when only -p is known), the stack's
// name, the world and the containers of the services.
func (l *lifecycleCmd) targets(ctx context.Context, services []string, oneoff bool) (*types.Project, string, *stackWorld, []runtime.Container, error) {
	p, name, err := projectOrName(ctx, l.sf)
	if err != nil {
		return nil, "", nil, nil, err
	}
	if err := checkServices(p, services); err != nil {
		return nil, "", nil, nil, err
	}
	w, err := l.env.open(l.env.g)
	if err != nil {
		return nil, "", nil, nil, err
	}
	cs, err := stackContainers(ctx, w.Runtime, name, services, oneoff)
	if err != nil {
		return nil, "", nil, nil, err
	}
	return p, name, w, cs, nil
}

func (l *lifecycleCmd) prog(cmd *cobra.Command) (*progress, error) {
	return newProgress(l.progress, cmd.ErrOrStderr())
}

// timeoutFlag is -t/--timeout of stop, restart and rm -s.
func timeoutFlag(cmd *cobra.Command, seconds int) (*time.Duration, error) {
	if !cmd.Flags().Changed("timeout") {
		return nil, nil
	}
	if seconds < 0 {
		return nil, fmt.Errorf("--timeout %d: want seconds >= 0: %w", seconds, errdefs.ErrInvalidArgument)
	}
	d := time.Duration(seconds) * time.Second
	return &d, nil
}

func newComposeStartCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	l := &lifecycleCmd{env: env, sf: sf, progress: "auto"}
	return &cobra.Command{
		Use:   "start [SERVICE...]",
		Short: "Start the stack's existing containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			prog, err := l.prog(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			p, name, w, cs, err := l.targets(ctx, args, false)
			if err != nil {
				return err
			}
			if p == nil {
				// No stack file: no depends_on to honour but the labels'.
				cs = slices.DeleteFunc(cs, isUp)
				return eachLayer(ctx, [][]runtime.Container{cs}, prog, "Starting", "Started", func(ctx context.Context, c runtime.Container) error {
					return w.Runtime.Start(ctx, c.ID)
				})
			}
			// Started in depends_on order, waiting on health and
			// completion as up does.
			obs, err := reconcile.Observe(ctx, name, nil, w.Deps)
			if err != nil {
				return err
			}
			plan, err := reconcile.MakeStartPlan(p, obs, args)
			if err != nil {
				return err
			}
			return reconcile.Apply(ctx, plan, w.Deps, reconcile.ApplyOptions{Progress: prog.event, PollInterval: env.pollInterval()})
		},
	}
}

func newComposeStopCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	l := &lifecycleCmd{env: env, sf: sf, progress: "auto"}
	var seconds int
	cmd := &cobra.Command{
		Use:   "stop [OPTIONS] [SERVICE...]",
		Short: "Stop the stack's containers, dependents first",
		RunE: func(cmd *cobra.Command, args []string) error {
			timeout, err := timeoutFlag(cmd, seconds)
			if err != nil {
				return err
			}
			prog, err := l.prog(cmd)
			if err != nil {
				return err
			}
			p, _, w, cs, err := l.targets(cmd.Context(), args, false)
			if err != nil {
				return err
			}
			cs = slices.DeleteFunc(cs, func(c runtime.Container) bool { return !isUp(c) })
			layers, err := serviceLayers(p, cs, true)
			if err != nil {
				return err
			}
			return eachLayer(cmd.Context(), layers, prog, "Stopping", "Stopped", func(ctx context.Context, c runtime.Container) error {
				return ignoreGone(w.Runtime.Stop(ctx, c.ID, timeout))
			})
		},
	}
	cmd.Flags().IntVarP(&seconds, "timeout", "t", 0, "seconds to wait before killing")
	return cmd
}

func newComposeRestartCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	l := &lifecycleCmd{env: env, sf: sf, progress: "auto"}
	var seconds int
	var noDeps bool
	cmd := &cobra.Command{
		Use:   "restart [OPTIONS] [SERVICE...]",
		Short: "Restart the stack's containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			timeout, err := timeoutFlag(cmd, seconds)
			if err != nil {
				return err
			}
			prog, err := l.prog(cmd)
			if err != nil {
				return err
			}
			p, _, w, cs, err := l.targets(cmd.Context(), args, false)
			if err != nil {
				return err
			}
			up := slices.DeleteFunc(slices.Clone(cs), func(c runtime.Container) bool { return !isUp(c) })
			stopLayers, err := serviceLayers(p, up, true)
			if err != nil {
				return err
			}
			if err := eachLayer(cmd.Context(), stopLayers, prog, "Restarting", "Stopped", func(ctx context.Context, c runtime.Container) error {
				return ignoreGone(w.Runtime.Stop(ctx, c.ID, timeout))
			}); err != nil {
				return err
			}
			startLayers, err := serviceLayers(p, cs, false)
			if err != nil {
				return err
			}
			return eachLayer(cmd.Context(), startLayers, prog, "Starting", "Started", func(ctx context.Context, c runtime.Container) error {
				return w.Runtime.Start(ctx, c.ID)
			})
		},
	}
	cmd.Flags().IntVarP(&seconds, "timeout", "t", 0, "seconds to wait before killing")
	// berth restarts only the named services' containers, never their
	// dependents, so --no-deps is what it always does.
	cmd.Flags().BoolVar(&noDeps, "no-deps", false, "do not restart dependent services (berth never does)")
	return cmd
}

func newComposeRmCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	l := &lifecycleCmd{env: env, sf: sf, progress: "auto"}
	var force, stop, vols bool
	cmd := &cobra.Command{
		Use:   "rm [OPTIONS] [SERVICE...]",
		Short: "Remove the stack's stopped containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			prog, err := l.prog(cmd)
			if err != nil {
				return err
			}
			p, _, w, cs, err := l.targets(cmd.Context(), args, false)
			if err != nil {
				return err
			}
			if stop {
				up := slices.DeleteFunc(slices.Clone(cs), func(c runtime.Container) bool { return !isUp(c) })
				layers, err := serviceLayers(p, up, true)
				if err != nil {
					return err
				}
				if err := eachLayer(cmd.Context(), layers, prog, "Stopping", "Stopped", func(ctx context.Context, c runtime.Container) error {
					return ignoreGone(w.Runtime.Stop(ctx, c.ID, nil))
				}); err != nil {
					return err
				}
				if _, _, _, cs, err = l.targets(cmd.Context(), args, false); err != nil {
					return err
				}
			}
			var running []string
			cs = slices.DeleteFunc(cs, func(c runtime.Container) bool {
				if isUp(c) {
					running = append(running, c.Name)
					return true
				}
				return false
			})
			if len(cs) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "No stopped containers")
				return nil
			}
			if !force {
				var names []string
				for _, c := range cs {
					names = append(names, c.Name)
				}
				// berth never prompts: without -f it says what it would do.
				fmt.Fprintf(cmd.ErrOrStderr(), "Going to remove %s\n", strings.Join(names, ", "))
				return fmt.Errorf("not removing without -f (berth does not prompt): %w", errdefs.ErrFailedPrecondition)
			}
			return eachLayer(cmd.Context(), [][]runtime.Container{cs}, prog, "Removing", "Removed", func(ctx context.Context, c runtime.Container) error {
				return ignoreGone(w.Runtime.Remove(ctx, c.ID, runtime.RemoveOptions{RemoveVolumes: vols}))
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not ask for confirmation")
	cmd.Flags().BoolVarP(&stop, "stop", "s", false, "stop the containers first")
	cmd.Flags().BoolVarP(&vols, "volumes", "v", false, "remove the containers' anonymous volumes")
	return cmd
}

// newComposeControlCmd is kill, pause or unpause: operations beyond
// runtime.Runtime, through the world's containerControl.
func newComposeControlCmd(env *stackEnv, sf *stackFlags, verb string) *cobra.Command {
	l := &lifecycleCmd{env: env, sf: sf, progress: "auto"}
	var signal string
	short := map[string]string{
		"kill":    "Send a signal (SIGKILL by default) to the stack's containers",
		"pause":   "Pause the stack's containers",
		"unpause": "Unpause the stack's containers",
	}[verb]
	cmd := &cobra.Command{
		Use:   verb + " [OPTIONS] [SERVICE...]",
		Short: short,
		RunE: func(cmd *cobra.Command, args []string) error {
			prog, err := l.prog(cmd)
			if err != nil {
				return err
			}
			_, _, w, cs, err := l.targets(cmd.Context(), args, false)
			if err != nil {
				return err
			}
			if w.Control == nil {
				return errUnsupported(verb)
			}
			var doing, done string
			var fn func(context.Context, runtime.Container) error
			switch verb {
			case "kill":
				doing, done = "Killing", "Killed"
				cs = slices.DeleteFunc(cs, func(c runtime.Container) bool { return !isUp(c) })
				fn = func(ctx context.Context, c runtime.Container) error { return w.Control.Kill(ctx, c.ID, signal) }
			case "pause":
				doing, done = "Pausing", "Paused"
				cs = slices.DeleteFunc(cs, func(c runtime.Container) bool { return c.Status != runtime.StatusRunning })
				fn = func(ctx context.Context, c runtime.Container) error { return w.Control.Pause(ctx, c.ID) }
			default:
				doing, done = "Unpausing", "Unpaused"
				cs = slices.DeleteFunc(cs, func(c runtime.Container) bool { return c.Status != runtime.StatusPaused })
				fn = func(ctx context.Context, c runtime.Container) error { return w.Control.Unpause(ctx, c.ID) }
			}
			return eachLayer(cmd.Context(), [][]runtime.Container{cs}, prog, doing, done, fn)
		},
	}
	if verb == "kill" {
		cmd.Flags().StringVarP(&signal, "signal", "s", "SIGKILL", "signal to send")
	}
	return cmd
}
