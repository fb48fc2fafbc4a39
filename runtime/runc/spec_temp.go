package runc

// TEMPORARY (issue 3): a minimal OCI spec until runtime/ocispec compiles;
// the call sites use the same shapes as ocispec.Generate, MergeImage and
// Command so that switching is a rename. Delete this file then.

import (
	"bytes"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/moby/sys/user"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/runtime"
)

type specOptions struct {
	RootPath       string
	RootFS         fs.FS
	Hostname       string
	HostnamePath   string
	HostsPath      string
	ResolvConfPath string
	NetNSPath      string
	InitBinary     string
	CgroupsPath    string
}

const initPath = "/sbin/berth-init"

func mergeImage(cfg runtime.Config, img v1.ImageConfig) runtime.Config {
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
	for _, kv := range img.Env {
		key, _, _ := strings.Cut(kv, "=")
		if !slices.ContainsFunc(cfg.Env, func(e string) bool { k, _, _ := strings.Cut(e, "="); return k == key }) {
			out.Env = append(out.Env, kv)
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

func command(cfg runtime.Config) ([]string, error) {
	args := append(slices.Clone(cfg.Entrypoint), cfg.Cmd...)
	if len(args) == 0 {
		return nil, fmt.Errorf("no command specified: %w", errdefs.ErrInvalidArgument)
	}
	return args, nil
}

var defaultCaps = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}

func generateSpec(cfg runtime.Config, img v1.ImageConfig, o specOptions) (*specs.Spec, error) {
	cfg = mergeImage(cfg, img)
	args, err := command(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Init {
		args = append([]string{initPath, "--"}, args...)
	}
	hostname := cfg.Hostname
	if hostname == "" {
		hostname = o.Hostname
	}
	env := slices.Clone(cfg.Env)
	if !slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, "PATH=") }) {
		env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, env...)
	}
	env = append([]string{"HOSTNAME=" + hostname}, env...)
	if cfg.Tty {
		env = append(env, "TERM=xterm")
	}
	u, err := resolveUser(o.RootFS, cfg.User)
	if err != nil {
		return nil, err
	}
	caps := slices.Clone(defaultCaps)
	if cfg.Privileged {
		caps = slices.Clone(capNames)
	}
	for _, c := range cfg.CapAdd {
		c = "CAP_" + strings.TrimPrefix(strings.ToUpper(c), "CAP_")
		if c == "CAP_ALL" {
			caps = slices.Clone(capNames)
		} else if !slices.Contains(caps, c) {
			caps = append(caps, c)
		}
	}
	for _, c := range cfg.CapDrop {
		c = "CAP_" + strings.TrimPrefix(strings.ToUpper(c), "CAP_")
		caps = slices.DeleteFunc(caps, func(x string) bool { return x == c || c == "CAP_ALL" })
	}
	cwd := cfg.WorkingDir
	if cwd == "" {
		cwd = "/"
	}
	s := &specs.Spec{
		Version:  specs.Version,
		Root:     &specs.Root{Path: o.RootPath, Readonly: cfg.ReadOnly},
		Hostname: hostname,
		Process: &specs.Process{
			Terminal: cfg.Tty, Args: args, Env: env, Cwd: cwd,
			User:            specs.User{UID: uint32(u.Uid), GID: uint32(u.Gid), AdditionalGids: intsToU32(u.Sgids)},
			Capabilities:    &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps},
			NoNewPrivileges: slices.Contains(cfg.SecurityOpt, "no-new-privileges") || slices.Contains(cfg.SecurityOpt, "no-new-privileges:true"),
		},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"ro", "nosuid", "noexec", "nodev"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		},
		Linux: &specs.Linux{
			CgroupsPath: o.CgroupsPath,
			Namespaces:  []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace}, {Type: specs.UTSNamespace}, {Type: specs.MountNamespace}},
			Sysctl:      cfg.Sysctls,
			Resources:   &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: cfg.Privileged, Access: "rwm"}}},
		},
	}
	if !cfg.Privileged {
		s.Linux.MaskedPaths = []string{"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"}
		s.Linux.ReadonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
	}
	if cfg.NetworkMode != "host" {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: o.NetNSPath})
	}
	for dst, src := range map[string]string{"/etc/hostname": o.HostnamePath, "/etc/hosts": o.HostsPath, "/etc/resolv.conf": o.ResolvConfPath} {
		if src != "" {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: dst, Type: "bind", Source: src, Options: []string{"rbind", "rprivate"}})
		}
	}
	if cfg.Init {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: initPath, Type: "bind", Source: o.InitBinary, Options: []string{"bind", "ro"}})
	}
	for _, m := range cfg.Mounts {
		switch m.Type {
		case "bind":
			opts := []string{"rbind", "rprivate"}
			if m.ReadOnly {
				opts = append(opts, "ro")
			}
			s.Mounts = append(s.Mounts, specs.Mount{Destination: m.Target, Type: "bind", Source: m.Source, Options: opts})
		case "tmpfs":
			s.Mounts = append(s.Mounts, specs.Mount{Destination: m.Target, Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "noexec"}})
		default:
			return nil, fmt.Errorf("mount type %q is not supported yet: %w", m.Type, errdefs.ErrNotImplemented)
		}
	}
	for dst, opts := range cfg.Tmpfs {
		o := []string{"nosuid", "nodev", "noexec"}
		if opts != "" {
			o = append(o, strings.Split(opts, ",")...)
		}
		s.Mounts = append(s.Mounts, specs.Mount{Destination: dst, Type: "tmpfs", Source: "tmpfs", Options: o})
	}
	res := cfg.Resources
	if res.Memory > 0 {
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &res.Memory}
	}
	if res.NanoCPUs > 0 {
		period := uint64(100000)
		quota := res.NanoCPUs * 100000 / 1e9
		s.Linux.Resources.CPU = &specs.LinuxCPU{Period: &period, Quota: &quota}
	}
	if res.PidsLimit > 0 {
		s.Linux.Resources.Pids = &specs.LinuxPids{Limit: &res.PidsLimit}
	}
	for _, u := range cfg.Ulimits {
		s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_" + strings.ToUpper(u.Name), Hard: uint64(u.Hard), Soft: uint64(u.Soft)})
	}
	return s, nil
}

func intsToU32(in []int) []uint32 {
	var out []uint32
	for _, v := range in {
		out = append(out, uint32(v))
	}
	return out
}

func resolveUser(rootfs fs.FS, spec string) (*user.ExecUser, error) {
	var passwd, group []byte
	if rootfs != nil {
		passwd, _ = fs.ReadFile(rootfs, "etc/passwd")
		group, _ = fs.ReadFile(rootfs, "etc/group")
	}
	u, err := user.GetExecUser(spec, &user.ExecUser{}, bytes.NewReader(passwd), bytes.NewReader(group))
	if err != nil {
		return nil, fmt.Errorf("unable to find user %s: %w", spec, errdefs.ErrInvalidArgument)
	}
	return u, nil
}
