package runc

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// fitHost adapts a spec to what this process may grant: capabilities
// outside its bounding set are dropped (root here may lack some, such as
// CAP_SYS_RESOURCE), and an rlimit above this process's hard limit is an
// error, since the runtime could not set it.
func fitHost(s *specs.Spec) error {
	if s.Process == nil {
		return nil
	}
	if c := s.Process.Capabilities; c != nil {
		have := boundingCaps()
		keep := func(in []string) []string {
			return slices.DeleteFunc(slices.Clone(in), func(x string) bool { return have != nil && !have[x] })
		}
		c.Bounding, c.Effective, c.Permitted = keep(c.Bounding), keep(c.Effective), keep(c.Permitted)
		c.Inheritable, c.Ambient = keep(c.Inheritable), keep(c.Ambient)
	}
	for _, rl := range s.Process.Rlimits {
		res, ok := rlimitResources[rl.Type]
		if !ok {
			continue
		}
		var cur unix.Rlimit
		if err := unix.Getrlimit(res, &cur); err != nil {
			continue
		}
		if rl.Hard > cur.Max {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("ulimit %s: hard limit %d is above this host's %d", strings.ToLower(strings.TrimPrefix(rl.Type, "RLIMIT_")), rl.Hard, cur.Max))
		}
	}
	return nil
}

var rlimitResources = map[string]int{
	"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_CORE": unix.RLIMIT_CORE,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_STACK": unix.RLIMIT_STACK, "RLIMIT_AS": unix.RLIMIT_AS,
	"RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_CPU": unix.RLIMIT_CPU, "RLIMIT_DATA": unix.RLIMIT_DATA,
	"RLIMIT_NICE": unix.RLIMIT_NICE, "RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS, "RLIMIT_RSS": unix.RLIMIT_RSS,
}

// cgroupV2 reports whether the host has the unified cgroup hierarchy only.
func cgroupV2() bool {
	var st unix.Statfs_t
	return unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}

// boundingCaps reads this process's capability bounding set; nil if unknown.
func boundingCaps() map[string]bool {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil
	}
	for _, line := range strings.Split(string(data), "\n") {
		v, ok := strings.CutPrefix(line, "CapBnd:")
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			return nil
		}
		have := map[string]bool{}
		for bit, name := range capNames {
			if mask&(1<<uint(bit)) != 0 {
				have[name] = true
			}
		}
		return have
	}
	return nil
}

// capNames is indexed by capability number (linux/capability.h).
var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
	"CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
	"CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}
