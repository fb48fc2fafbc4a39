package overlay

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// plainCopies are the options that keep an upper directory a plain layer.
// A kernel that lacks the features refuses them (EINVAL); it cannot write
// redirects or metadata-only copies either, so Mount then leaves them out.
const plainCopies = ",redirect_dir=off,metacopy=off"

// Mount mounts lowers (bottom-first) at target: under upper, with work as
// overlayfs's work directory, when upper is not empty; read-only without an
// upper directory (overlayfs then needs two lowers at least). mount(2) takes
// one page of options at most, which a few dozen long layer paths exceed;
// then the new mount API adds the lower directories one by one
// ("lowerdir+", Linux 6.8), each path under 256 bytes (fsconfig's limit).
func Mount(target string, lowers []string, upper, work string) error {
	return mount(target, lowers, upper, work, false)
}

// MountEphemeral is Mount for an upper directory that is thrown away with
// its container (run --rm) or step: overlayfs's volatile option leaves out
// the syncs of the upper directory's filesystem, above all the one at
// unmount, which flushes the whole filesystem's dirty data (a host's
// other writes too) before a container's exit can finish. The kernel marks
// a volatile work directory, and refuses it at the next mount, since a
// crash may have lost writes: MountEphemeral removes the mark, as its upper
// directory's content is not kept either way. A kernel without the option
// (before Linux 5.10) mounts as Mount does.
func MountEphemeral(target string, lowers []string, upper, work string) error {
	if upper == "" {
		return Mount(target, lowers, upper, work)
	}
	if err := os.RemoveAll(filepath.Join(work, "work", "incompat", "volatile")); err != nil {
		return fmt.Errorf("mount overlay at %s: %w", target, err)
	}
	return mount(target, lowers, upper, work, true)
}

func mount(target string, lowers []string, upper, work string, volatile bool) error {
	if len(lowers) == 0 {
		return fmt.Errorf("mount overlay at %s: no lower directories", target)
	}
	topFirst := slices.Clone(lowers)
	slices.Reverse(topFirst)
	data := mountData(topFirst, upper, work)
	extra := ""
	if upper != "" {
		extra = plainCopies
	}
	if volatile {
		extra += ",volatile"
	}
	if len(data)+len(extra) >= unix.Getpagesize()-1 {
		return mountFsconfig(target, topFirst, upper, work, volatile)
	}
	var flags uintptr
	if upper == "" {
		flags = unix.MS_RDONLY
	}
	err := unix.Mount("overlay", target, "overlay", flags, data+extra)
	if volatile && errors.Is(err, unix.EINVAL) {
		err = unix.Mount("overlay", target, "overlay", flags, data+plainCopies)
	}
	if extra != "" && errors.Is(err, unix.EINVAL) {
		err = unix.Mount("overlay", target, "overlay", flags, data)
	}
	if err != nil {
		return fmt.Errorf("mount overlay at %s: %w", target, err)
	}
	return nil
}

// mountData is mount(2)'s option string, without plainCopies.
func mountData(topFirst []string, upper, work string) string {
	data := "lowerdir=" + strings.Join(topFirst, ":")
	if upper != "" {
		data += ",upperdir=" + upper + ",workdir=" + work
	}
	return data + ",index=off"
}

// mountFsconfig mounts through fsopen(2), adding the lower directories one
// by one.
func mountFsconfig(target string, topFirst []string, upper, work string, volatile bool) error {
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("mount overlay at %s: too many layers for mount(2) and no fsopen: %w", target, err)
	}
	defer unix.Close(fsfd)
	for _, l := range topFirst {
		if err := unix.FsconfigSetString(fsfd, "lowerdir+", l); err != nil {
			return fmt.Errorf("mount overlay at %s: lower dir %s: %w", target, l, err)
		}
	}
	opts := [][2]string{{"index", "off"}}
	if upper != "" {
		opts = append(opts, [2]string{"upperdir", upper}, [2]string{"workdir", work})
	}
	for _, kv := range opts {
		if err := unix.FsconfigSetString(fsfd, kv[0], kv[1]); err != nil {
			return fmt.Errorf("mount overlay at %s: %s: %w", target, kv[0], err)
		}
	}
	if upper != "" {
		for _, k := range []string{"redirect_dir", "metacopy"} {
			_ = unix.FsconfigSetString(fsfd, k, "off") // refused where the feature does not exist
		}
		if volatile {
			_ = unix.FsconfigSetFlag(fsfd, "volatile") // likewise
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return fmt.Errorf("mount overlay at %s: %w", target, err)
	}
	var attr int
	if upper == "" {
		attr = unix.MOUNT_ATTR_RDONLY
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, attr)
	if err != nil {
		return fmt.Errorf("mount overlay at %s: %w", target, err)
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("mount overlay at %s: %w", target, err)
	}
	return nil
}

// Unmount detaches whatever is mounted at target. It is idempotent: nothing
// mounted there, or no target at all, is not an error.
func Unmount(target string) error {
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
