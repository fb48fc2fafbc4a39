// Package build builds images from Dockerfiles without a daemon: it parses
// them with BuildKit's parser and instruction packages, runs each RUN in a
// throw-away container of berth's own OCI runtime (runc) on overlayfs whose
// upper directory becomes the layer, writes COPY and ADD layers as tar
// streams straight into the image store, and keeps a build cache of every
// step's resulting state (docs/build.md).
//
// It owns the build cache under <root>/build-cache and the temporary
// bundles of RUN steps under <run-root>/build. It reaches the image store
// through the narrow Store interface and registries through Builder.Pull;
// it must not import cmd, spec, reconcile, network or the runc runtime
// package (it runs the runtime binary itself, once per RUN).
package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/images/buildcache"
	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"golang.org/x/sync/errgroup"
)

// Store is what a build needs of the image store; *images.Store has it.
type Store interface {
	Image(ctx context.Context, ref string) (*images.Image, error)
	Ingest(ctx context.Context) (*images.Ingest, error)
	HasLayer(chain v1.Hash) bool
	HasBlob(h v1.Hash) bool
	LayerDir(chain v1.Hash) string
}

// Builder builds images into Store. Its fields are set once; Build may be
// called from several goroutines (and processes) at once.
type Builder struct {
	Store Store
	// Pull fetches ref (for FROM and COPY --from) for platform ("" this
	// machine's) into the store and returns the pulled image's ID, which
	// the build uses (the name may stay with another image); nil means
	// only local images can be used.
	Pull func(ctx context.Context, ref, platform string) (string, error)
	// Cache is the build cache (<root>/build-cache).
	Cache *Cache
	// RunRoot holds RUN steps' bundles and read-only views of stages
	// (<run-root>/build): a tmpfs is fine, nothing big lands there.
	RunRoot string
	// TmpDir holds RUN steps' upper directories until they are stored as
	// layers; it should be on the same disk as the store.
	TmpDir string
	// Runtime is the OCI runtime binary; "" means runc.
	Runtime string
	// Now is the clock of history entries; nil means time.Now.
	Now func() time.Time

	runs atomic.Int64 // RUN steps executed: the tests count cache misses with it
}

// Options are one build's inputs, `docker build`'s flags and Compose's
// build: section.
type Options struct {
	// ContextDir is the build context; "" for a build with no context
	// (a Dockerfile on stdin), where COPY and ADD of local files fail.
	ContextDir string
	// Dockerfile is the Dockerfile's path, relative to ContextDir unless
	// absolute; default "Dockerfile". DockerfileInline, if set, is used
	// instead (Compose's dockerfile_inline, `build -`).
	Dockerfile       string
	DockerfileInline []byte
	// Args are --build-arg values.
	Args map[string]string
	// Target is the stage to build; "" means the last.
	Target string
	// Labels are added to the image's config (--label).
	Labels map[string]string
	// Tags name the image (NAME[:TAG]); none leaves it dangling.
	Tags []string
	// NoCache runs every step; Pull fetches every base image again.
	NoCache bool
	Pull    bool
	// Network of RUN steps: "default" (also ""; Docker's default bridge
	// network, through Attacher), "none" or "host".
	Network string
	// Attacher joins RUN steps on the default network to it; nil makes
	// such a step fail (errdefs.ErrFailedPrecondition) when it has to run.
	Attacher NetworkAttacher
	// Platform is os/arch[/variant], default this machine's. Another
	// platform's base images are pulled for it; its RUN steps need an
	// emulator registered with binfmt_misc.
	Platform string
	// Secrets maps the IDs of RUN --mount=type=secret to host files.
	Secrets map[string]string
	// SSH maps the IDs of RUN --mount=type=ssh to agent sockets
	// (`--ssh default=$SSH_AUTH_SOCK`).
	SSH map[string]string
	// Progress receives the build's progress; nil means none.
	Progress io.Writer
	// ProgressJSON writes JSON lines instead of BuildKit's plain text.
	ProgressJSON bool
}

// NetworkAttacher gives RUN steps on the default network their network
// namespace. cmd/berth wires one over network/cni's manager and
// network/netns: the default bridge network `berth run` uses.
type NetworkAttacher interface {
	// Attach creates a network namespace for the RUN container id, joined
	// to the default network, and returns its path and the addresses it
	// got. On error nothing of it is left.
	Attach(ctx context.Context, id string) (netnsPath string, ips []netip.Addr, err error)
	// Release detaches id's namespace (its address lease, its veth) and
	// removes it. It is idempotent: an id never attached, or released
	// already, is no error.
	Release(ctx context.Context, id string) error
}

// RunIDPrefix starts the container ID of every RUN step, the name its
// network attachment goes by (buildcache.RunIDPrefix).
const RunIDPrefix = buildcache.RunIDPrefix

// DefaultPathEnv is the PATH RUN gets when the image sets none, as BuildKit.
const DefaultPathEnv = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// build is one Build in progress.
type build struct {
	b        *Builder
	opts     Options
	df       *Dockerfile
	ctxSrc   *source // nil without a context
	in       *images.Ingest
	prog     *progress
	platform v1.Platform
	global   map[string]string // meta ARGs and predefined args, for FROM
	stages   []func() (*state, error)
}

// Build builds the image and returns its ID. Nothing is named unless the
// whole build succeeded. Errors about the Dockerfile name its file and line;
// a failing RUN is "Dockerfile:7: RUN false: exit code 1" wrapping an
// *ExitError.
func (b *Builder) Build(ctx context.Context, opts Options) (string, error) {
	src, name, err := readDockerfile(opts)
	if err != nil {
		return "", err
	}
	df, err := Parse(name, src)
	if err != nil {
		return "", err
	}
	bd := &build{b: b, opts: opts, df: df, prog: &progress{w: opts.Progress, json: opts.ProgressJSON}}
	for _, w := range df.Warnings {
		v := bd.prog.start("warning: " + w)
		v.done()
	}
	if bd.platform, err = buildPlatform(opts.Platform); err != nil {
		return "", err
	}
	bd.global = bd.predefinedArgs()
	for _, a := range df.MetaArgs {
		for _, kv := range a.Args {
			if v, ok := opts.Args[kv.Key]; ok {
				bd.global[kv.Key] = v
			} else if kv.Value != nil {
				v, err := bd.expand(*kv.Value, mapEnv(bd.global))
				if err != nil {
					return "", fmt.Errorf("%s:%d: ARG %s: %w", df.Name, line(a.Location()), kv.Key, err)
				}
				bd.global[kv.Key] = v
			} else if _, ok := bd.global[kv.Key]; !ok {
				bd.global[kv.Key] = ""
			}
		}
	}
	target := len(df.Stages) - 1
	if opts.Target != "" {
		i, ok := instructions.HasStage(df.Stages, strings.ToLower(opts.Target))
		if !ok {
			return "", fmt.Errorf("target stage %q could not be found: %w", opts.Target, errdefs.ErrNotFound)
		}
		target = i
	}
	if opts.ContextDir != "" {
		if bd.ctxSrc, err = openContext(opts.ContextDir); err != nil {
			return "", err
		}
		defer bd.ctxSrc.Close()
		if b.Cache != nil {
			if abs, err := filepath.Abs(opts.ContextDir); err == nil {
				bd.ctxSrc.sums = newStatCache(b.Cache, abs)
				defer bd.ctxSrc.sums.save()
			}
		}
	}
	b.reap(opts.Attacher)
	if bd.in, err = b.Store.Ingest(ctx); err != nil {
		return "", err
	}
	defer bd.in.Close()

	bd.stages = make([]func() (*state, error), len(df.Stages))
	for i := range df.Stages {
		bd.stages[i] = sync.OnceValues(func() (*state, error) { return bd.stage(ctx, i) })
	}
	st, err := bd.stages[target]()
	if err != nil {
		return "", err
	}
	return bd.commit(ctx, st)
}

func readDockerfile(opts Options) ([]byte, string, error) {
	if opts.DockerfileInline != nil {
		return opts.DockerfileInline, "Dockerfile", nil
	}
	p := opts.Dockerfile
	if p == "" {
		p = "Dockerfile"
	}
	if !filepath.IsAbs(p) {
		if opts.ContextDir == "" {
			return nil, "", fmt.Errorf("no build context and no Dockerfile: %w", errdefs.ErrInvalidArgument)
		}
		p = filepath.Join(opts.ContextDir, p)
	}
	src, err := os.ReadFile(p)
	if err != nil {
		return nil, "", fmt.Errorf("read Dockerfile: %w", err)
	}
	return src, filepath.Base(p), nil
}

// predefinedArgs are BuildKit's automatic platform ARGs.
func (bd *build) predefinedArgs() map[string]string {
	p, h := bd.platform, hostPlatform()
	return map[string]string{
		"TARGETPLATFORM": platformString(p), "TARGETOS": p.OS, "TARGETARCH": p.Architecture, "TARGETVARIANT": p.Variant,
		"BUILDPLATFORM": platformString(h), "BUILDOS": h.OS, "BUILDARCH": h.Architecture, "BUILDVARIANT": h.Variant,
	}
}

// mapEnv is a shell.EnvGetter over a map.
type mapEnv map[string]string

func (m mapEnv) Get(k string) (string, bool) { v, ok := m[k]; return v, ok }
func (m mapEnv) Keys() []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func (bd *build) expand(word string, env shell.EnvGetter) (string, error) {
	lex := shell.NewLex(bd.df.Escape)
	s, _, err := lex.ProcessWord(word, env)
	return s, err
}

// stageRef finds the stage a FROM or --from names (a name or an index
// below limit), or -1.
func (bd *build) stageRef(name string, limit int) int {
	if i, ok := instructions.HasStage(bd.df.Stages[:limit], strings.ToLower(name)); ok {
		return i
	}
	if n, err := strconv.Atoi(name); err == nil && n >= 0 && n < limit {
		return n
	}
	return -1
}

// deps are the stages stage i reads: its base and its --from sources.
func (bd *build) deps(i int) []int {
	s := bd.df.Stages[i]
	var out []int
	add := func(name string) {
		if name == "" {
			return
		}
		if v, err := bd.expand(name, mapEnv(bd.global)); err == nil {
			name = v
		}
		if j := bd.stageRef(name, i); j >= 0 {
			out = append(out, j)
		}
	}
	add(s.BaseName)
	for _, c := range s.Commands {
		switch c := c.(type) {
		case *instructions.CopyCommand:
			add(c.From)
		case *instructions.RunCommand:
			for _, m := range instructions.GetMounts(c) {
				add(m.From)
			}
		}
	}
	return out
}

// stage builds stage i: its dependencies first, in parallel, then its
// instructions in order.
func (bd *build) stage(ctx context.Context, i int) (*state, error) {
	var g errgroup.Group
	for _, d := range bd.deps(i) {
		g.Go(func() error { _, err := bd.stages[d](); return err })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return bd.runStage(ctx, i)
}

// errorAt names the Dockerfile line of c in err.
func (bd *build) errorAt(c instructions.Command, code string, err error) error {
	return fmt.Errorf("%s:%d: %s: %w", bd.df.Name, line(c.Location()), code, err)
}

// commit stores the final state as an image and names it.
func (bd *build) commit(ctx context.Context, st *state) (string, error) {
	st = st.clone()
	if len(bd.opts.Labels) > 0 {
		if st.Config.Config.Labels == nil {
			st.Config.Config.Labels = map[string]string{}
		}
		for k, v := range bd.opts.Labels {
			st.Config.Config.Labels[k] = v
		}
	}
	st.Config.RootFS.Type = "layers"
	if st.Config.RootFS.DiffIDs == nil {
		st.Config.RootFS.DiffIDs = []v1.Hash{}
	}
	var names []string
	for _, t := range bd.opts.Tags {
		n, err := images.NormalizeTag(t)
		if err != nil {
			return "", fmt.Errorf("tag %s: %w", t, err)
		}
		names = append(names, n)
	}
	v := bd.prog.start("exporting to image")
	cfg, err := json.Marshal(st.Config)
	if err != nil {
		return "", err
	}
	m := st.manifest(cfg)
	id := m.Config.Digest.String()
	if !bd.named(ctx, id, names) {
		// An unchanged rebuild skips this: no blob write, no index update.
		if _, _, err := bd.in.WriteBlob(ctx, strings.NewReader(string(cfg)), m.Config.Digest); err != nil {
			return "", fmt.Errorf("write image config: %w", err)
		}
		mb, err := json.Marshal(m)
		if err != nil {
			return "", err
		}
		md, size, err := bd.in.WriteBlob(ctx, strings.NewReader(string(mb)), v1.Hash{})
		if err != nil {
			return "", fmt.Errorf("write image manifest: %w", err)
		}
		if id, err = bd.in.AddImage(ctx, v1.Descriptor{MediaType: m.MediaType, Size: size, Digest: md}, names...); err != nil {
			return "", fmt.Errorf("store image: %w", err)
		}
	}
	v.emit(event{Status: "output", Output: "writing image " + id}, fmt.Sprintf("#%d writing image %s done\n", v.id, id))
	for _, n := range names {
		v.emit(event{Status: "output", Output: "naming to " + n}, fmt.Sprintf("#%d naming to %s done\n", v.id, n))
	}
	v.done()
	return id, nil
}

// named reports whether the store already has the image id under every
// one of names (with no names: at all).
func (bd *build) named(ctx context.Context, id string, names []string) bool {
	im, err := bd.b.Store.Image(ctx, id)
	if err != nil || im.ID != id {
		return false
	}
	for _, n := range names {
		if !slices.Contains(im.Names, n) {
			return false
		}
	}
	return true
}

func (b *Builder) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// valid reports whether every layer of a cached state is still stored.
func (bd *build) valid(st *state) bool {
	for _, l := range st.Layers {
		if !bd.b.Store.HasLayer(l.ChainID) || !bd.b.Store.HasBlob(l.Digest) {
			return false
		}
	}
	return true
}

func isNotFound(err error) bool { return errors.Is(err, errdefs.ErrNotFound) }
