package ocispec

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/runtime"
)

// ImageVolumes are the image's VOLUME paths that no mount of cfg covers, in
// order: the anonymous volumes Docker would create for the container.
func ImageVolumes(cfg runtime.Config, img v1.ImageConfig) []string {
	var out []string
	for _, v := range slices.Sorted(maps.Keys(img.Volumes)) {
		v = path.Clean(v)
		covered := slices.ContainsFunc(cfg.Mounts, func(m runtime.Mount) bool { return path.Clean(m.Target) == v })
		if _, tmpfs := cfg.Tmpfs[v]; !covered && !tmpfs {
			out = append(out, v)
		}
	}
	return out
}

// userMounts are the container's own mounts in Docker's order (daemon
// WithMounts): binds and volumes, the generated network files, tmpfs mounts,
// then sorted by depth, so a mount inside another comes after it.
func (b *builder) userMounts() ([]specs.Mount, error) {
	var ms []specs.Mount
	for _, m := range b.cfg.Mounts {
		sm, err := b.mount(m)
		if err != nil {
			return nil, err
		}
		ms = append(ms, sm)
	}
	for _, v := range ImageVolumes(b.cfg, b.img) {
		if src, ok := b.opts.Volumes[v]; ok {
			ms = append(ms, bindMount(src, v, false, ""))
		}
	}
	for _, f := range []struct{ src, dst string }{
		{b.opts.ResolvConfPath, "/etc/resolv.conf"},
		{b.opts.HostnamePath, "/etc/hostname"},
		{b.opts.HostsPath, "/etc/hosts"},
	} {
		if f.src != "" && !hasDestination(ms, f.dst) {
			ms = append(ms, bindMount(f.src, f.dst, b.cfg.ReadOnly, "rprivate"))
		}
	}
	for _, dst := range slices.Sorted(maps.Keys(b.cfg.Tmpfs)) {
		opts, err := TmpfsOptions(b.cfg.Tmpfs[dst])
		if err != nil {
			return nil, fmt.Errorf("tmpfs %s: %w", dst, err)
		}
		ms = append(ms, specs.Mount{Destination: dst, Type: "tmpfs", Source: "tmpfs", Options: opts})
	}
	seen := map[string]bool{}
	for i, m := range ms {
		if !path.IsAbs(m.Destination) {
			return nil, invalid("invalid mount destination %q: not an absolute path", m.Destination)
		}
		ms[i].Destination = path.Clean(m.Destination)
		if ms[i].Destination == "/" {
			return nil, invalid("invalid mount destination \"/\"")
		}
		if seen[ms[i].Destination] {
			return nil, invalid("duplicate mount point: %s", ms[i].Destination)
		}
		seen[ms[i].Destination] = true
	}
	sort.SliceStable(ms, func(i, j int) bool {
		return strings.Count(ms[i].Destination, "/") < strings.Count(ms[j].Destination, "/")
	})
	return ms, nil
}

func hasDestination(ms []specs.Mount, dst string) bool {
	return slices.ContainsFunc(ms, func(m specs.Mount) bool { return path.Clean(m.Destination) == dst })
}

var propagations = []string{"private", "rprivate", "shared", "rshared", "slave", "rslave"}

// mount turns one runtime.Mount into its spec mount.
func (b *builder) mount(m runtime.Mount) (specs.Mount, error) {
	if m.Propagation != "" && !slices.Contains(propagations, m.Propagation) {
		return specs.Mount{}, invalid("mount %s: invalid propagation %q", m.Target, m.Propagation)
	}
	switch m.Type {
	case "bind":
		if !path.IsAbs(m.Source) {
			return specs.Mount{}, invalid("mount %s: bind source %q is not an absolute path", m.Target, m.Source)
		}
		propagation := m.Propagation
		if propagation == "" {
			propagation = "rprivate"
		}
		return bindMount(m.Source, m.Target, m.ReadOnly, propagation), nil
	case "volume":
		src, ok := b.opts.Volumes[path.Clean(m.Target)]
		if !ok {
			return specs.Mount{}, invalid("mount %s: no host directory given for volume %q", m.Target, m.Source)
		}
		return bindMount(src, m.Target, m.ReadOnly, m.Propagation), nil
	case "tmpfs":
		opts, err := TmpfsOptions(tmpfsData(m))
		if err != nil {
			return specs.Mount{}, fmt.Errorf("mount %s: %w", m.Target, err)
		}
		return specs.Mount{Destination: m.Target, Type: "tmpfs", Source: "tmpfs", Options: opts}, nil
	}
	return specs.Mount{}, invalid("mount %s: unknown type %q", m.Target, m.Type)
}

// bindMount is Docker's: rbind, ro when read-only, and the propagation if
// any. Docker gives binds and its generated files rprivate, volumes none.
func bindMount(src, dst string, readOnly bool, propagation string) specs.Mount {
	opts := []string{"rbind"}
	if readOnly {
		opts = append(opts, "ro")
	}
	if propagation != "" {
		opts = append(opts, propagation)
	}
	return specs.Mount{Destination: dst, Type: "bind", Source: src, Options: opts}
}

// tmpfsData is Docker's ConvertTmpfsOptions: a --mount type=tmpfs as the
// option string --tmpfs takes, the size in the largest unit dividing it.
func tmpfsData(m runtime.Mount) string {
	var opts []string
	if m.ReadOnly {
		opts = append(opts, "ro")
	}
	if m.TmpfsMode != 0 {
		opts = append(opts, fmt.Sprintf("mode=%o", m.TmpfsMode))
	}
	if size := m.TmpfsSize; size != 0 {
		suffix := ""
		for _, u := range []struct {
			suffix string
			n      int64
		}{{"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}} {
			if size%u.n == 0 {
				size, suffix = size/u.n, u.suffix
				break
			}
		}
		opts = append(opts, fmt.Sprintf("size=%d%s", size, suffix))
	}
	return strings.Join(opts, ",")
}

// mounts puts Docker's default mounts (minus those a user mount replaces,
// and everything under /dev when the user mounts /dev), the init binary and
// the user's mounts together, then applies the read-only root, privileged
// mode and propagation.
func (b *builder) mounts() error {
	user, err := b.userMounts()
	if err != nil {
		return err
	}
	mountsDev := hasDestination(user, "/dev")
	var out []specs.Mount
	for _, m := range b.s.Mounts {
		if hasDestination(user, m.Destination) || (mountsDev && strings.HasPrefix(m.Destination, "/dev/")) {
			continue
		}
		if m.Destination == "/dev/shm" {
			size := b.cfg.ShmSize
			if size == 0 {
				size = DefaultShmSize
			}
			if size < 0 {
				return invalid("invalid shm size %d", size)
			}
			m.Options = append(slices.Clone(m.Options), "size="+strconv.FormatInt(size, 10))
		}
		out = append(out, m)
	}
	if b.cfg.Init {
		out = append(out, specs.Mount{Destination: InitPath, Type: "bind", Source: b.opts.InitBinary, Options: []string{"bind", "ro"}})
	}
	if b.cfg.ReadOnly {
		for i, m := range out {
			switch m.Destination {
			case "/proc", "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev":
				continue
			}
			if !slices.Contains(m.Options, "ro") {
				out[i].Options = append(slices.Clone(m.Options), "ro")
			}
		}
	}
	if b.cfg.Privileged || b.sec.SystemPaths == "unconfined" {
		b.s.Linux.MaskedPaths = nil
		b.s.Linux.ReadonlyPaths = nil
	}
	for i, m := range out {
		if (m.Destination == "/sys" && b.cfg.Privileged) || (m.Type == "cgroup" && (b.cfg.Privileged || b.sec.WritableCgroups)) {
			out[i].Options = slices.DeleteFunc(slices.Clone(m.Options), func(o string) bool { return o == "ro" })
		}
	}
	b.s.Mounts = append(out, user...)
	b.s.Linux.RootfsPropagation = rootPropagation(user)
	return nil
}

// rootPropagation is what Docker sets on the root for shared or slave
// mounts to propagate: shared for a shared mount, rslave for a slave one,
// "" (runc's default, rslave) otherwise. Docker also checks that the
// source's mount is shared; that needs the host, so runc reports it.
func rootPropagation(ms []specs.Mount) string {
	root := ""
	for _, m := range ms {
		for _, o := range m.Options {
			switch o {
			case "shared", "rshared":
				root = "shared"
			case "slave", "rslave":
				if root == "" {
					root = "rslave"
				}
			}
		}
	}
	return root
}

// ParseTmpfs splits a --tmpfs argument, "PATH[:OPTIONS]", as Docker does.
func ParseTmpfs(arg string) (target, options string, err error) {
	target, options, _ = strings.Cut(arg, ":")
	if !path.IsAbs(target) {
		return "", "", invalid("invalid --tmpfs %q: %q is not an absolute path", arg, target)
	}
	if _, err := TmpfsOptions(options); err != nil {
		return "", "", fmt.Errorf("invalid --tmpfs %q: %w", arg, err)
	}
	return path.Clean(target), options, nil
}

// tmpfsFlags group the mount flags of moby/sys/mount that exclude each
// other: the later one of a group wins. Propagation flags are one group.
var tmpfsFlags = map[string]string{
	"ro": "rdonly", "rw": "rdonly",
	"suid": "nosuid", "nosuid": "nosuid",
	"dev": "nodev", "nodev": "nodev",
	"exec": "noexec", "noexec": "noexec",
	"sync": "sync", "async": "sync",
	"dirsync": "dirsync", "remount": "remount",
	"mand": "mand", "nomand": "mand",
	"atime": "noatime", "noatime": "noatime",
	"diratime": "nodiratime", "nodiratime": "nodiratime",
	"relatime": "relatime", "norelatime": "relatime",
	"strictatime": "strictatime", "nostrictatime": "strictatime",
	"bind": "propagation", "rbind": "propagation",
	"unbindable": "propagation", "runbindable": "propagation",
	"private": "propagation", "rprivate": "propagation",
	"shared": "propagation", "rshared": "propagation",
	"slave": "propagation", "rslave": "propagation",
}

// tmpfsData are the key=value options tmpfs takes.
var tmpfsDataKeys = []string{"size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"}

// TmpfsOptions are the mount options of a tmpfs given the options string of
// --tmpfs (e.g. "rw,size=64m,mode=1770"): Docker's defaults noexec, nosuid,
// nodev and rprivate, overridden by the given ones, duplicates removed with
// the last one winning (moby/sys/mount MergeTmpfsOptions). An unknown option
// is errdefs.ErrInvalidArgument.
func TmpfsOptions(data string) ([]string, error) {
	opts := []string{"noexec", "nosuid", "nodev", "rprivate"}
	if data != "" {
		opts = append(opts, strings.Split(data, ",")...)
	}
	seen := map[string]bool{}
	var out []string
	for i := len(opts) - 1; i >= 0; i-- {
		o := opts[i]
		if o == "defaults" {
			continue
		}
		key, ok := tmpfsFlags[o]
		if !ok {
			k, _, hasValue := strings.Cut(o, "=")
			if !hasValue || !slices.Contains(tmpfsDataKeys, k) {
				return nil, invalid("invalid tmpfs option %q", o)
			}
			key = "=" + k
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, o)
		}
	}
	slices.Reverse(out)
	return out, nil
}
