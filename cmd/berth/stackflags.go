package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"github.com/spf13/pflag"

	"github.com/berth-dev/berth/spec"
)

// stackFlags are the flags every stack command shares, named as in
// `docker compose` (plus HCL's -var and -var-file).
type stackFlags struct {
	files      []string
	project    string
	projectDir string
	envFiles   []string
	profiles   []string
	vars       []string
	varFiles   []string

	// g gives --root, under which loaded stacks are cached (see cache).
	// Commands that do not set it get --root from the flag set the flags
	// were registered in, which cobra fills with the root command's
	// persistent flags when it parses.
	g     *globals
	flags *pflag.FlagSet
}

func (f *stackFlags) register(fs *pflag.FlagSet) {
	f.flags = fs
	stringArrayVarP(fs, &f.files, "file", "f", nil, "stack file (compose YAML or .hcl); repeat to override in order")
	fs.StringVarP(&f.project, "project-name", "p", "", "project name")
	fs.StringVar(&f.projectDir, "project-directory", "", "project directory (default: the first stack file's directory)")
	stringArrayVar(fs, &f.envFiles, "env-file", nil, "env file for interpolation; repeatable (default: .env in the project directory)")
	stringArrayVar(fs, &f.profiles, "profile", nil, "profile to enable; repeatable")
	stringArrayVar(fs, &f.vars, "var", nil, "HCL variable as name=value; repeatable")
	stringArrayVar(fs, &f.varFiles, "var-file", nil, "HCL variable file; repeatable")
}

// options turns the flags into spec.Options; env nil means the process
// environment.
func (f *stackFlags) options(env map[string]string) (spec.Options, error) {
	o := spec.Options{
		Files:       f.files,
		WorkingDir:  f.projectDir,
		ProjectName: f.project,
		EnvFiles:    f.envFiles,
		Profiles:    splitProfiles(f.profiles),
		Env:         env,
		VarFiles:    f.varFiles,
	}
	for _, v := range f.vars {
		name, value, ok := strings.Cut(v, "=")
		if !ok || name == "" {
			return o, fmt.Errorf("--var %q: want name=value: %w", v, errdefs.ErrInvalidArgument)
		}
		if o.Vars == nil {
			o.Vars = map[string]string{}
		}
		o.Vars[name] = value
	}
	return o, nil
}

// splitProfiles accepts --profile a --profile b and --profile a,b.
func splitProfiles(ps []string) []string {
	var out []string
	for _, p := range ps {
		for _, s := range strings.Split(p, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// load loads the stack the flags name, from the process environment,
// through the cache. compose-go's warnings about the stack go to stderr as
// "warning: ..." lines.
func (f *stackFlags) load(ctx context.Context) (*types.Project, error) {
	s, err := f.loadStack(ctx, nil)
	if err != nil {
		return nil, err
	}
	printWarnings(os.Stderr, s.Warnings)
	return s.Project, nil
}

// loadStack is load with the files, digest and warnings of the inputs (not
// printed), and a way to change the options (nil for none) before loading.
func (f *stackFlags) loadStack(ctx context.Context, adjust func(*spec.Options)) (*spec.Stack, error) {
	o, err := f.options(nil)
	if err != nil {
		return nil, err
	}
	if adjust != nil {
		adjust(&o)
	}
	return f.cache().LoadStack(ctx, o)
}

// cache is the cache of loaded stacks, <root>/cache/stacks, or nil (load
// without caching) when there is no --root. A no-op `berth up` or `plan`
// of an unchanged stack then skips compose-go's load.
func (f *stackFlags) cache() *spec.Cache {
	root := ""
	switch {
	case f.g != nil:
		root = f.g.root
	case f.flags != nil:
		if fl := f.flags.Lookup("root"); fl != nil {
			root = fl.Value.String()
		}
	}
	if root == "" {
		return nil
	}
	return spec.NewCache(filepath.Join(root, "cache", "stacks"), 0)
}

// printWarnings writes each warning as a "warning: ..." line.
func printWarnings(w io.Writer, warnings []string) {
	for _, m := range warnings {
		fmt.Fprintln(w, "warning:", m)
	}
}
