package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	cfs "github.com/containerd/continuity/fs"
	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// CopyUp fills a volume from srcDir, the image's content at the path the
// volume is mounted on, as Docker does on a volume's first use: only if the
// volume has not been copied up before (a marker in the record) and is
// empty. The first call sets the marker whether or not it copied, so data a
// user deletes later never comes back. The volume's root takes srcDir's
// mode, owner and times; entries keep their modes, owners, times, hard links
// and extended attributes (where the volume's filesystem takes them;
// security.selinux is left to the runtime's labelling). Symlinks are copied
// as symlinks and never followed, so nothing outside srcDir is read.
//
// srcDir must be a real directory, already resolved inside the container's
// root filesystem by the caller (a symlink is ErrInvalidArgument); a missing
// srcDir copies nothing. A volume with options must be mounted (Mount)
// first, or it is ErrFailedPrecondition. On a failed copy the volume is
// emptied again and the marker left unset. CopyUp holds the volumes lock
// while it copies.
func (m *Manager) CopyUp(ctx context.Context, name, srcDir string) error {
	l, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer l.Unlock()
	r, err := m.read(name)
	if err != nil {
		return fmt.Errorf("copy up: %w", err)
	}
	if r.CopiedUp {
		return nil
	}
	spec, err := parseOptions(r.Options)
	if err != nil {
		return fmt.Errorf("copy up volume %s: %w", name, err)
	}
	if spec.needsMount() {
		mounted, err := m.sys.mounted(r.Mountpoint)
		if err != nil {
			return fmt.Errorf("copy up volume %s: %w", name, err)
		}
		if !mounted {
			return fmt.Errorf("copy up volume %s: not mounted: %w", name, errdefs.ErrFailedPrecondition)
		}
	}
	if err := copyIfEmpty(r.Mountpoint, srcDir); err != nil {
		return fmt.Errorf("copy up volume %s: %w", name, err)
	}
	r.CopiedUp = true
	if err := m.write(r); err != nil {
		return fmt.Errorf("copy up volume %s: %w", name, err)
	}
	return nil
}

// copyIfEmpty copies srcDir's tree into dst if dst is empty and srcDir
// exists.
func copyIfEmpty(dst, srcDir string) error {
	fi, err := os.Lstat(srcDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("source %s is not a directory (%s): %w", srcDir, fi.Mode().Type(), errdefs.ErrInvalidArgument)
	}
	empty, err := isEmptyDir(dst)
	if err != nil || !empty {
		return err
	}
	err = cfs.CopyDir(dst, srcDir,
		cfs.WithXAttrExclude("security.selinux"),
		cfs.WithXAttrErrorHandler(func(_, _, _ string, err error) error {
			if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EPERM) {
				return nil // the volume's filesystem does not take it
			}
			return err
		}))
	if err != nil {
		if cerr := emptyDir(dst); cerr != nil {
			return errors.Join(err, cerr)
		}
		return err
	}
	return nil
}

func isEmptyDir(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return false, err
}

// emptyDir removes dir's entries, keeping dir (it may be a mount point).
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
	}
	return errors.Join(errs...)
}
