package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"slices"
	"syscall"

	"github.com/containerd/errdefs"
	"github.com/moby/sys/mount"
	"github.com/moby/sys/mountinfo"

	"github.com/berth-dev/berth/volumes"
)

// hostSystem mounts for real, with moby/sys/mount (Docker's own parsing of
// the "o" option into mount flags and filesystem data).
func hostSystem(lookup func(ctx context.Context, host string) ([]net.IPAddr, error)) system {
	return system{
		mount: func(ctx context.Context, s mountSpec, target string) error {
			s, err := resolveAddr(ctx, s, lookup)
			if err != nil {
				return err
			}
			if err := mount.Mount(s.Device, target, s.Type, s.Options); err != nil {
				return errors.New(maskPassword(err.Error(), s.Options))
			}
			return nil
		},
		unmount: mount.Unmount,
		mounted: mountinfo.Mounted,
		mountsUnder: func(dir string) ([]string, error) {
			ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
			if err != nil {
				return nil, err
			}
			out := make([]string, len(ms))
			for i, m := range ms {
				out[i] = m.Mountpoint
			}
			return out, nil
		},
	}
}

// Mount makes a volume ready for a container and records the container as
// a user; it returns the host path to bind into the container
// (<root>/volumes/<name>/_data). A volume that does not exist is created
// with the local driver's defaults (call Create first for labels or
// options; Create with an empty name for an anonymous volume). For a volume
// with options the filesystem is mounted on _data unless it already is, so
// the first user mounts it. Mount is idempotent per container: a container
// is counted once however often it mounts.
func (m *Manager) Mount(ctx context.Context, name, containerID string) (string, error) {
	if containerID == "" {
		return "", fmt.Errorf("mount volume %s: empty container ID: %w", name, errdefs.ErrInvalidArgument)
	}
	l, err := m.lock(ctx)
	if err != nil {
		return "", err
	}
	defer l.Unlock()
	r, err := m.read(name)
	if errdefs.IsNotFound(err) {
		r, err = m.create(volumes.Config{Name: name})
	}
	if err != nil {
		return "", fmt.Errorf("mount volume %s: %w", name, err)
	}
	spec, err := parseOptions(r.Options)
	if err != nil {
		return "", fmt.Errorf("mount volume %s: %w", name, err)
	}
	mountedNow := false
	if spec.needsMount() {
		mounted, err := m.sys.mounted(r.Mountpoint)
		if err != nil {
			return "", fmt.Errorf("mount volume %s: %w", name, err)
		}
		if !mounted {
			if err := m.sys.mount(ctx, spec, r.Mountpoint); err != nil {
				return "", fmt.Errorf("mount volume %s: %w", name, err)
			}
			mountedNow = true
		}
	}
	if !slices.Contains(r.Users, containerID) {
		r.Users = append(r.Users, containerID)
		slices.Sort(r.Users)
		if err := m.write(r); err != nil {
			if mountedNow {
				_ = m.sys.unmount(r.Mountpoint)
			}
			return "", fmt.Errorf("mount volume %s: %w", name, err)
		}
	}
	return r.Mountpoint, nil
}

// Unmount drops a container from a volume's users; after the last one a
// volume with options has its filesystem unmounted. It is idempotent: an
// unknown volume or a container that is not a user is no error, so a
// runtime can call it again after a crash.
func (m *Manager) Unmount(ctx context.Context, name, containerID string) error {
	l, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer l.Unlock()
	r, err := m.read(name)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("unmount volume %s: %w", name, err)
	}
	if i := slices.Index(r.Users, containerID); i >= 0 {
		r.Users = slices.Delete(r.Users, i, i+1)
		if err := m.write(r); err != nil {
			return fmt.Errorf("unmount volume %s: %w", name, err)
		}
	}
	if len(r.Users) > 0 {
		return nil
	}
	spec, err := parseOptions(r.Options)
	if err != nil || !spec.needsMount() {
		return nil
	}
	mounted, err := m.sys.mounted(r.Mountpoint)
	if err != nil {
		return fmt.Errorf("unmount volume %s: %w", name, err)
	}
	if mounted {
		if err := m.sys.unmount(r.Mountpoint); err != nil {
			return fmt.Errorf("unmount volume %s: %w", name, err)
		}
	}
	return nil
}

// inode returns a file's inode number, to count hard links once.
func inode(fi fs.FileInfo) (uint64, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return st.Ino, true
}
