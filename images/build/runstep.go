package build

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	goruntime "runtime"
	"strings"

	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/runtime"
	"github.com/containerd/errdefs"
	securejoin "github.com/cyphar/filepath-securejoin"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// runPlan is a RUN with its command line, environment, network and mounts
// resolved.
type runPlan struct {
	args    []string
	env     []string
	network string
	mounts  []*instructions.Mount
	mountSt map[int]*state // --mount from= a stage or image, by mount index
	script  *instructions.ShellInlineFile
	key     string
}

// planRun resolves a RUN. Heredocs follow BuildKit: a lone heredoc is the
// shell's script (or, with a #! line, an executable file run as is);
// anything more is handed to the shell whole.
func (bd *build) planRun(st *state, c *instructions.RunCommand, env stageEnv, stageIdx int) (*runPlan, error) {
	r := &runPlan{env: env.runEnv(), mountSt: map[int]*state{}}
	args := c.CmdLine
	if len(c.Files) > 0 {
		if len(args) != 1 || !c.PrependShell {
			return nil, fmt.Errorf("heredoc with the exec form: %w", errdefs.ErrInvalidArgument)
		}
		if hd := parser.MustParseHeredoc(args[0]); hd != nil {
			f := c.Files[0]
			if f.Chomp {
				f.Data = parser.ChompHeredocContent(f.Data)
			}
			if strings.HasPrefix(f.Data, "#!") {
				r.script = &f
				args = []string{path.Join("/dev/pipes", f.Name)}
			} else {
				args = []string{f.Data}
			}
		} else {
			full := args[0]
			for _, f := range c.Files {
				full += "\n" + f.Data + f.Name
			}
			args = []string{full}
		}
	}
	if c.PrependShell {
		args = append(st.shell(), strings.Join(args, " "))
	}
	if r.script != nil {
		args = args[len(args)-1:]
	}
	r.args = args
	switch n := instructions.GetNetwork(c); n {
	case instructions.NetworkDefault, "":
		r.network = bd.opts.Network
	default:
		r.network = n
	}
	switch r.network {
	case "", "default":
		r.network = "default"
	case "none", "host":
	default:
		return nil, fmt.Errorf("network %q: must be default, none or host: %w", r.network, errdefs.ErrInvalidArgument)
	}
	r.mounts = instructions.GetMounts(c)
	var mk []string
	nssh := 0
	for i, m := range r.mounts {
		switch m.Type {
		case instructions.MountTypeBind, instructions.MountTypeCache, instructions.MountTypeTmpfs, instructions.MountTypeSecret:
		case instructions.MountTypeSSH:
			if err := bd.planSSH(m, nssh, r); err != nil {
				return nil, err
			}
			nssh++
		default:
			return nil, fmt.Errorf("--mount=type=%s is not supported: %w", m.Type, errdefs.ErrNotImplemented)
		}
		part := jsonText(m)
		if m.Type == instructions.MountTypeBind {
			if m.From != "" {
				ms, err := bd.mountState(m.From, stageIdx)
				if err != nil {
					return nil, err
				}
				r.mountSt[i] = ms
				part += " from " + ms.digest()
			} else {
				if bd.ctxSrc == nil {
					return nil, fmt.Errorf("--mount=type=bind needs a build context: %w", errdefs.ErrInvalidArgument)
				}
				rel := strings.TrimPrefix(cleanAbs(m.Source), "/")
				if rel == "" {
					rel = "."
				}
				es, err := bd.ctxSrc.walk(rel, "/")
				if err != nil {
					return nil, err
				}
				d, err := bd.ctxSrc.digest(es)
				if err != nil {
					return nil, err
				}
				part += " content " + d
			}
		}
		mk = append(mk, part)
	}
	r.key = jsonText(struct {
		Args    []string
		Env     []string
		Network string
		Mounts  []string
		Script  *instructions.ShellInlineFile
	}{r.args, r.env, r.network, mk, r.script})
	return r, nil
}

// planSSH resolves the n-th (from 0) ssh mount of a RUN as BuildKit does:
// ID "default", target /run/buildkit/ssh_agent.N, SSH_AUTH_SOCK the first
// one's unless ENV sets it; a required agent the build was not given is an
// error before anything runs.
func (bd *build) planSSH(m *instructions.Mount, n int, r *runPlan) error {
	if m.Source != "" {
		return fmt.Errorf("--mount=type=ssh does not support source: %w", errdefs.ErrInvalidArgument)
	}
	if m.CacheID == "" {
		m.CacheID = "default"
	}
	if m.Target == "" {
		m.Target = fmt.Sprintf("/run/buildkit/ssh_agent.%d", n)
	}
	if _, ok := bd.opts.SSH[m.CacheID]; !ok && m.Required {
		return fmt.Errorf("ssh agent %q is required but was not given (berth build --ssh %s=SOCKET): %w", m.CacheID, m.CacheID, errdefs.ErrFailedPrecondition)
	}
	if _, ok := lookupEnv(r.env, "SSH_AUTH_SOCK"); !ok {
		r.env = append(r.env, "SSH_AUTH_SOCK="+m.Target)
	}
	return nil
}

func (bd *build) mountState(from string, stageIdx int) (*state, error) {
	if j := bd.stageRef(from, stageIdx); j >= 0 {
		return bd.stages[j]()
	}
	im, err := bd.image(context.Background(), from, bd.platform, bd.opts.Platform != "")
	if err != nil {
		return nil, fmt.Errorf("--mount from=%s: %w", from, err)
	}
	return stateOf(im)
}

// execRun runs a planned RUN and stores its changes as a layer.
func (bd *build) execRun(ctx context.Context, st *state, r *runPlan, v *vertex) (*state, error) {
	if err := canRun(v1.Platform{OS: st.Config.OS, Architecture: st.Config.Architecture, Variant: st.Config.Variant}, goruntime.GOARCH, binfmtDir); err != nil {
		return nil, err
	}
	if r.network == "default" && bd.opts.Attacher == nil {
		return nil, fmt.Errorf("the default network needs berth's networks, which this build was not given (use --network none or host): %w", errdefs.ErrFailedPrecondition)
	}
	tmp, err := bd.tmpDir("run-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	unlock, err := lockDir(tmp)
	if err != nil {
		return nil, err
	}
	defer unlock()
	upper, work := filepath.Join(tmp, "upper"), filepath.Join(tmp, "work")
	for _, d := range []string{upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, err
		}
	}
	var mounts []runtime.Mount
	for i, m := range r.mounts {
		rm, release, err := bd.runMount(m, r.mountSt[i], filepath.Join(tmp, fmt.Sprintf("mount-%d", i)))
		if err != nil {
			return nil, err
		}
		if release != nil {
			defer release()
		}
		if rm != nil {
			mounts = append(mounts, *rm)
		}
	}
	if r.script != nil {
		dir := filepath.Join(tmp, "pipes")
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, r.script.Name), []byte(r.script.Data), 0o755); err != nil {
			return nil, err
		}
		mounts = append(mounts, runtime.Mount{Type: "bind", Source: dir, Target: "/dev/pipes", ReadOnly: true})
	}
	out := v.output()
	cfg := st.Config.Config
	err = bd.b.runOnce(ctx, runSpec{
		args: r.args, env: r.env, workdir: cfg.WorkingDir, user: cfg.User, network: r.network,
		attacher: bd.opts.Attacher, mounts: mounts, lowers: bd.layerDirs(st), stdout: out, stderr: out,
	}, upper, work)
	out.Flush()
	if err != nil {
		return nil, err
	}
	now := bd.b.now()
	l, err := bd.layerFrom(ctx, st, func(w io.Writer) error { return images.WriteDiff(ctx, w, upper) })
	if err != nil {
		return nil, err
	}
	next := st.clone()
	next.addLayer(l)
	next.history(now, "RUN "+strings.Join(r.args, " "), false)
	return next, nil
}

// runMount turns a RUN --mount into a container mount. scratch is a path
// on the disk of the run's upper directory that the mount may use (a rw
// bind's throw-away copy).
func (bd *build) runMount(m *instructions.Mount, from *state, scratch string) (*runtime.Mount, func(), error) {
	switch m.Type {
	case instructions.MountTypeTmpfs:
		return &runtime.Mount{Type: "tmpfs", Target: m.Target, TmpfsSize: m.SizeLimit}, nil, nil
	case instructions.MountTypeCache:
		id := m.CacheID
		if id == "" {
			id = m.Target
		}
		dir, err := bd.b.Cache.MountDir(id)
		if err != nil {
			return nil, nil, err
		}
		if m.Mode != nil {
			os.Chmod(dir, os.FileMode(*m.Mode))
		}
		if m.UID != nil || m.GID != nil {
			uid, gid := 0, 0
			if m.UID != nil {
				uid = int(*m.UID)
			}
			if m.GID != nil {
				gid = int(*m.GID)
			}
			os.Chown(dir, uid, gid)
		}
		return &runtime.Mount{Type: "bind", Source: dir, Target: m.Target}, nil, nil
	case instructions.MountTypeSecret:
		id := m.CacheID
		if id == "" {
			id = path.Base(m.Target)
		}
		target := m.Target
		if target == "" {
			target = "/run/secrets/" + id
		}
		src, ok := bd.opts.Secrets[id]
		if !ok {
			if m.Required {
				return nil, nil, fmt.Errorf("secret %s: not provided: %w", id, errdefs.ErrNotFound)
			}
			return nil, nil, nil
		}
		return &runtime.Mount{Type: "bind", Source: src, Target: target, ReadOnly: true}, nil, nil
	case instructions.MountTypeSSH:
		// The agent's socket itself (BuildKit forwards it through its
		// session): uid, gid and mode cannot be changed without changing
		// the host's socket, so they are not applied.
		sock, ok := bd.opts.SSH[m.CacheID]
		if !ok {
			return nil, nil, nil // not required: no agent, as BuildKit
		}
		return &runtime.Mount{Type: "bind", Source: sock, Target: m.Target}, nil, nil
	case instructions.MountTypeBind:
		root, release := bd.opts.ContextDir, func() {}
		if from != nil {
			dir, rel, err := bd.b.view(bd.layerDirs(from))
			if err != nil {
				return nil, nil, err
			}
			root, release = dir, rel
		}
		// Symlinks in the source resolve inside the context or the stage,
		// as in BuildKit, never to the host's files.
		src, err := securejoin.SecureJoin(root, cleanAbs(m.Source))
		if err != nil {
			release()
			return nil, nil, fmt.Errorf("--mount=type=bind source %s: %w", m.Source, err)
		}
		if _, err := os.Stat(src); err != nil {
			release()
			return nil, nil, fmt.Errorf("--mount=type=bind source %s: %w", m.Source, err)
		}
		if m.ReadOnly {
			return &runtime.Mount{Type: "bind", Source: src, Target: m.Target, ReadOnly: true}, release, nil
		}
		rw, relRW, err := writableCopy(src, scratch)
		if err != nil {
			release()
			return nil, nil, fmt.Errorf("--mount=type=bind,rw %s: %w", m.Source, err)
		}
		return &runtime.Mount{Type: "bind", Source: rw, Target: m.Target}, func() { relRW(); release() }, nil
	}
	return nil, nil, fmt.Errorf("--mount=type=%s is not supported: %w", m.Type, errdefs.ErrNotImplemented)
}
