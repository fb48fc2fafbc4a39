package ocispec

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// HostDevices lists the host's device nodes under /dev for a privileged
// container (Options.Devices), as containerd's HostDevices does: block and
// character devices, not following symlinks, skipping /dev/console and the
// directories a container gets its own of (pts, shm, mqueue, fd). It is
// the one function of this package that reads the host.
func HostDevices() ([]specs.LinuxDevice, error) {
	return devicesUnder("/dev")
}

var skipDeviceDirs = []string{"pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"}

func devicesUnder(root string) ([]specs.LinuxDevice, error) {
	var out []specs.LinuxDevice
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
				return nil // a device that went away, or a directory we may not read
			}
			return err
		}
		if d.IsDir() {
			if p != root && slices.Contains(skipDeviceDirs, d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Name() == "console" || d.Type()&fs.ModeDevice == 0 {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		typ := "b"
		if info.Mode()&fs.ModeCharDevice != 0 {
			typ = "c"
		}
		out = append(out, specs.LinuxDevice{
			Path:     p,
			Type:     typ,
			Major:    int64(unix.Major(st.Rdev)),
			Minor:    int64(unix.Minor(st.Rdev)),
			FileMode: ptr(info.Mode().Perm()),
			UID:      ptr(st.Uid),
			GID:      ptr(st.Gid),
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
