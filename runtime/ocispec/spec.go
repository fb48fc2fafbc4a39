package ocispec

import (
	"fmt"
	"io/fs"

	"github.com/containerd/errdefs"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/runtime"
)

// Paths and sizes berth uses as Docker does.
const (
	// InitPath is where --init's binary is bind-mounted in the container
	// (Docker's is /sbin/docker-init).
	InitPath = "/sbin/berth-init"
	// DefaultShmSize is the size of /dev/shm when Config.ShmSize is 0.
	DefaultShmSize = 64 << 20
	// DefaultPathEnv is PATH when neither the image nor the container sets it.
	DefaultPathEnv = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// Options are what Generate needs besides the container's and the image's
// configuration: where things are on the host. Only RootPath is required.
type Options struct {
	// RootPath is the spec's root.path: the container's root filesystem,
	// absolute or relative to the bundle directory (runc refuses a root
	// whose path goes through a symlink).
	RootPath string `json:"rootPath"`
	// RootFS is the same root filesystem, read for /etc/passwd and
	// /etc/group to resolve Config.User and Config.GroupAdd. Pass
	// (*os.Root).FS() so that an image's symlinks cannot lead out of it.
	// nil: no such files, so only numeric users and groups resolve.
	RootFS fs.FS `json:"-"`

	// Hostname is used when Config.Hostname is empty. Docker uses the first
	// 12 characters of the container ID, the host's hostname with the host
	// network, and the other container's with container:ID.
	Hostname string `json:"hostname,omitempty"`
	// HostnamePath, HostsPath and ResolvConfPath are the generated files
	// bind-mounted at /etc/hostname, /etc/hosts and /etc/resolv.conf
	// (read-only when the root is). Empty: not mounted. A user mount at the
	// same place wins.
	HostnamePath   string `json:"hostnamePath,omitempty"`
	HostsPath      string `json:"hostsPath,omitempty"`
	ResolvConfPath string `json:"resolvConfPath,omitempty"`

	// NetNSPath is the network namespace the container joins: the one the
	// networking code prepared (/run/netns/...), or another container's
	// (/proc/PID/ns/net) for NetworkMode "container:ID", where it is
	// required. Empty: a new namespace with only a loopback device. It must
	// be empty with NetworkMode "host", which has no network namespace.
	NetNSPath string `json:"netnsPath,omitempty"`

	// InitBinary is the host path of the init binary that Config.Init
	// bind-mounts read-only at InitPath; required when Init is set.
	InitBinary string `json:"initBinary,omitempty"`

	// CgroupsPath is the spec's linux.cgroupsPath, e.g. /berth/ID.
	CgroupsPath string `json:"cgroupsPath,omitempty"`
	// CgroupV2 says the host has the unified hierarchy only. Then the
	// container gets its own cgroup namespace, Docker's default on v2 (on
	// v1, including a hybrid host with v2 at /sys/fs/cgroup/unified, it
	// shares the host's, also Docker's default).
	CgroupV2 bool `json:"cgroupV2,omitempty"`

	// Volumes maps the target of every Mount of type "volume" (named or
	// anonymous) to the volume's directory on the host; a volume mount
	// missing from it is an error. Image volumes (VOLUME) that no mount
	// covers are mounted when they appear here and skipped otherwise (their
	// content then lives in the container's own layer); ImageVolumes lists
	// them.
	Volumes map[string]string `json:"volumes,omitempty"`

	// Devices are the host devices a privileged container gets: pass
	// HostDevices(). Ignored unless Config.Privileged.
	Devices []specs.LinuxDevice `json:"devices,omitempty"`

	// Capabilities are those berth may hand out: pass HostCapabilities(),
	// its own bounding set. --privileged and --cap-add ALL get all of these,
	// and adding another is an error, as with Docker. nil: every capability
	// Linux 5.9 knows.
	Capabilities []string `json:"capabilities,omitempty"`

	// Annotations are copied to the spec.
	Annotations map[string]string `json:"annotations,omitempty"`

	// IA32Refused says the kernel runs no 32-bit x86 programs (ia32
	// emulation off). The default seccomp profile then leaves that
	// architecture out, as it does x32 when the kernel refuses x32: its
	// rules could never apply, and compiling them cost runc ~12 ms of each
	// start. Pass the runtime's probe (runtime/runc); false keeps them.
	IA32Refused bool `json:"ia32Refused,omitempty"`

	// ReadFile reads a seccomp profile named by path in
	// --security-opt seccomp=PATH (pass os.ReadFile). nil: only inline JSON
	// profiles are accepted, as Docker's CLI sends them.
	ReadFile func(name string) ([]byte, error) `json:"-"`
}

// Generate returns the OCI runtime spec for a container made from cfg and
// an image whose config is img, with Docker's defaults. cfg is merged with
// img first (MergeImage), so passing an already merged cfg is the same.
//
// It is pure apart from reading opts.RootFS and opts.ReadFile. Errors about
// the configuration are errdefs.ErrInvalidArgument and name what is wrong.
func Generate(cfg runtime.Config, img v1.ImageConfig, opts Options) (*specs.Spec, error) {
	cfg = MergeImage(cfg, img)
	sec, err := ParseSecurityOpts(cfg.SecurityOpt)
	if err != nil {
		return nil, err
	}
	b := &builder{cfg: cfg, img: img, opts: opts, sec: sec, s: defaultSpec()}
	b.s.Root = &specs.Root{Path: opts.RootPath, Readonly: cfg.ReadOnly}
	b.s.Annotations = opts.Annotations
	b.s.Linux.CgroupsPath = opts.CgroupsPath
	// The order matters: seccomp reads the capabilities, mounts read the
	// namespaces' and security options' outcome.
	for _, step := range []func() error{
		b.process, b.user, b.namespaces, b.capabilities, b.seccomp,
		b.mounts, b.resources, b.sysctls, b.rlimits, b.devices,
	} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return b.s, nil
}

// builder carries one Generate call's inputs while the steps fill s.
type builder struct {
	cfg  runtime.Config
	img  v1.ImageConfig
	opts Options
	sec  Security
	s    *specs.Spec
}

// invalid is an errdefs.ErrInvalidArgument with a message of its own.
func invalid(format string, args ...any) error {
	return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(format, args...))
}

func ptr[T any](v T) *T { return &v }

// Version is the ociVersion berth writes. Every field berth sets is in
// runtime-spec 1.1; runc ignores the version, but crun before 1.9 (Debian
// 12 has 1.8.1) refuses any it does not know ("unknown version
// specified"), and it knows 1.1, not the module's 1.3.
const Version = "1.1.0"

// defaultSpec is Docker's oci.DefaultLinuxSpec (daemon/pkg/oci/defaults.go)
// without the host-dependent thermal_throttle masks.
func defaultSpec() *specs.Spec {
	return &specs.Spec{
		Version: Version,
		Process: &specs.Process{},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"ro", "nosuid", "noexec", "nodev"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777"}},
		},
		Linux: &specs.Linux{
			MaskedPaths: []string{
				"/proc/acpi",
				"/proc/asound",
				"/proc/interrupts",
				"/proc/kcore",
				"/proc/keys",
				"/proc/latency_stats",
				"/proc/sched_debug",
				"/proc/scsi",
				"/proc/timer_list",
				"/proc/timer_stats",
				"/sys/devices/virtual/powercap",
				"/sys/firmware",
			},
			ReadonlyPaths: []string{
				"/proc/bus",
				"/proc/fs",
				"/proc/irq",
				"/proc/sys",
				"/proc/sysrq-trigger",
			},
			Resources: &specs.LinuxResources{},
		},
	}
}
