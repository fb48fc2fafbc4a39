package runc

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// mountOverlay mounts the container's root filesystem at target: the image
// layers (bottom first) as lower dirs under the container's own upper and
// work dirs. The classic mount(2) data is one page at most, which a few
// dozen long layer paths exceed; then the new mount API adds the lower dirs
// one by one ("lowerdir+", Linux 6.8), which has no such limit.
// plainCopies are the overlay options that keep the upper dir a plain layer.
const plainCopies = ",redirect_dir=off,metacopy=off"

func mountOverlay(target string, layers []string, upper, work string) error {
	if len(layers) == 0 {
		return errors.New("mount rootfs: image has no layers")
	}
	lowers := make([]string, len(layers))
	for i, l := range layers {
		lowers[len(layers)-1-i] = l // overlay wants the top layer first
	}
	// redirect_dir and metacopy off: a container's upper dir holds plain
	// copies only, so commit and diff read it as a layer (a kernel with
	// either on by default would write redirects and metadata-only copies
	// that mean nothing outside this overlay). Kernels without the options
	// refuse them: then they are left out (neither feature exists there).
	data := "lowerdir=" + strings.Join(lowers, ":") + ",upperdir=" + upper + ",workdir=" + work + ",index=off"
	if len(data)+len(plainCopies) < unix.Getpagesize()-1 {
		err := unix.Mount("overlay", target, "overlay", 0, data+plainCopies)
		if errors.Is(err, unix.EINVAL) {
			err = unix.Mount("overlay", target, "overlay", 0, data)
		}
		if err != nil {
			return fmt.Errorf("mount rootfs: %w", err)
		}
		return nil
	}
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("mount rootfs: too many layers for mount(2) and no fsopen: %w", err)
	}
	defer unix.Close(fsfd)
	for _, l := range lowers {
		if err := unix.FsconfigSetString(fsfd, "lowerdir+", l); err != nil {
			return fmt.Errorf("mount rootfs: lower dir %s: %w", l, err)
		}
	}
	for k, v := range map[string]string{"upperdir": upper, "workdir": work, "index": "off"} {
		if err := unix.FsconfigSetString(fsfd, k, v); err != nil {
			return fmt.Errorf("mount rootfs: %s: %w", k, err)
		}
	}
	for _, k := range []string{"redirect_dir", "metacopy"} {
		_ = unix.FsconfigSetString(fsfd, k, "off") // refused where the feature does not exist
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return fmt.Errorf("mount rootfs: %w", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("mount rootfs: %w", err)
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("mount rootfs: %w", err)
	}
	return nil
}

// unmount detaches target if something is mounted there; it is idempotent.
func unmount(target string) error {
	for {
		err := unix.Unmount(target, unix.MNT_DETACH)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err == nil || errors.Is(err, unix.EINVAL) || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("unmount %s: %w", target, err)
	}
}

// isMounted reports whether target is a mount point, from mountinfo.
func isMounted(target string) bool {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	defer f.Close()
	target = filepath.Clean(target)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && unescapeMount(fields[4]) == target {
			return true
		}
	}
	return false
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// layerFS reads a file from the top-most layer that has it, without
// following symlinks out of a layer (each layer is opened with os.Root). It
// is enough to read /etc/passwd and /etc/group before the rootfs is mounted;
// it does not apply whiteouts.
type layerFS []string // bottom first

func (l layerFS) Open(name string) (fs.File, error) {
	for i := len(l) - 1; i >= 0; i-- {
		root, err := os.OpenRoot(l[i])
		if err != nil {
			continue
		}
		f, err := root.FS().Open(name)
		root.Close()
		if err == nil {
			return f, nil
		}
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}
