package ocispec

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultCapabilities is Docker's default capability set
// (daemon/pkg/oci/caps/defaults.go), in Docker's order.
func DefaultCapabilities() []string { return slices.Clone(defaultCapabilities) }

var defaultCapabilities = []string{
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_FSETID",
	"CAP_FOWNER",
	"CAP_MKNOD",
	"CAP_NET_RAW",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETFCAP",
	"CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT",
	"CAP_KILL",
	"CAP_AUDIT_WRITE",
}

// allCapabilities are the Linux capabilities up to CAP_CHECKPOINT_RESTORE
// (Linux 5.9), in number order. Docker asks the running kernel for its last
// capability; a fixed list keeps generation pure, and runc ignores a
// capability the kernel does not know.
var allCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// Capabilities is the capability set of a container with Docker's rules
// (caps.TweakCapabilities): privileged gets every capability; otherwise
// the default set minus drop plus add, where "ALL" in add is every
// capability but the dropped ones and "ALL" in drop leaves only add. Names
// are case-insensitive, with or without the CAP_ prefix.
//
// available are the capabilities berth can hand out, its own bounding set
// (HostCapabilities); nil means all. As Docker does, "every capability"
// means every available one, and adding one that is not available is an
// error, as is an unknown name: both errdefs.ErrInvalidArgument. Unlike
// Docker, a default capability that is not available is left out (runc
// could not grant it), and a capability added twice is listed once.
func Capabilities(add, drop []string, privileged bool, available []string) ([]string, error) {
	all := allCapabilities
	if available != nil {
		all = slices.DeleteFunc(slices.Clone(all), func(c string) bool { return !slices.Contains(available, c) })
	}
	if privileged {
		return slices.Clone(all), nil
	}
	adds, err := normalizeCaps(add)
	if err != nil {
		return nil, err
	}
	drops, err := normalizeCaps(drop)
	if err != nil {
		return nil, err
	}
	for _, c := range adds {
		if c != "ALL" && !slices.Contains(all, c) {
			return nil, invalid("capability not available in this environment: %q", c)
		}
	}
	var caps []string
	switch {
	case slices.Contains(adds, "ALL"):
		for _, c := range all {
			if !slices.Contains(drops, c) {
				caps = append(caps, c)
			}
		}
		return caps, nil
	case slices.Contains(drops, "ALL"):
		caps = []string{}
	default:
		for _, c := range defaultCapabilities {
			if !slices.Contains(drops, c) && slices.Contains(all, c) {
				caps = append(caps, c)
			}
		}
	}
	for _, c := range adds {
		if !slices.Contains(caps, c) {
			caps = append(caps, c)
		}
	}
	return caps, nil
}

func normalizeCaps(names []string) ([]string, error) {
	out := make([]string, 0, len(names))
	for _, n := range names {
		c := strings.ToUpper(strings.TrimSpace(n))
		if c == "ALL" {
			out = append(out, c)
			continue
		}
		if !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		if !slices.Contains(allCapabilities, c) {
			return nil, invalid("unknown capability: %q", n)
		}
		out = append(out, c)
	}
	return out, nil
}

// Security is what --security-opt asks for.
type Security struct {
	NoNewPrivileges bool
	// Seccomp is "" for the default profile, "unconfined" for none, or a
	// profile: inline JSON (starting with "{") or a file path.
	Seccomp string
	// AppArmor is the AppArmor profile to run under; "" (also for
	// "unconfined") sets none, since berth loads no default profile.
	AppArmor string
	// SystemPaths is "unconfined" to drop the masked and read-only paths.
	SystemPaths string
	// WritableCgroups mounts /sys/fs/cgroup read-write.
	WritableCgroups bool
}

// ParseSecurityOpts parses --security-opt values with Docker's rules
// (daemon parseSecurityOpt): "no-new-privileges[=BOOL]", "seccomp=...",
// "apparmor=...", "systempaths=unconfined", "writable-cgroups=BOOL" and
// "label=disable" (accepted and ignored: berth has no SELinux labelling);
// ":" is accepted in place of "=" as Docker still does. Anything else is
// errdefs.ErrInvalidArgument.
func ParseSecurityOpts(opts []string) (Security, error) {
	var s Security
	for _, opt := range opts {
		if opt == "no-new-privileges" {
			s.NoNewPrivileges = true
			continue
		}
		if opt == "disable" { // Docker's shorthand for label=disable
			continue
		}
		sep := "="
		if !strings.Contains(opt, "=") {
			sep = ":"
		}
		k, v, ok := strings.Cut(opt, sep)
		if !ok {
			return Security{}, invalid("invalid --security-opt %q: want KEY=VALUE", opt)
		}
		var err error
		switch k {
		case "no-new-privileges":
			s.NoNewPrivileges, err = strconv.ParseBool(v)
		case "writable-cgroups":
			s.WritableCgroups, err = strconv.ParseBool(v)
		case "seccomp":
			if v == "" {
				return Security{}, invalid("invalid --security-opt %q: empty seccomp profile", opt)
			}
			s.Seccomp = v
		case "apparmor":
			if v != "unconfined" {
				s.AppArmor = v
			}
		case "systempaths":
			if v != "unconfined" {
				return Security{}, invalid("invalid --security-opt %q: systempaths takes only \"unconfined\"", opt)
			}
			s.SystemPaths = v
		case "label":
			if v != "disable" {
				return Security{}, invalid("invalid --security-opt %q: SELinux labels are not supported", opt)
			}
		default:
			return Security{}, invalid("invalid --security-opt %q", opt)
		}
		if err != nil {
			return Security{}, invalid("invalid --security-opt %q: %v", opt, err)
		}
	}
	return s, nil
}

func (b *builder) capabilities() error {
	caps, err := Capabilities(b.cfg.CapAdd, b.cfg.CapDrop, b.cfg.Privileged, b.opts.Capabilities)
	if err != nil {
		return err
	}
	// Docker sets no inheritable or ambient set (CVE-2022-24769).
	b.s.Process.Capabilities = &specs.LinuxCapabilities{
		Bounding:  caps,
		Effective: slices.Clone(caps),
		Permitted: slices.Clone(caps),
	}
	return nil
}

// seccomp applies Docker's rules (daemon WithSeccomp): none when
// privileged or unconfined, the given profile, or moby's default profile,
// which depends on the capabilities (so this step runs after them).
func (b *builder) seccomp() error {
	if b.cfg.Privileged || b.sec.Seccomp == "unconfined" {
		return nil
	}
	var (
		profile *specs.LinuxSeccomp
		err     error
	)
	switch body := b.sec.Seccomp; {
	case body == "":
		if profile, err = seccomp.GetDefaultProfile(b.s); err == nil && dropRefusedArches(profile, b.opts.IA32Refused) {
			b.s.Annotations = maps.Clone(b.s.Annotations)
			if b.s.Annotations == nil {
				b.s.Annotations = map[string]string{}
			}
			b.s.Annotations[AnnotationX86LeftOut] = "true"
		}
	case strings.HasPrefix(strings.TrimSpace(body), "{"):
		profile, err = seccomp.LoadProfile(body, b.s)
	case b.opts.ReadFile == nil:
		return invalid("seccomp profile %s: no way to read files given", body)
	default:
		var data []byte
		if data, err = b.opts.ReadFile(body); err != nil {
			return invalid("seccomp profile: %v", err)
		}
		profile, err = seccomp.LoadProfile(string(data), b.s)
	}
	if err != nil {
		return invalid("seccomp profile: %v", err)
	}
	b.s.Linux.Seccomp = profile
	return nil
}
