// Package watch implements Compose's develop.watch for berth: it turns a
// service's `develop.watch` triggers into rules, decides from a batch of
// changed host files what each service needs (sync, rebuild, restart,
// sync+restart, sync+exec), and runs a debounced, retrying file watcher
// that hands those actions to an Executor.
//
// It owns the matching and the batching. It must not copy files into
// containers, build or restart anything itself: the Executor (wired in
// cmd/berth) does, through the runtime and the up code path.
package watch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Rule is one develop.watch trigger of a service, with its path absolute.
type Rule struct {
	Service     string
	Action      types.WatchAction
	Path        string // a host file or directory
	Target      string // the path in the container (sync actions)
	Exec        types.ServiceHook
	InitialSync bool

	ignore  *patternmatcher.PatternMatcher // Ignore plus the build context's .dockerignore
	include *patternmatcher.PatternMatcher // nil: everything
}

// Rules are the watch rules of the services (all when none are named), in
// service order then file order. A relative path is relative to the
// project directory; ignore and include patterns (.dockerignore syntax)
// are relative to the rule's path; a service with a build context also
// ignores what the context's .dockerignore excludes, as Compose does.
// Invalid rules are all reported together (errdefs.ErrInvalidArgument).
func Rules(p *types.Project, services []string) ([]Rule, error) {
	var out []Rule
	var errs []error
	names := slices.Clone(services)
	if len(names) == 0 {
		names = p.ServiceNames()
	}
	slices.Sort(names)
	for _, name := range names {
		s, ok := p.Services[name]
		if !ok || s.Develop == nil {
			continue
		}
		var dockerignore []string
		if s.Build != nil && s.Build.Context != "" {
			ctx := s.Build.Context
			if !filepath.IsAbs(ctx) {
				ctx = filepath.Join(p.WorkingDir, ctx)
			}
			pats, err := readIgnore(filepath.Join(ctx, ".dockerignore"))
			if err != nil {
				errs = append(errs, fmt.Errorf("service %s: %w", name, err))
			}
			for _, pat := range pats {
				// .dockerignore patterns are relative to the context.
				dockerignore = append(dockerignore, filepath.Join(ctx, pat))
			}
		}
		for i, tr := range s.Develop.Watch {
			r, err := rule(p, name, tr, dockerignore)
			if err != nil {
				errs = append(errs, fmt.Errorf("services.%s.develop.watch[%d]: %w", name, i, err))
				continue
			}
			out = append(out, r)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: %w", err, errdefs.ErrInvalidArgument)
	}
	return out, nil
}

func rule(p *types.Project, service string, tr types.Trigger, dockerignore []string) (Rule, error) {
	r := Rule{Service: service, Action: tr.Action, Target: tr.Target, Exec: tr.Exec, InitialSync: tr.InitialSync, Path: tr.Path}
	if r.Path == "" {
		return r, errors.New("path is required")
	}
	if !filepath.IsAbs(r.Path) {
		r.Path = filepath.Join(p.WorkingDir, r.Path)
	}
	r.Path = filepath.Clean(r.Path)
	switch tr.Action {
	case types.WatchActionSync, types.WatchActionSyncRestart, types.WatchActionSyncExec:
		if tr.Target == "" {
			return r, fmt.Errorf("action %s needs a target", tr.Action)
		}
		if tr.Action == types.WatchActionSyncExec && len(tr.Exec.Command) == 0 {
			return r, errors.New("action sync+exec needs exec.command")
		}
	case types.WatchActionRebuild, types.WatchActionRestart:
	default:
		return r, fmt.Errorf("unknown action %q (want sync, rebuild, restart, sync+restart or sync+exec)", tr.Action)
	}
	abs := func(pats []string) []string {
		var out []string
		for _, pat := range pats {
			neg := strings.HasPrefix(pat, "!")
			pat = strings.TrimPrefix(pat, "!")
			if !filepath.IsAbs(pat) {
				pat = filepath.Join(r.Path, pat)
			}
			if neg {
				pat = "!" + pat
			}
			out = append(out, pat)
		}
		return out
	}
	ign, err := patternmatcher.New(append(slices.Clone(dockerignore), abs(tr.Ignore)...))
	if err != nil {
		return r, fmt.Errorf("ignore: %w", err)
	}
	r.ignore = ign
	if len(tr.Include) > 0 {
		inc, err := patternmatcher.New(abs(tr.Include))
		if err != nil {
			return r, fmt.Errorf("include: %w", err)
		}
		r.include = inc
	}
	return r, nil
}

func readIgnore(path string) ([]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pats, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return pats, nil
}

// ephemeral are the names editors give their temporary and backup files
// (vim's swap files and its 4913 write test, emacs' lock and auto-save
// files, backups, JetBrains' safe-write files) and .git: never synced, as
// Compose ignores them too.
var ephemeral = []string{".git", "*.swp", "*.swx", "*.swo", "4913", ".#*", "#*#", "*~", "*___jb_tmp___", "*___jb_old___"}

func isEphemeral(rel string) bool {
	for _, part := range strings.Split(filepath.ToSlash(rel), "/") {
		for _, pat := range ephemeral {
			if ok, _ := filepath.Match(pat, part); ok {
				return true
			}
		}
	}
	return false
}

// Matches reports whether a change of the host file path concerns the
// rule: it is the rule's path or inside it, is not an editor's temporary
// file or in a .git directory, is not ignored, and is included (when
// include is set).
func (r Rule) Matches(path string) bool {
	path = filepath.Clean(path)
	if path != r.Path && !strings.HasPrefix(path, r.Path+string(filepath.Separator)) {
		return false
	}
	if rel, err := filepath.Rel(r.Path, path); err == nil && rel != "." && isEphemeral(rel) {
		return false
	}
	if r.ignore != nil {
		if ok, err := r.ignore.MatchesOrParentMatches(path); err == nil && ok {
			return false
		}
	}
	if r.include != nil && path != r.Path {
		ok, err := r.include.MatchesOrParentMatches(path)
		return err == nil && ok
	}
	return true
}

// same reports whether o is the same trigger as r (for Watcher.Update).
func (r Rule) same(o Rule) bool {
	return r.Service == o.Service && r.Action == o.Action && r.Path == o.Path && r.Target == o.Target && r.InitialSync == o.InitialSync
}

// containerPath is where the host file path lands in the container under
// a sync rule.
func (r Rule) containerPath(path string) string {
	rel, err := filepath.Rel(r.Path, path)
	if err != nil || rel == "." {
		return r.Target
	}
	return filepath.ToSlash(filepath.Join(r.Target, rel))
}
