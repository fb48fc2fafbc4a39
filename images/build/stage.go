package build

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/berth-dev/berth/images"
	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// stageEnv is what variable expansion sees in a stage: the config's ENV
// over the stage's ARGs (ENV wins, as in Docker).
type stageEnv struct {
	st   *state
	args map[string]string
}

func (e stageEnv) Get(k string) (string, bool) {
	if v, ok := lookupEnv(e.st.Config.Config.Env, k); ok {
		return v, true
	}
	v, ok := e.args[k]
	return v, ok
}

func (e stageEnv) Keys() []string {
	var ks []string
	for _, kv := range e.st.Config.Config.Env {
		k, _, _ := strings.Cut(kv, "=")
		ks = append(ks, k)
	}
	for k := range e.args {
		ks = append(ks, k)
	}
	return ks
}

// runEnv is the environment of RUN: ENV, then the ARGs ENV does not set,
// and a default PATH.
func (e stageEnv) runEnv() []string {
	env := slices.Clone(e.st.Config.Config.Env)
	var ks []string
	for k := range e.args {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		if _, ok := lookupEnv(env, k); !ok {
			env = append(env, k+"="+e.args[k])
		}
	}
	if _, ok := lookupEnv(env, "PATH"); !ok {
		env = append(env, "PATH="+DefaultPathEnv)
	}
	return env
}

// base is the state a stage starts from.
func (bd *build) base(ctx context.Context, i int) (*state, error) {
	s := bd.df.Stages[i]
	name, err := bd.expand(s.BaseName, mapEnv(bd.global))
	if err != nil {
		return nil, fmt.Errorf("%s:%d: FROM %s: %w: %w", bd.df.Name, line(s.Location), s.BaseName, err, errdefs.ErrInvalidArgument)
	}
	if name == "" {
		return nil, fmt.Errorf("%s:%d: FROM: base name %q is empty after expansion: %w", bd.df.Name, line(s.Location), s.BaseName, errdefs.ErrInvalidArgument)
	}
	// The stage's platform: FROM --platform, else the build's.
	plat, explicit := bd.platform, bd.opts.Platform != ""
	if s.Platform != "" {
		p, err := bd.expand(s.Platform, mapEnv(bd.global))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: FROM --platform=%s: %w: %w", bd.df.Name, line(s.Location), s.Platform, err, errdefs.ErrInvalidArgument)
		}
		if plat, err = buildPlatform(p); err != nil {
			return nil, fmt.Errorf("%s:%d: FROM: %w", bd.df.Name, line(s.Location), err)
		}
		explicit = true
	}
	if j := bd.stageRef(name, i); j >= 0 {
		st, err := bd.stages[j]()
		if err != nil {
			return nil, err
		}
		return st.clone(), nil
	}
	if name == "scratch" {
		st := &state{}
		st.Config.OS, st.Config.Architecture, st.Config.Variant = plat.OS, plat.Architecture, plat.Variant
		st.Config.RootFS.Type = "layers"
		st.Config.Config.Env = []string{"PATH=" + DefaultPathEnv}
		return st, nil
	}
	im, err := bd.image(ctx, name, plat, explicit)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: FROM %s: %w", bd.df.Name, line(s.Location), name, err)
	}
	st, err := stateOf(im)
	if err != nil {
		return nil, err
	}
	if _, ok := lookupEnv(st.Config.Config.Env, "PATH"); !ok {
		st.Config.Config.Env = append(st.Config.Config.Env, "PATH="+DefaultPathEnv)
	}
	return st, nil
}

// image finds a base image locally, pulling it if it is missing or Pull
// is set. With a platform asked for (explicit: --platform or FROM
// --platform), a local image of another platform is pulled again for plat,
// and what is used must be for plat.
func (bd *build) image(ctx context.Context, ref string, plat v1.Platform, explicit bool) (*images.Image, error) {
	want := ""
	if explicit {
		want = platformString(plat)
	}
	im, err := bd.b.Store.Image(ctx, ref)
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	if err == nil && !bd.opts.Pull && (!explicit || images.CheckPlatform(im, ref, want) == nil) {
		return im, nil
	}
	if bd.b.Pull == nil {
		if err != nil {
			return nil, err
		}
		if explicit {
			if err := images.CheckPlatform(im, ref, want); err != nil {
				return nil, err
			}
		}
		return im, nil
	}
	v := bd.prog.start("pull " + ref)
	id, perr := bd.b.Pull(ctx, ref, want)
	if perr != nil {
		v.fail(perr)
		return nil, perr
	}
	v.done()
	if id == "" {
		id = ref
	}
	if im, err = bd.b.Store.Image(ctx, id); err != nil {
		return nil, err
	}
	if explicit {
		if err := images.CheckPlatform(im, ref, want); err != nil {
			return nil, err
		}
	}
	return im, nil
}

// layerDirs are the unpacked directories of a state's layers, bottom-first.
func (bd *build) layerDirs(st *state) []string {
	dirs := make([]string, len(st.Layers))
	for i, l := range st.Layers {
		dirs[i] = bd.b.Store.LayerDir(l.ChainID)
	}
	return dirs
}

// runStage runs stage i's instructions.
func (bd *build) runStage(ctx context.Context, i int) (*state, error) {
	s := bd.df.Stages[i]
	st, err := bd.base(ctx, i)
	if err != nil {
		return nil, err
	}
	cmds := s.Commands
	if len(st.Config.Config.OnBuild) > 0 {
		triggers, err := parseTriggers(st.Config.Config.OnBuild)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: ONBUILD trigger of %s: %w", bd.df.Name, line(s.Location), s.BaseName, err)
		}
		st.Config.Config.OnBuild = nil
		cmds = append(triggers, cmds...)
	}
	label := s.Name
	if label == "" {
		label = fmt.Sprintf("stage-%d", i)
	}
	if len(bd.df.Stages) == 1 {
		label = ""
	}
	args := map[string]string{}
	cmdSet := false
	for n, c := range cmds {
		env := stageEnv{st: st, args: args}
		if e, ok := c.(instructions.SupportsSingleWordExpansion); ok {
			if err := e.Expand(func(w string) (string, error) { return bd.expand(w, env) }); err != nil {
				return nil, bd.errorAt(c, c.Name(), fmt.Errorf("%w: %w", err, errdefs.ErrInvalidArgument))
			}
		}
		if e, ok := c.(instructions.SupportsSingleWordExpansionRaw); ok {
			if err := e.ExpandRaw(func(w string) (string, error) { return bd.expand(w, env) }); err != nil {
				return nil, bd.errorAt(c, c.Name(), fmt.Errorf("%w: %w", err, errdefs.ErrInvalidArgument))
			}
		}
		if a, ok := c.(*instructions.ArgCommand); ok {
			bd.declareArgs(a, args)
			continue
		}
		code := codeOf(c)
		title := fmt.Sprintf("[%d/%d] %s", n+1, len(cmds), code)
		if label != "" {
			title = fmt.Sprintf("[%s %d/%d] %s", label, n+1, len(cmds), code)
		}
		next, err := bd.step(ctx, st, c, env, cmdSet, title, i)
		if err != nil {
			return nil, bd.errorAt(c, code, err)
		}
		st = next
		if _, ok := c.(*instructions.CmdCommand); ok {
			cmdSet = true
		}
	}
	return st, nil
}

// codeOf is the instruction as written, on one line.
func codeOf(c instructions.Command) string {
	code := c.Name()
	if s, ok := c.(fmt.Stringer); ok {
		code = s.String()
	}
	if i := strings.IndexByte(code, '\n'); i >= 0 {
		code = code[:i] + " ..."
	}
	return code
}

// declareArgs handles ARG in a stage: a --build-arg wins, then the
// default, then the global value of a meta ARG or a predefined one.
func (bd *build) declareArgs(a *instructions.ArgCommand, args map[string]string) {
	for _, kv := range a.Args {
		if v, ok := bd.opts.Args[kv.Key]; ok {
			args[kv.Key] = v
		} else if kv.Value != nil {
			args[kv.Key] = *kv.Value
		} else if v, ok := bd.global[kv.Key]; ok {
			args[kv.Key] = v
		} else {
			args[kv.Key] = ""
		}
	}
}

// parseTriggers parses an image's ONBUILD instructions.
func parseTriggers(triggers []string) ([]instructions.Command, error) {
	var out []instructions.Command
	for _, t := range triggers {
		res, err := parser.Parse(strings.NewReader(t))
		if err != nil {
			return nil, err
		}
		for _, n := range res.AST.Children {
			c, err := instructions.ParseCommand(n)
			if err != nil {
				return nil, err
			}
			switch strings.ToUpper(c.Name()) {
			case "ONBUILD", "FROM", "MAINTAINER":
				return nil, fmt.Errorf("%s is not allowed as an ONBUILD trigger: %w", c.Name(), errdefs.ErrInvalidArgument)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// step runs one instruction, or takes its result from the cache.
func (bd *build) step(ctx context.Context, st *state, c instructions.Command, env stageEnv, cmdSet bool, title string, stageIdx int) (*state, error) {
	text := commandText(c.Name(), c)
	var parts []string
	var exec func(ctx context.Context, v *vertex) (*state, error)
	switch c := c.(type) {
	case *instructions.RunCommand:
		r, err := bd.planRun(st, c, env, stageIdx)
		if err != nil {
			return nil, err
		}
		parts = append(parts, r.key)
		exec = func(ctx context.Context, v *vertex) (*state, error) { return bd.execRun(ctx, st, r, v) }
	case *instructions.CopyCommand:
		from := c.From
		if from != "" { // expanded with the global ARGs, as BuildKit does
			f, err := bd.expand(from, mapEnv(bd.global))
			if err != nil {
				return nil, fmt.Errorf("--from=%s: %w: %w", from, err, errdefs.ErrInvalidArgument)
			}
			from = f
		}
		cp, err := bd.planCopy(ctx, st, &copyPlan{sd: c.SourcesAndDest, from: from, chown: c.Chown, chmod: c.Chmod, name: "COPY", link: c.Link, parents: c.Parents, exclude: c.ExcludePatterns}, stageIdx)
		if err != nil {
			return nil, err
		}
		parts = append(parts, cp.key)
		exec = func(ctx context.Context, v *vertex) (*state, error) { return bd.execCopy(ctx, st, cp) }
	case *instructions.AddCommand:
		cp, err := bd.planCopy(ctx, st, &copyPlan{sd: c.SourcesAndDest, chown: c.Chown, chmod: c.Chmod, name: "ADD", add: true, link: c.Link, checksum: c.Checksum, exclude: c.ExcludePatterns}, stageIdx)
		if err != nil {
			return nil, err
		}
		parts = append(parts, cp.key)
		exec = func(ctx context.Context, v *vertex) (*state, error) { return bd.execCopy(ctx, st, cp) }
	case *instructions.WorkdirCommand:
		exec = func(ctx context.Context, v *vertex) (*state, error) { return bd.execWorkdir(ctx, st, c) }
	default:
		if cmdSet {
			parts = append(parts, "cmd-set") // ENTRYPOINT keeps this stage's CMD
		}
		exec = func(ctx context.Context, v *vertex) (*state, error) {
			next := st.clone()
			if err := next.applyConfig(c, cmdSet); err != nil {
				return nil, err
			}
			next.history(bd.b.now(), "/bin/sh -c #(nop) "+c.(fmt.Stringer).String(), true)
			return next, nil
		}
	}
	k := key(st.digest(), append([]string{text}, parts...)...)
	v := bd.prog.start(title)
	if !bd.opts.NoCache && bd.b.Cache != nil {
		if rec := getRecord(bd.b.Cache, k); rec != nil && bd.valid(rec) {
			v.cached()
			return rec, nil
		}
	}
	next, err := exec(ctx, v)
	if err != nil {
		v.fail(err)
		return nil, err
	}
	if bd.b.Cache != nil {
		if err := putRecord(bd.b.Cache, k, next); err != nil {
			return nil, err
		}
	}
	v.done()
	return next, nil
}

// layerFrom stores the tar stream write produces as a layer on st.
func (bd *build) layerFrom(ctx context.Context, st *state, write func(w io.Writer) error) (images.Layer, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(pw)) }()
	l, err := bd.in.WriteLayer(ctx, pr, images.LayerInput{Parent: st.topChain()})
	pr.CloseWithError(err)
	if err != nil {
		return images.Layer{}, err
	}
	return l, nil
}

// execWorkdir sets the working directory and, when the image lacks it,
// adds a layer creating it.
func (bd *build) execWorkdir(ctx context.Context, st *state, c *instructions.WorkdirCommand) (*state, error) {
	next := st.clone()
	if err := next.applyConfig(c, false); err != nil {
		return nil, err
	}
	wd := next.Config.Config.WorkingDir
	created := "/bin/sh -c #(nop) WORKDIR " + wd
	lower := newLayered(bd.layerDirs(st))
	if lower.isDir(wd) {
		next.history(bd.b.now(), created, true)
		return next, nil
	}
	now := bd.b.now()
	resolved, err := lower.resolve(wd, true)
	if err != nil {
		return nil, err
	}
	// BuildKit creates it (and missing parents) owned by the USER.
	var own *owner
	if u := st.Config.Config.User; u != "" {
		if own, err = parseChown(u, lower); err != nil {
			return nil, err
		}
	}
	l, err := bd.layerFrom(ctx, st, func(w io.Writer) error {
		t := newLayerTar(w, lower, now)
		if err := t.mkdir(resolved, own); err != nil {
			return err
		}
		return t.Close()
	})
	if err != nil {
		return nil, err
	}
	next.addLayer(l)
	next.history(now, created, false)
	return next, nil
}

// jsonText is v as JSON, for cache keys.
func jsonText(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return strings.TrimSpace(b.String())
}

// tmpDir makes a temporary directory under the builder's TmpDir.
func (bd *build) tmpDir(prefix string) (string, error) {
	dir := bd.b.TmpDir
	if dir == "" {
		dir = os.TempDir()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return os.MkdirTemp(dir, prefix)
}

func cleanAbs(p string) string { return path.Clean("/" + filepath.ToSlash(p)) }
