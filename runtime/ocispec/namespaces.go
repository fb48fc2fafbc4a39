package ocispec

import (
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// networkMode tells the three cases of Config.NetworkMode that matter here.
type networkMode int

const (
	netPrivate   networkMode = iota // its own namespace: default, bridge, none, a network name
	netHost                         // the host's namespace
	netContainer                    // another container's namespace
)

func (b *builder) networkMode() networkMode {
	switch m := b.cfg.NetworkMode; {
	case m == "host":
		return netHost
	case strings.HasPrefix(m, "container:"), strings.HasPrefix(m, "service:"):
		return netContainer
	}
	return netPrivate
}

// namespaces are Docker's: mount, network, uts, pid and ipc, all new except
// the network one, which is absent with the host network and joined by path
// when the caller gives one; plus cgroup on a cgroup v2 host.
func (b *builder) namespaces() error {
	ns := []specs.LinuxNamespace{{Type: specs.MountNamespace}}
	switch b.networkMode() {
	case netHost:
		if b.opts.NetNSPath != "" {
			return invalid("network mode host joins no network namespace, got %s", b.opts.NetNSPath)
		}
	case netContainer:
		if b.opts.NetNSPath == "" {
			return invalid("network mode %s needs the other container's network namespace path", b.cfg.NetworkMode)
		}
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: b.opts.NetNSPath})
	default:
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: b.opts.NetNSPath})
	}
	ns = append(ns,
		specs.LinuxNamespace{Type: specs.UTSNamespace},
		specs.LinuxNamespace{Type: specs.PIDNamespace},
		specs.LinuxNamespace{Type: specs.IPCNamespace},
	)
	if b.opts.CgroupV2 {
		ns = append(ns, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}
	b.s.Linux.Namespaces = ns
	return nil
}

// namespacedSysctls are the kernel.* sysctls Docker accepts (docker/cli
// opts.ValidateSysctl): they belong to the IPC namespace.
var namespacedSysctls = []string{
	"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
	"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
}

// ValidateSysctl accepts the sysctls Docker accepts: the IPC namespace's
// kernel.msg*, kernel.sem and kernel.shm*, fs.mqueue.*, and net.* unless the
// container shares the host's network namespace. Anything else would change
// the host and is errdefs.ErrInvalidArgument.
func ValidateSysctl(name string, hostNetwork bool) error {
	switch {
	case slices.Contains(namespacedSysctls, name), strings.HasPrefix(name, "fs.mqueue."):
		return nil
	case strings.HasPrefix(name, "net."):
		if hostNetwork {
			return invalid("sysctl %q is not allowed with the host network", name)
		}
		return nil
	}
	return invalid("sysctl %q is not allowed: only namespaced sysctls (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, net.*) can be set", name)
}

// sysctls are Docker's: kernel.domainname for the domain name (runc has no
// other way before runtime-spec 1.2), unprivileged ping and low ports when
// the container has a network namespace of its own, then the container's
// own, which win.
func (b *builder) sysctls() error {
	m := map[string]string{}
	if d := b.cfg.Domainname; d != "" {
		m["kernel.domainname"] = d
	}
	if b.networkMode() == netPrivate {
		m["net.ipv4.ping_group_range"] = "0 2147483647"
		m["net.ipv4.ip_unprivileged_port_start"] = "0"
	}
	for k, v := range b.cfg.Sysctls {
		if err := ValidateSysctl(k, b.networkMode() == netHost); err != nil {
			return err
		}
		m[k] = v
	}
	b.s.Linux.Sysctl = m
	return nil
}
