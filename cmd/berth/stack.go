package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/flock"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/spec"
)

// addStackCommands adds the stack commands: config, plan, up, down and the
// compose group, on the real world.
func addStackCommands(root *cobra.Command, g *globals) {
	addStackCommandsWith(root, newStackEnv(g))
}

// newStackEnv is the stack commands' environment on the real world.
func newStackEnv(g *globals) *stackEnv { return &stackEnv{g: g, open: stackDeps} }

// addStackCommandsWith adds the stack commands on the world env opens;
// tests pass fakes.
//
// It turns on root.TraverseChildren, as the docker CLI does: `berth compose
// -f FILE logs -f` parses each level's flags at that level, so the compose
// group's -f/-p do not clash with its subcommands' own -f (logs --follow,
// rm --force) and -p (run --publish).
func addStackCommandsWith(root *cobra.Command, env *stackEnv) {
	root.TraverseChildren = true
	root.AddCommand(newConfigCmd(env.g), newPlanCmd(env, nil), newUpCmd(env, nil), newDownCmd(env, nil), newWatchCmd(env, nil), newComposeCmd(env),
		newBootCmd(env), newSystemdCmd(env))
	root.AddCommand(newGitopsCmd(env))
}

// loadProject loads the stack the flags name; problems with the input
// become exit status 1 with every problem listed.
func loadProject(ctx context.Context, sf *stackFlags) (*types.Project, error) {
	p, err := sf.load(ctx)
	if err != nil {
		var ps spec.Problems
		if errors.As(err, &ps) {
			return nil, &exitError{code: 1, err: fmt.Errorf("invalid stack:\n%w", ps)}
		}
		return nil, err
	}
	return p, nil
}

// projectOrName loads the stack; when there is no stack file but -p names
// the stack, it returns no project and that name, so that commands which
// only need the stack's objects (down, ps, stop, ...) work from their
// labels alone.
func projectOrName(ctx context.Context, sf *stackFlags) (*types.Project, string, error) {
	p, err := loadProject(ctx, sf)
	if err == nil {
		return p, p.Name, nil
	}
	if sf.project != "" && len(sf.files) == 0 && errdefs.IsNotFound(err) {
		return nil, sf.project, nil
	}
	return nil, "", err
}

// lockStack serialises the commands that change one stack, across
// processes: <run-root>/stacks/<name>.lock.
func lockStack(ctx context.Context, g *globals, name string) (*flock.Lock, error) {
	return flock.Acquire(ctx, filepath.Join(g.runRoot, "stacks", name+".lock"))
}

// stackFilesDir is where the stack's containers' secrets and configs are
// written (reconcile.ApplyOptions.FilesDir): <root>/stacks/<name>/files,
// readable by root only.
func stackFilesDir(g *globals, name string) (string, error) {
	dir := filepath.Join(g.root, "stacks", name, "files")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("stack files: %w", err)
	}
	return dir, nil
}

// stackContainers returns the stack's containers (one-off ones with
// oneoff) of the named services (all when none), sorted by service and
// replica number.
func stackContainers(ctx context.Context, rt runtime.Runtime, stack string, services []string, oneoff bool) ([]runtime.Container, error) {
	all, err := rt.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var out []runtime.Container
	for _, c := range all {
		if stackOf(c.Labels) != stack {
			continue
		}
		if !oneoff && strings.EqualFold(c.Labels[spec.LabelOneoff], "true") {
			continue
		}
		if len(services) > 0 && !slices.Contains(services, serviceOf(c.Labels)) {
			continue
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b runtime.Container) int {
		if c := strings.Compare(serviceOf(a.Labels), serviceOf(b.Labels)); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// stackOf is the stack a labelled object belongs to: berth's label, or
// Compose's for containers made by other tools.
func stackOf(l map[string]string) string {
	if s := l[spec.LabelStack]; s != "" {
		return s
	}
	return l[spec.ComposeProject]
}

func serviceOf(l map[string]string) string {
	if s := l[spec.LabelService]; s != "" {
		return s
	}
	return l[spec.ComposeService]
}

// checkServices reports the named services a project does not have.
func checkServices(p *types.Project, services []string) error {
	if p == nil {
		return nil
	}
	var errs []error
	for _, s := range services {
		if _, ok := p.Services[s]; !ok {
			errs = append(errs, fmt.Errorf("no such service: %s", s))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", err, errdefs.ErrNotFound)
	}
	return nil
}
