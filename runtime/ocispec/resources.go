package ocispec

import (
	"slices"
	"strconv"
	"strings"

	units "github.com/docker/go-units"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/runtime"
)

// Limits Docker enforces on resources (daemon verifyPlatformContainerResources).
const (
	minMemory   = 6 << 20   // "Minimum memory limit allowed is 6MB"
	cpuPeriod   = 100000    // µs: the period --cpus sets, Docker's
	minNanoCPUs = 1e9 / 100 // 0.01 CPU, a quota of 1000 µs, the kernel's least
)

// resources sets the cgroup limits with Docker's rules: --memory with no
// --memory-swap allows as much swap again (swap = 2 × memory), --cpus is a
// quota over a 100 ms period, a pids limit of 0 or less is none.
func (b *builder) resources() error {
	r := b.cfg.Resources
	if err := validateResources(r); err != nil {
		return err
	}
	mem := &specs.LinuxMemory{}
	if r.Memory > 0 {
		mem.Limit = ptr(r.Memory)
	}
	if r.MemoryReservation > 0 {
		mem.Reservation = ptr(r.MemoryReservation)
	}
	swap := r.MemorySwap
	if r.Memory > 0 && swap == 0 {
		swap = 2 * r.Memory
	}
	if swap > 0 {
		mem.Swap = ptr(swap)
	}
	cpu := &specs.LinuxCPU{Cpus: r.CpusetCpus}
	if r.CPUShares > 0 {
		cpu.Shares = ptr(uint64(r.CPUShares))
	}
	if r.NanoCPUs > 0 {
		cpu.Period = ptr(uint64(cpuPeriod))
		cpu.Quota = ptr(r.NanoCPUs * cpuPeriod / 1e9)
	}
	res := b.s.Linux.Resources
	res.Memory, res.CPU = mem, cpu
	if r.PidsLimit > 0 {
		res.Pids = &specs.LinuxPids{Limit: ptr(r.PidsLimit)}
	}
	return nil
}

func validateResources(r runtime.Resources) error {
	switch {
	case r.Memory < 0:
		return invalid("invalid memory limit %d", r.Memory)
	case r.Memory > 0 && r.Memory < minMemory:
		return invalid("minimum memory limit allowed is 6MB")
	case r.MemoryReservation < 0:
		return invalid("invalid memory reservation %d", r.MemoryReservation)
	case r.MemoryReservation > 0 && r.MemoryReservation < minMemory:
		return invalid("minimum memory reservation allowed is 6MB")
	case r.Memory > 0 && r.MemoryReservation > r.Memory:
		return invalid("minimum memory limit can not be less than memory reservation limit")
	case r.MemorySwap < -1:
		return invalid("invalid memory swap limit %d", r.MemorySwap)
	case r.MemorySwap > 0 && r.Memory == 0:
		return invalid("you should always set the memory limit when using a memory swap limit")
	case r.MemorySwap > 0 && r.MemorySwap < r.Memory:
		return invalid("minimum memory swap limit should be larger than memory limit")
	case r.NanoCPUs < 0 || (r.NanoCPUs > 0 && r.NanoCPUs < minNanoCPUs):
		return invalid("invalid --cpus %g: the least is 0.01", float64(r.NanoCPUs)/1e9)
	case r.CPUShares < 0:
		return invalid("invalid cpu shares %d", r.CPUShares)
	}
	if r.CpusetCpus != "" && !validCPUList(r.CpusetCpus) {
		return invalid("invalid cpuset %q: want a list like 0-3,5", r.CpusetCpus)
	}
	return nil
}

// validCPUList checks a cpuset list: comma-separated N or N-M with N <= M.
func validCPUList(s string) bool {
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 16)
		if err != nil {
			return false
		}
		if isRange {
			z, err := strconv.ParseUint(hi, 10, 16)
			if err != nil || z < a {
				return false
			}
		}
	}
	return true
}

// rlimitNames are the --ulimit names Docker accepts (docker/go-units).
var rlimitNames = []string{
	"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
	"nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack",
}

// ParseUlimit parses a --ulimit value, "NAME=SOFT[:HARD]" (HARD defaults to
// SOFT, -1 is unlimited), with docker/go-units. A bad one is
// errdefs.ErrInvalidArgument.
func ParseUlimit(s string) (runtime.Ulimit, error) {
	u, err := units.ParseUlimit(s)
	if err != nil {
		return runtime.Ulimit{}, invalid("invalid --ulimit %q: %v", s, err)
	}
	return runtime.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard}, nil
}

// rlimits are the container's ulimits only: Docker adds none of its own
// unless its daemon is configured to. A limit is -1 for unlimited.
func (b *builder) rlimits() error {
	for _, u := range b.cfg.Ulimits {
		if !slices.Contains(rlimitNames, u.Name) {
			return invalid("invalid ulimit type: %s", u.Name)
		}
		if u.Hard != -1 && (u.Soft == -1 || u.Soft > u.Hard) {
			return invalid("ulimit %s: soft limit %d is above the hard limit %d", u.Name, u.Soft, u.Hard)
		}
		if u.Soft < -1 || u.Hard < -1 {
			return invalid("ulimit %s: negative limit", u.Name)
		}
		b.s.Process.Rlimits = append(b.s.Process.Rlimits, specs.POSIXRlimit{
			Type: "RLIMIT_" + strings.ToUpper(u.Name),
			Soft: uint64(u.Soft), // -1 is RLIM_INFINITY
			Hard: uint64(u.Hard),
		})
	}
	return nil
}

// defaultDeviceRules are Docker's device cgroup rules: deny everything,
// allow the devices runc creates (null, zero, full, random, urandom, tty,
// console), deny /dev/fuse. runc adds its own for ptmx and /dev/pts/*.
func defaultDeviceRules() []specs.LinuxDeviceCgroup {
	rule := func(allow bool, major, minor int64) specs.LinuxDeviceCgroup {
		return specs.LinuxDeviceCgroup{Allow: allow, Type: "c", Major: ptr(major), Minor: ptr(minor), Access: "rwm"}
	}
	return []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		rule(true, 1, 5),     // /dev/zero
		rule(true, 1, 3),     // /dev/null
		rule(true, 1, 9),     // /dev/urandom
		rule(true, 1, 8),     // /dev/random
		rule(true, 5, 0),     // /dev/tty
		rule(true, 5, 1),     // /dev/console
		rule(false, 10, 229), // /dev/fuse
	}
}

// devices: a privileged container gets the host's devices and may use any
// device; others get runc's default devices and Docker's rules.
func (b *builder) devices() error {
	if b.cfg.Privileged {
		b.s.Linux.Devices = slices.Clone(b.opts.Devices)
		b.s.Linux.Resources.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
		return nil
	}
	b.s.Linux.Resources.Devices = defaultDeviceRules()
	return nil
}
