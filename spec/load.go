package spec

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/consts"
	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"go.yaml.in/yaml/v4"
)

// DefaultHCLFile is the stack file berth looks for when no Compose file is
// found; DefaultHCLOverrideFile is applied on top of it when present, like
// compose.override.yaml on top of compose.yaml.
const (
	DefaultHCLFile         = "stack.hcl"
	DefaultHCLOverrideFile = "stack.override.hcl"
)

// Options says where a stack comes from. They mirror the flags of
// `docker compose` (plus berth's HCL variables); zero values mean what
// Compose means by an absent flag.
type Options struct {
	// Files are the stack files (-f), applied in order, each overriding the
	// ones before. A file ending in .hcl is berth's HCL format, any other is
	// Compose YAML; both kinds may be mixed. Relative paths are relative to
	// the current directory. Empty means COMPOSE_FILE, then discovery (see
	// Load).
	Files []string
	// WorkingDir is the project directory (--project-directory); empty means
	// the directory of the first stack file.
	WorkingDir string
	// ProjectName is -p; empty means COMPOSE_PROJECT_NAME, then the top-level
	// `name:` of the files, then the project directory's base name.
	ProjectName string
	// EnvFiles are --env-file files for interpolation; empty means the
	// project directory's .env when it exists (unless COMPOSE_DISABLE_ENV_FILE).
	EnvFiles []string
	// Profiles are --profile; empty means COMPOSE_PROFILES.
	Profiles []string
	// Env is the environment for interpolation and COMPOSE_* variables; nil
	// means the process environment.
	Env map[string]string
	// Vars and VarFiles set HCL variables (-var name=value, -var-file).
	Vars     map[string]string
	VarFiles []string
	// Services restricts the model to these services and their
	// dependencies; empty means all (active) services.
	Services []string
	// NoInterpolate leaves ${VAR} unexpanded (berth config --no-interpolate).
	NoInterpolate bool
}

// Stack is a loaded stack: the model and what it was made from.
//
// Files is every local file that shaped the model, absolute and sorted:
// stack files and their overrides, env files read for interpolation,
// included and extended files (and include's .env files), services'
// env_file and label_file files, and the files of configs and secrets. A
// watcher reloads the stack when any of them changes.
//
// Absent are the files whose absence shaped the model: the default file
// names not found during discovery (in every directory searched), a
// missing .env, optional env_files that are not there. Creating one of
// them changes what Load would do; a watcher watches their directories.
//
// EnvVars are the names of the environment variables the model may depend
// on: those interpolation looked up (found or not), the COMPOSE_* variables
// that steer loading, the names of services' environment entries and of
// configs and secrets taken from the environment, and in HCL files those
// env() read and BERTH_VAR_name of each declared variable.
//
// Digest is InputDigest(Files+Absent, EnvVars, Options.Env) at load time: the
// content of every input file and the value in the given environment of
// every variable consulted (env files are covered by their content). Equal
// digests mean Load would build the same model from the same Options, so it
// is a cache key: recompute it with InputDigest from the saved Files and
// EnvVars and the current environment.
//
// Warnings are what compose-go warned about while loading (an obsolete
// `version:`, an unset variable defaulting to a blank string), one message
// each, for the caller to show.
type Stack struct {
	Project  *types.Project
	Files    []string
	Absent   []string
	EnvVars  []string
	Digest   string
	Warnings []string
}

// CurrentDigest is the digest of the stack's inputs as they are now, in env
// (nil means the process environment): when it equals Digest, loading
// again with the same Options would give the same model.
func (s *Stack) CurrentDigest(env map[string]string) (string, error) {
	if env == nil {
		env = osEnv()
	}
	return InputDigest(slices.Concat(s.Files, s.Absent), s.EnvVars, env)
}

// Load loads a stack into compose-go's model. See LoadStack.
func Load(ctx context.Context, o Options) (*types.Project, error) {
	s, err := LoadStack(ctx, o)
	if err != nil {
		return nil, err
	}
	return s.Project, nil
}

// LoadStack loads a stack into compose-go's model, with Compose's rules for
// everything: -f order and overrides, COMPOSE_FILE, the project directory,
// the project name, .env and --env-file, interpolation, profiles, extends,
// include, validation and normalisation. HCL files are evaluated to plain
// data first and handed to compose-go as already-parsed files, so both
// formats go through the same loader.
//
// Discovery, when neither Files nor COMPOSE_FILE name a file: starting in
// the project directory (or the current one) and going up to the root, the
// first directory with a Compose file (compose.yaml, compose.yml,
// docker-compose.yml, docker-compose.yaml, in that order, plus the first of
// compose.override.yml, compose.override.yaml, docker-compose.override.yml,
// docker-compose.override.yaml) or a stack.hcl (plus stack.override.hcl)
// wins. A directory holding both a Compose file and stack.hcl is an error:
// berth will not guess which one the user means, -f must say.
//
// Errors about the input are Problems, every one found, positioned at
// file:line:col where the field can be found in a YAML file. LoadStack only
// reads files; it never writes anything.
func LoadStack(ctx context.Context, o Options) (*Stack, error) {
	env := o.Env
	if env == nil {
		env = osEnv()
	}
	l := &load{o: o, env: maps.Clone(env), given: env}
	return l.run(ctx)
}

// load holds the state of one LoadStack call.
type load struct {
	o          Options
	env        types.Mapping     // the environment loading sees, .env merged in
	given      map[string]string // the environment as given, for the digest
	workingDir string
	explicitWD bool
	files      []string // stack files, absolute, in -f order
	inputs     []inputFile
	hclFiles   []string // files HCL stack files read (-var-file, file())
	hclDecs    []hclDecoded
	hclFailed  bool     // an HCL file did not parse: its variables are unknown
	absent     []string // files whose absence shaped the model
	mu         sync.Mutex
	consulted  map[string]bool
}

// inputFile is one stack file as handed to compose-go, kept for locating
// problems.
type inputFile struct {
	path    string
	src     []byte
	hcl     bool
	data    map[string]any // HCL: the decoded data handed to compose-go
	sources hclSourceMap   // HCL: where each value was set
}

func (l *load) run(ctx context.Context) (*Stack, error) {
	l.consulted = map[string]bool{}
	for _, k := range []string{consts.ComposeFilePath, consts.ComposePathSeparator, consts.ComposeProjectName,
		consts.ComposeProfiles, consts.ComposeDisableDefaultEnvFile, "COMPOSE_CONVERT_WINDOWS_PATHS",
		"HOME"} { // compose-go expands ~ with the process's HOME
		l.consulted[k] = true
	}
	if l.o.WorkingDir != "" {
		wd, err := filepath.Abs(l.o.WorkingDir)
		if err != nil {
			return nil, fmt.Errorf("project directory: %w", err)
		}
		l.workingDir, l.explicitWD = wd, true
	}
	if err := l.selectFiles(); err != nil {
		return nil, err
	}
	if l.workingDir == "" {
		l.workingDir = filepath.Dir(l.files[0])
	}
	envFiles, err := l.readEnvFiles()
	if err != nil {
		return nil, err
	}

	var probs Problems
	configFiles := make([]types.ConfigFile, 0, len(l.files))
	for _, f := range l.files {
		cf, err := l.readStackFile(f)
		if err != nil {
			var ps Problems
			if errors.As(err, &ps) {
				probs = append(probs, ps...)
				continue
			}
			return nil, err
		}
		configFiles = append(configFiles, cf)
	}
	probs = append(probs, l.undeclaredProblems()...)
	if len(probs) > 0 {
		return nil, probs
	}

	name, explicit, err := l.projectName()
	if err != nil {
		return nil, err
	}
	var included []string
	opts := l.loaderOptions(name, explicit, &included)
	details := types.ConfigDetails{
		WorkingDir:  l.workingDir,
		ConfigFiles: configFiles,
		Environment: l.env,
	}
	var project *types.Project
	warnings := collectWarnings(func() { project, err = loader.LoadWithContext(ctx, details, opts...) })
	if err != nil {
		var more []string
		if isReferenceError(err) {
			// compose-go stops at the first undefined reference: load again
			// without its check to find all of them
			skip := func(lo *loader.Options) { lo.SkipConsistencyCheck = true }
			var p *types.Project
			var err error
			collectWarnings(func() { p, err = loader.LoadWithContext(ctx, details, append(opts, skip)...) })
			if err == nil {
				more = referenceErrors(p)
			}
		}
		return nil, l.problems(err, more...)
	}
	project.ComposeFiles = slices.Clone(l.files)
	warnings = withVersionWarnings(warnings, slices.Concat(l.inputs, readAll(included)))

	files := slices.Concat(l.files, envFiles, l.hclFiles, l.referencedFiles(project, included))
	for i, f := range files {
		if abs, err := filepath.Abs(f); err == nil {
			files[i] = abs
		}
	}
	absent := slices.Concat(l.absent, optionalEnvFiles(project))
	envVars := l.envVars(project)
	digest, err := InputDigest(slices.Concat(files, absent), envVars, l.given)
	if err != nil {
		return nil, err
	}
	return &Stack{Project: project, Files: sortUnique(files), Absent: sortUnique(absent), EnvVars: envVars, Digest: digest, Warnings: warnings}, nil
}

// loaderOptions are compose-go's options for this load. Included files are
// appended to *included as compose-go reports them.
func (l *load) loaderOptions(name string, explicit bool, included *[]string) []func(*loader.Options) {
	profiles := l.o.Profiles
	if len(profiles) == 0 {
		for _, s := range strings.Split(l.env[consts.ComposeProfiles], ",") {
			if s = strings.TrimSpace(s); s != "" {
				profiles = append(profiles, s)
			}
		}
	}
	return []func(*loader.Options){
		func(lo *loader.Options) {
			lo.SetProjectName(name, explicit)
			lo.SetWorkingDirExplicit(l.explicitWD)
			lo.SkipInterpolation = l.o.NoInterpolate
			lo.Profiles = profiles
			lo.SelectedServices = l.o.Services
			if lo.Interpolate != nil {
				// record the variables interpolation looks up, for the digest
				ip := *lo.Interpolate
				lookup := ip.LookupValue
				ip.LookupValue = func(k string) (string, bool) {
					l.consult(k)
					return lookup(k)
				}
				lo.Interpolate = &ip
			}
			lo.Listeners = append(lo.Listeners, func(event string, md map[string]any) {
				if event != "include" {
					return
				}
				paths, _ := md["path"].(types.StringList)
				wd, _ := md["workingdir"].(string)
				for _, p := range paths {
					if !filepath.IsAbs(p) {
						p = filepath.Join(wd, p)
					}
					*included = append(*included, p)
				}
			})
		},
	}
}

func (l *load) consult(k string) {
	l.mu.Lock()
	l.consulted[k] = true
	l.mu.Unlock()
}

// selectFiles fills l.files from -f, COMPOSE_FILE or discovery.
func (l *load) selectFiles() error {
	paths := l.o.Files
	if len(paths) == 0 {
		if f, ok := l.env[consts.ComposeFilePath]; ok && f != "" {
			sep := l.env[consts.ComposePathSeparator]
			if sep == "" {
				sep = string(os.PathListSeparator)
			}
			paths = strings.Split(f, sep)
		}
	}
	if len(paths) == 0 {
		found, err := l.discover()
		if err != nil {
			return err
		}
		paths = found
	}
	for _, p := range paths {
		if p == "-" {
			return classed(errdefs.ErrInvalidArgument, "reading a stack from stdin is not supported")
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("stack file %s: %w", p, err)
		}
		fi, err := os.Stat(abs)
		if err != nil {
			return fmt.Errorf("stack file: %w", err)
		}
		if fi.IsDir() {
			return classed(errdefs.ErrInvalidArgument, "stack file %s is a directory", abs)
		}
		l.files = append(l.files, abs)
	}
	return nil
}

// discover finds the default stack files, going up from the project
// directory. See LoadStack for the rules.
func (l *load) discover() ([]string, error) {
	dir := l.workingDir
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("find stack file: %w", err)
		}
		dir = wd
	}
	for {
		// Every candidate that is not there shapes the result as much as
		// the ones that are: creating it changes what is loaded.
		l.absent = append(l.absent, missing(dir, slices.Concat(cli.DefaultFileNames, cli.DefaultOverrideFileNames,
			[]string{DefaultHCLFile, DefaultHCLOverrideFile}))...)
		compose := existing(dir, cli.DefaultFileNames)
		hcl := existing(dir, []string{DefaultHCLFile})
		switch {
		case len(compose) > 0 && len(hcl) > 0:
			return nil, classed(errdefs.ErrInvalidArgument, "both %s and %s are in %s: choose one with -f",
				filepath.Base(compose[0]), DefaultHCLFile, dir)
		case len(compose) > 0:
			files := compose[:1]
			if o := existing(dir, cli.DefaultOverrideFileNames); len(o) > 0 {
				files = append(files, o[0])
			}
			return files, nil
		case len(hcl) > 0:
			return append(hcl, existing(dir, []string{DefaultHCLOverrideFile})...), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, classed(errdefs.ErrNotFound, "no stack file found (compose.yaml or %s) in %s or its parents",
				DefaultHCLFile, l.startDir())
		}
		dir = parent
	}
}

func (l *load) startDir() string {
	if l.workingDir != "" {
		return l.workingDir
	}
	wd, _ := os.Getwd()
	return wd
}

func missing(dir string, names []string) []string {
	var out []string
	for _, n := range names {
		f := filepath.Join(dir, n)
		if _, err := os.Stat(f); errors.Is(err, fs.ErrNotExist) {
			out = append(out, f)
		}
	}
	return out
}

func existing(dir string, names []string) []string {
	var out []string
	for _, n := range names {
		f := filepath.Join(dir, n)
		if fi, err := os.Stat(f); err == nil && !fi.IsDir() {
			out = append(out, f)
		}
	}
	return out
}

// readEnvFiles merges --env-file (or the project's .env) into l.env without
// overriding variables already set, as Compose does, and returns the files
// it read.
func (l *load) readEnvFiles() ([]string, error) {
	files := l.o.EnvFiles
	if len(files) == 0 {
		if v, ok := l.env[consts.ComposeDisableDefaultEnvFile]; ok && isTrue(v) {
			return nil, nil
		}
		if f := existing(l.workingDir, []string{".env"}); len(f) > 0 {
			files = f
		} else {
			l.absent = append(l.absent, missing(l.workingDir, []string{".env"})...)
		}
	}
	abs := make([]string, len(files))
	for i, f := range files {
		a, err := filepath.Abs(f)
		if err != nil {
			return nil, fmt.Errorf("env file %s: %w", f, err)
		}
		abs[i] = a
	}
	vars, err := dotenv.GetEnvFromFile(l.env, abs)
	if err != nil {
		return nil, Problems{{File: firstOr(abs), Message: err.Error()}}
	}
	l.env.Merge(vars)
	return abs, nil
}

func firstOr(s []string) string {
	if len(s) == 1 {
		return s[0]
	}
	return ""
}

func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "1", "t", "true", "yes", "y", "on":
		return true
	}
	return false
}

// readStackFile reads one stack file into what compose-go's loader takes.
// A YAML file is passed as content. An HCL file is evaluated and passed as
// parsed data; its Content is then only a `name:` document, which is what
// compose-go reads Content for when data is given (the project name).
func (l *load) readStackFile(path string) (types.ConfigFile, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return types.ConfigFile{}, fmt.Errorf("read stack file: %w", err)
	}
	if !isHCL(path) {
		l.inputs = append(l.inputs, inputFile{path: path, src: src})
		if ps := yamlSyntaxProblems(path, src); len(ps) > 0 {
			return types.ConfigFile{}, ps
		}
		return types.ConfigFile{Filename: path, Content: src}, nil
	}
	dec, err := decodeHCLFile(path, src, HCLInput{Vars: l.o.Vars, VarFiles: l.o.VarFiles, Env: l.env})
	l.hclFiles = append(l.hclFiles, dec.Files...)
	for _, k := range dec.EnvVars {
		l.consult(k)
	}
	l.inputs = append(l.inputs, inputFile{path: path, src: src, hcl: true, data: dec.Data, sources: dec.Sources})
	l.hclDecs = append(l.hclDecs, dec)
	if dec.Data == nil {
		l.hclFailed = true
	}
	data := dec.Data
	if err != nil {
		var ps Problems
		if errors.As(err, &ps) {
			return types.ConfigFile{}, ps
		}
		return types.ConfigFile{}, Problems{{File: path, Message: err.Error()}}
	}
	nameDoc := []byte("{}\n")
	if n, ok := data["name"].(string); ok && n != "" {
		if nameDoc, err = yaml.Marshal(map[string]string{"name": n}); err != nil {
			return types.ConfigFile{}, fmt.Errorf("%s: %w", path, err)
		}
	}
	return types.ConfigFile{Filename: path, Content: nameDoc, Config: data}, nil
}

// undeclaredProblems reports the -var and -var-file values for names that
// no HCL file of the stack declares (each file leaves out of its own
// problems the names it does not declare: another file may). With no HCL
// file at all, any -var or -var-file is a problem.
func (l *load) undeclaredProblems() Problems {
	if l.hclFailed {
		return nil
	}
	if len(l.hclDecs) == 0 {
		var out Problems
		for _, name := range slices.Sorted(maps.Keys(l.o.Vars)) {
			out = append(out, Problem{Path: "var." + name, Message: fmt.Sprintf("-var sets %q, but no stack file is HCL: only HCL stack files have variables", name)})
		}
		for _, f := range l.o.VarFiles {
			out = append(out, Problem{File: f, Message: "-var-file given, but no stack file is HCL: only HCL stack files have variables"})
		}
		return out
	}
	var declared []string
	for _, d := range l.hclDecs {
		declared = append(declared, d.Variables...)
	}
	var out Problems
	for _, d := range l.hclDecs {
		for _, p := range d.Undeclared {
			name := strings.TrimPrefix(p.Path, "var.")
			if slices.Contains(declared, name) {
				continue
			}
			p.Message = undeclaredMessage(name, p.File != "", declared)
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out.sorted()
}

func isHCL(path string) bool { return strings.EqualFold(filepath.Ext(path), ".hcl") }

// projectName applies the precedence of -p and COMPOSE_PROJECT_NAME. The
// `name:` of the files is left to compose-go, which overrides a
// non-explicit name with it.
func (l *load) projectName() (string, bool, error) {
	if n := l.o.ProjectName; n != "" {
		if loader.NormalizeProjectName(n) != n {
			return "", false, Problems{{Message: loader.InvalidProjectNameErr(n).Error()}}
		}
		return n, true, nil
	}
	if n := l.env[consts.ComposeProjectName]; n != "" {
		if loader.NormalizeProjectName(n) != n {
			return "", false, Problems{{Path: consts.ComposeProjectName, Message: loader.InvalidProjectNameErr(n).Error()}}
		}
		return n, true, nil
	}
	return loader.NormalizeProjectName(filepath.Base(l.workingDir)), false, nil
}

// referencedFiles lists the local files the model was made from besides the
// stack files and env files: included and extended files, services'
// env_file and label_file, configs' and secrets' files.
func (l *load) referencedFiles(p *types.Project, included []string) []string {
	out := slices.Clone(included)
	for _, inc := range included {
		out = append(out, existing(filepath.Dir(inc), []string{".env"})...)
	}
	seen := map[string]bool{}
	for _, in := range l.inputs {
		if !in.hcl {
			out = append(out, extendsFiles(in.path, in.src, false, seen)...)
		}
	}
	for _, in := range readAll(included) {
		if !in.hcl {
			out = append(out, extendsFiles(in.path, in.src, true, seen)...)
		}
	}
	for _, s := range slices.Concat(servicesOf(p.Services), servicesOf(p.DisabledServices)) {
		for _, f := range s.EnvFiles {
			out = append(out, f.Path)
		}
		out = append(out, s.LabelFiles...)
	}
	for _, c := range p.Configs {
		if c.File != "" {
			out = append(out, c.File)
		}
	}
	for _, c := range p.Secrets {
		if c.File != "" {
			out = append(out, c.File)
		}
	}
	return out
}

// optionalEnvFiles lists the env_file files marked required: false that do
// not exist.
func optionalEnvFiles(p *types.Project) []string {
	var out []string
	for _, s := range slices.Concat(servicesOf(p.Services), servicesOf(p.DisabledServices)) {
		for _, f := range s.EnvFiles {
			if _, err := os.Stat(f.Path); !bool(f.Required) && errors.Is(err, fs.ErrNotExist) {
				out = append(out, f.Path)
			}
		}
	}
	return out
}

func servicesOf(ss types.Services) []types.ServiceConfig {
	return slices.Collect(maps.Values(ss))
}

func readAll(paths []string) []inputFile {
	var out []inputFile
	for _, p := range paths {
		if src, err := os.ReadFile(p); err == nil {
			out = append(out, inputFile{path: p, src: src, hcl: isHCL(p)})
		}
	}
	return out
}

// extendsFiles returns the files named by `extends: {file: ...}` in a YAML
// stack file, and by `include:` when nested is set (the includes of the
// stack files themselves are reported by compose-go), recursively with
// theirs. Interpolated file names are not followed.
func extendsFiles(path string, src []byte, nested bool, seen map[string]bool) []string {
	var doc struct {
		Services map[string]struct {
			Extends any `yaml:"extends"`
		} `yaml:"services"`
		Include []any `yaml:"include"`
	}
	if yaml.Unmarshal(src, &doc) != nil {
		return nil
	}
	var refs []string
	for _, s := range doc.Services {
		if m, ok := s.Extends.(map[string]any); ok {
			if f, ok := m["file"].(string); ok {
				refs = append(refs, f)
			}
		}
	}
	if nested {
		for _, inc := range doc.Include {
			switch v := inc.(type) {
			case string:
				refs = append(refs, v)
			case map[string]any:
				switch p := v["path"].(type) {
				case string:
					refs = append(refs, p)
				case []any:
					for _, e := range p {
						if s, ok := e.(string); ok {
							refs = append(refs, s)
						}
					}
				}
			}
		}
	}
	var out []string
	for _, f := range refs {
		if f == "" || strings.Contains(f, "$") {
			continue
		}
		if !filepath.IsAbs(f) {
			f = filepath.Join(filepath.Dir(path), f)
		}
		if seen[f] {
			continue
		}
		seen[f] = true
		out = append(out, f)
		if b, err := os.ReadFile(f); err == nil {
			out = append(out, extendsFiles(f, b, true, seen)...)
		}
	}
	return out
}

// envVars is the sorted list of environment variables the model may depend
// on (see Stack).
func (l *load) envVars(p *types.Project) []string {
	vars := maps.Clone(l.consulted)
	for _, s := range slices.Concat(servicesOf(p.Services), servicesOf(p.DisabledServices)) {
		for k := range s.Environment {
			vars[k] = true
		}
	}
	for _, c := range p.Configs {
		if c.Environment != "" {
			vars[c.Environment] = true
		}
	}
	for _, c := range p.Secrets {
		if c.Environment != "" {
			vars[c.Environment] = true
		}
	}
	return slices.Sorted(maps.Keys(vars))
}

func sortUnique(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

func osEnv() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// InputDigest is the digest of a stack's inputs: the content of each file
// (a missing file counts as missing, not as an error) and the value of each
// named variable in env (unset differs from empty). Order of files and vars
// does not matter.
func InputDigest(files, vars []string, env map[string]string) (string, error) {
	h := newDigest()
	for _, f := range sortUnique(files) {
		h.str("file")
		h.str(f)
		b, err := os.ReadFile(f)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			h.str("missing")
		case err != nil:
			return "", fmt.Errorf("digest %s: %w", f, err)
		default:
			h.str("content")
			h.bytes(b)
		}
	}
	for _, k := range sortUnique(vars) {
		h.str("var")
		h.str(k)
		if v, ok := env[k]; ok {
			h.str("set")
			h.str(v)
		} else {
			h.str("unset")
		}
	}
	return h.sum(), nil
}

// classedError is an error of an errdefs class whose message does not
// repeat the class ("invalid argument"), for messages shown to users as
// they are.
type classedError struct {
	class error
	msg   string
}

func classed(class error, format string, args ...any) error {
	return &classedError{class: class, msg: fmt.Sprintf(format, args...)}
}

func (e *classedError) Error() string { return e.msg }
func (e *classedError) Unwrap() error { return e.class }
