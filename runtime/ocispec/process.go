package ocispec

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/moby/sys/user"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/runtime"
)

// MergeImage returns cfg completed from the image's config with Docker's
// rules (runconfig.Merge): the image's User, WorkingDir and StopSignal when
// cfg has none; the image's Env entries whose key cfg does not set, after
// cfg's own; and for the command:
//
//   - Entrypoint nil: the image's Entrypoint;
//   - Entrypoint empty (or [""], what Docker's CLI sends for
//     --entrypoint ""): no entrypoint;
//   - Cmd empty: the image's Cmd, unless cfg sets a non-empty Entrypoint,
//     which drops the image's Cmd.
//
// It is what `inspect` shows as Config and is idempotent: merging a merged
// config with the same image changes nothing. cfg's slices are not shared
// with the result's.
func MergeImage(cfg runtime.Config, img v1.ImageConfig) runtime.Config {
	out := cfg
	if out.User == "" {
		out.User = img.User
	}
	if out.WorkingDir == "" {
		out.WorkingDir = img.WorkingDir
	}
	if out.StopSignal == "" {
		out.StopSignal = img.StopSignal
	}
	out.Env = slices.Clone(cfg.Env)
	if len(out.Env) == 0 {
		out.Env = slices.Clone(img.Env)
	} else {
		for _, kv := range img.Env {
			key, _, _ := strings.Cut(kv, "=")
			if !slices.ContainsFunc(cfg.Env, func(e string) bool { k, _, _ := strings.Cut(e, "="); return k == key }) {
				out.Env = append(out.Env, kv)
			}
		}
	}
	out.Entrypoint = slices.Clone(cfg.Entrypoint)
	if len(out.Entrypoint) == 1 && out.Entrypoint[0] == "" {
		out.Entrypoint = []string{}
	}
	out.Cmd = slices.Clone(cfg.Cmd)
	if len(out.Entrypoint) == 0 {
		if len(out.Cmd) == 0 {
			out.Cmd = slices.Clone(img.Cmd)
		}
		if out.Entrypoint == nil {
			out.Entrypoint = slices.Clone(img.Entrypoint)
		}
	}
	return out
}

// Command is the process's argv for a merged cfg: Entrypoint then Cmd. No
// command at all is errdefs.ErrInvalidArgument.
func Command(cfg runtime.Config) ([]string, error) {
	args := append(slices.Clone(cfg.Entrypoint), cfg.Cmd...)
	if len(args) == 0 {
		return nil, invalid("no command specified")
	}
	return args, nil
}

func (b *builder) process() error {
	args, err := Command(b.cfg)
	if err != nil {
		return err
	}
	if b.cfg.Init {
		if b.opts.InitBinary == "" {
			return invalid("--init needs the path of an init binary")
		}
		args = append([]string{InitPath, "--"}, args...)
	}
	cwd := b.cfg.WorkingDir
	if cwd == "" {
		cwd = "/"
	}
	if !path.IsAbs(cwd) {
		return invalid("the working directory %q is invalid, it needs to be an absolute path", cwd)
	}
	hostname := b.hostname()
	if len(hostname) > 64 {
		return invalid("invalid hostname %q: longer than 64 characters", hostname)
	}
	p := b.s.Process
	p.Terminal = b.cfg.Tty
	p.Args = args
	p.Cwd = path.Clean(cwd)
	p.Env = env(b.cfg, hostname)
	p.NoNewPrivileges = b.sec.NoNewPrivileges
	p.OOMScoreAdj = ptr(0)
	p.ApparmorProfile = b.sec.AppArmor
	b.s.Hostname = hostname
	return nil
}

func (b *builder) hostname() string {
	if b.cfg.Hostname != "" {
		return b.cfg.Hostname
	}
	return b.opts.Hostname
}

// env is Docker's CreateDaemonEnvironment: PATH, HOSTNAME and with a tty
// TERM=xterm, each replaced by the container's own value, then the
// container's other variables in order. An entry without "=" unsets the
// variable. A key set twice keeps its first place and its last value.
func env(cfg runtime.Config, hostname string) []string {
	out := []string{"PATH=" + DefaultPathEnv, "HOSTNAME=" + hostname}
	if cfg.Tty {
		out = append(out, "TERM=xterm")
	}
	index := map[string]int{}
	for i, kv := range out {
		k, _, _ := strings.Cut(kv, "=")
		index[k] = i
	}
	for _, kv := range cfg.Env {
		k, _, hasValue := strings.Cut(kv, "=")
		i, seen := index[k]
		switch {
		case !hasValue && seen:
			out[i] = ""
		case !hasValue:
		case seen:
			out[i] = kv
		default:
			index[k] = len(out)
			out = append(out, kv)
		}
	}
	return slices.DeleteFunc(out, func(s string) bool { return s == "" })
}

// user resolves the container's user and groups into the process.
func (b *builder) user() error {
	u, err := ResolveUser(b.opts.RootFS, b.cfg.User, b.cfg.GroupAdd)
	if err != nil {
		return err
	}
	b.s.Process.User = u
	return nil
}

// ResolveUser resolves a user spec ("", "name", "uid", "uid:gid",
// "name:group") and --group-add values against rootfs's /etc/passwd and
// /etc/group, as Docker does: additionalGids hold the primary group first,
// then the user's supplementary groups, then groupAdd's (each listed once,
// where Docker may repeat one). Numeric ids need no entry; rootfs may be nil
// (no files). An unknown name is errdefs.ErrInvalidArgument naming it. It
// serves `exec -u` as well as Generate.
func ResolveUser(rootfs fs.FS, spec string, groupAdd []string) (specs.User, error) {
	passwd, err := readRootFile(rootfs, "etc/passwd")
	if err != nil {
		return specs.User{}, err
	}
	group, err := readRootFile(rootfs, "etc/group")
	if err != nil {
		return specs.User{}, err
	}
	eu, err := user.GetExecUser(spec, nil, reader(passwd), reader(group))
	if err != nil {
		return specs.User{}, userError(spec, err)
	}
	u := specs.User{UID: uint32(eu.Uid), GID: uint32(eu.Gid), AdditionalGids: []uint32{uint32(eu.Gid)}}
	gids := eu.Sgids
	if len(groupAdd) > 0 {
		added, err := user.GetAdditionalGroups(groupAdd, reader(group))
		if err != nil {
			return specs.User{}, invalid("group-add %s: %v", strings.Join(groupAdd, ","), err)
		}
		slices.Sort(added) // moby/sys/user returns them in map order
		gids = append(gids, added...)
	}
	for _, g := range gids {
		if !slices.Contains(u.AdditionalGids, uint32(g)) {
			u.AdditionalGids = append(u.AdditionalGids, uint32(g))
		}
	}
	return u, nil
}

func userError(spec string, err error) error {
	switch {
	case errors.Is(err, user.ErrNoPasswdEntries):
		name, _, _ := strings.Cut(spec, ":")
		return invalid("unknown user %q: no matching entries in /etc/passwd", name)
	case errors.Is(err, user.ErrNoGroupEntries):
		_, grp, _ := strings.Cut(spec, ":")
		return invalid("unknown group %q: no matching entries in /etc/group", grp)
	}
	return invalid("user %q: %v", spec, err)
}

// readRootFile reads name from fsys; a missing file or fsys is nil content.
func readRootFile(fsys fs.FS, name string) ([]byte, error) {
	if fsys == nil {
		return nil, nil
	}
	data, err := fs.ReadFile(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, invalid("read /%s in the container: %v", name, err)
	}
	return data, nil
}

// reader is data as an io.Reader, or a nil interface for no data, which is
// how moby/sys/user tells a missing file.
func reader(data []byte) io.Reader {
	if data == nil {
		return nil
	}
	return bytes.NewReader(data)
}
