package images

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// Whiteout names in layer tars (the OCI image spec's, from AUFS).
const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
	opaqueXattr    = "trusted.overlay.opaque"
)

// Limits on what a tar may ask for. archive/tar already caps PAX and GNU
// long-name headers at 1 MiB.
const (
	maxPathLen  = 4096
	maxXattrLen = 64 << 10
)

// UnpackStats says what Unpack did.
type UnpackStats struct {
	Size    int64 // bytes of regular file content written
	Entries int
	Skipped []string // entries not created (device nodes without root)
}

// Unpack extracts the uncompressed layer tar r into dir, which must exist
// and be private to the caller until Unpack returns (nothing else may change
// it meanwhile). The tar is hostile input:
//
//   - names are cleaned: a leading "/" or "./" is dropped; a name with a ".."
//     component is refused;
//   - no symlink is ever followed: an entry whose parent path is a symlink
//     (or anything but a directory) is refused, so neither an absolute nor an
//     escaping symlink can carry a later entry outside dir; symlinks are
//     created as they are, to be resolved in the container's root;
//   - a hard link must name an existing non-directory inside dir, reached
//     through real directories only;
//   - whiteouts become overlayfs whiteouts: .wh.NAME a 0/0 character device,
//     .wh..wh..opq the trusted.overlay.opaque=y xattr on its directory (both
//     need root); other .wh..wh. entries are dropped;
//   - character and block devices are created only by root and skipped
//     otherwise; fifos always;
//   - mode (with setuid, setgid, sticky), owner (as root), mtimes and the
//     xattrs user.*, security.capability and system.posix_acl_* are kept;
//     trusted.*, security.selinux and other xattrs are dropped, so a layer
//     cannot forge overlayfs metadata.
//
// Any refusal fails the whole layer with an errdefs.ErrInvalidArgument error
// naming the entry.
func Unpack(ctx context.Context, r io.Reader, dir string) (UnpackStats, error) {
	u := &unpacker{root: dir, isRoot: os.Geteuid() == 0, dirs: map[string]bool{".": true}}
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return u.stats, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return u.stats, fmt.Errorf("read layer tar: %w", err)
		}
		if err := u.entry(hdr, tr); err != nil {
			return u.stats, err
		}
		u.stats.Entries++
	}
	return u.stats, u.finishDirs()
}

type unpacker struct {
	root   string
	isRoot bool
	stats  UnpackStats
	dirs   map[string]bool // cleaned relative paths known to be real directories
	// dirMeta is applied after all entries: a directory's mode may forbid
	// writing into it and writing into it changes its mtime.
	dirMeta []dirMeta
}

type dirMeta struct {
	rel   string
	mode  fs.FileMode
	mtime time.Time
	atime time.Time
}

func refuse(name, why string) error {
	return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("layer entry %q: %s", name, why))
}

// cleanName turns a tar entry name into a clean path relative to the layer
// root, or refuses it.
func cleanName(name string) (string, error) {
	if len(name) > maxPathLen {
		return "", refuse(name[:64]+"...", "name too long")
	}
	if strings.ContainsRune(name, 0) {
		return "", refuse(name, "name contains NUL")
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", refuse(name, "path escapes the layer root")
		}
	}
	rel := path.Clean("/" + name)[1:]
	if rel == "" {
		rel = "."
	}
	return rel, nil
}

func (u *unpacker) abs(rel string) string { return filepath.Join(u.root, filepath.FromSlash(rel)) }

// parentDir makes sure every component of rel's parent is a real directory,
// creating missing ones (mode 0755, as Docker does), refusing symlinks and
// anything else. With create false it only checks.
func (u *unpacker) parentDir(entry, rel string, create bool) error {
	parent := path.Dir(rel)
	if u.dirs[parent] {
		return nil
	}
	cur := "."
	for _, part := range strings.Split(parent, "/") {
		if cur == "." {
			cur = part
		} else {
			cur = cur + "/" + part
		}
		if u.dirs[cur] {
			continue
		}
		fi, err := os.Lstat(u.abs(cur))
		switch {
		case err == nil && fi.IsDir():
		case err == nil && fi.Mode()&fs.ModeSymlink != 0:
			return refuse(entry, fmt.Sprintf("parent %q is a symlink", cur))
		case err == nil:
			return refuse(entry, fmt.Sprintf("parent %q is not a directory", cur))
		case errors.Is(err, fs.ErrNotExist) && create:
			if err := os.Mkdir(u.abs(cur), 0o755); err != nil {
				return fmt.Errorf("unpack %s: %w", entry, err)
			}
		default:
			return fmt.Errorf("unpack %s: %w", entry, err)
		}
		u.dirs[cur] = true
	}
	return nil
}

// clear removes whatever is at rel so a new entry can take its place; a
// directory stays when the new entry is a directory too.
func (u *unpacker) clear(rel string, keepDir bool) error {
	fi, err := os.Lstat(u.abs(rel))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() && keepDir {
		return nil
	}
	if fi.IsDir() {
		for d := range u.dirs {
			if d == rel || strings.HasPrefix(d, rel+"/") {
				delete(u.dirs, d)
			}
		}
		u.dirMeta = slices.DeleteFunc(u.dirMeta, func(m dirMeta) bool {
			return m.rel == rel || strings.HasPrefix(m.rel, rel+"/")
		})
	}
	// RemoveAll does not follow symlinks, and rel's parents are real
	// directories inside the root.
	return os.RemoveAll(u.abs(rel))
}

func (u *unpacker) entry(hdr *tar.Header, tr io.Reader) error {
	rel, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	base := path.Base(rel)
	if strings.HasPrefix(base, whiteoutPrefix) {
		return u.whiteout(hdr.Name, rel, base)
	}
	if rel == "." {
		return nil // the root itself: its metadata is the layer store's
	}
	if err := u.parentDir(hdr.Name, rel, true); err != nil {
		return err
	}
	target := u.abs(rel)
	if err := u.clear(rel, hdr.Typeflag == tar.TypeDir); err != nil {
		return fmt.Errorf("unpack %s: %w", hdr.Name, err)
	}
	mode := hdr.FileInfo().Mode()
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := os.Mkdir(target, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("unpack %s: %w", hdr.Name, err)
		}
		u.dirs[rel] = true
	case tar.TypeReg, tar.TypeGNUSparse:
		f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY|unix.O_NOFOLLOW, 0o600)
		if err != nil {
			return fmt.Errorf("unpack %s: %w", hdr.Name, err)
		}
		wb := newWritebackFile(f)
		n, err := io.Copy(wb, tr)
		wb.start()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("unpack %s: %w", hdr.Name, err)
		}
		u.stats.Size += n
	case tar.TypeSymlink:
		if len(hdr.Linkname) > maxPathLen || strings.ContainsRune(hdr.Linkname, 0) {
			return refuse(hdr.Name, "bad symlink target")
		}
		if err := os.Symlink(hdr.Linkname, target); err != nil {
			return fmt.Errorf("unpack %s: %w", hdr.Name, err)
		}
	case tar.TypeLink:
		return u.hardlink(hdr, rel, target)
	case tar.TypeChar, tar.TypeBlock:
		if !u.isRoot {
			u.stats.Skipped = append(u.stats.Skipped, rel)
			return nil
		}
		kind := uint32(unix.S_IFCHR)
		if hdr.Typeflag == tar.TypeBlock {
			kind = unix.S_IFBLK
		}
		if err := unix.Mknod(target, kind|0o600, int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))); err != nil {
			return fmt.Errorf("unpack %s: %w", hdr.Name, err)
		}
	case tar.TypeFifo:
		if err := unix.Mkfifo(target, 0o600); err != nil {
			return fmt.Errorf("unpack %s: %w", hdr.Name, err)
		}
	case tar.TypeXGlobalHeader:
		return nil
	default:
		return refuse(hdr.Name, fmt.Sprintf("unsupported entry type %q", hdr.Typeflag))
	}
	return u.metadata(hdr, rel, target, mode)
}

func (u *unpacker) hardlink(hdr *tar.Header, rel, target string) error {
	old, err := cleanName(hdr.Linkname)
	if err != nil || old == "." {
		return refuse(hdr.Name, fmt.Sprintf("hard link to %q outside the layer", hdr.Linkname))
	}
	if err := u.parentDir(hdr.Name, old, false); err != nil {
		return refuse(hdr.Name, fmt.Sprintf("hard link to %q: %v", hdr.Linkname, err))
	}
	fi, err := os.Lstat(u.abs(old))
	if err != nil {
		return refuse(hdr.Name, fmt.Sprintf("hard link to %q, which is not in the layer", hdr.Linkname))
	}
	if fi.IsDir() {
		return refuse(hdr.Name, fmt.Sprintf("hard link to directory %q", hdr.Linkname))
	}
	// link(2) without AT_SYMLINK_FOLLOW links a symlink itself, never its target.
	if err := os.Link(u.abs(old), target); err != nil {
		return fmt.Errorf("unpack %s: %w", hdr.Name, err)
	}
	return nil // a hard link shares its target's metadata
}

func (u *unpacker) whiteout(name, rel, base string) error {
	if err := u.parentDir(name, rel, true); err != nil {
		return err
	}
	dir := path.Dir(rel)
	if base == whiteoutOpaque {
		if err := unix.Lsetxattr(u.abs(dir), opaqueXattr, []byte("y"), 0); err != nil {
			return fmt.Errorf("unpack %s: opaque directory (needs root): %w", name, err)
		}
		return nil
	}
	if strings.HasPrefix(base, whiteoutMeta) {
		return nil // AUFS metadata (.wh..wh.plnk and the like)
	}
	victim := strings.TrimPrefix(base, whiteoutPrefix)
	hidden := path.Join(dir, victim)
	if victim == "" || victim == "." || victim == ".." {
		return refuse(name, "bad whiteout")
	}
	if err := u.clear(hidden, false); err != nil {
		return fmt.Errorf("unpack %s: %w", name, err)
	}
	if err := unix.Mknod(u.abs(hidden), unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("unpack %s: whiteout (needs root): %w", name, err)
	}
	return nil
}

// allowedXattr says which extended attributes a layer may set.
func allowedXattr(key string) bool {
	return strings.HasPrefix(key, "user.") || key == "security.capability" ||
		key == "system.posix_acl_access" || key == "system.posix_acl_default"
}

func (u *unpacker) metadata(hdr *tar.Header, rel, target string, mode fs.FileMode) error {
	isLink := hdr.Typeflag == tar.TypeSymlink
	if u.isRoot {
		if err := os.Lchown(target, hdr.Uid, hdr.Gid); err != nil {
			return fmt.Errorf("unpack %s: %w", hdr.Name, err)
		}
	}
	for key, val := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(key, "SCHILY.xattr.")
		if !ok || !allowedXattr(name) {
			continue
		}
		if len(val) > maxXattrLen {
			return refuse(hdr.Name, "xattr too large")
		}
		if err := unix.Lsetxattr(target, name, []byte(val), 0); err != nil {
			// Without root, on a file system without xattrs, or user.* on
			// a symlink (which Linux forbids): keep going without it.
			if u.isRoot && !errors.Is(err, unix.ENOTSUP) && !(isLink && errors.Is(err, unix.EPERM)) {
				return fmt.Errorf("unpack %s: xattr %s: %w", hdr.Name, name, err)
			}
		}
	}
	if hdr.Typeflag == tar.TypeDir {
		u.dirMeta = append(u.dirMeta, dirMeta{rel: rel, mode: mode, mtime: hdr.ModTime, atime: hdr.AccessTime})
		return nil
	}
	if !isLink {
		// After chown, which clears setuid and setgid.
		if err := os.Chmod(target, mode&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
			return fmt.Errorf("unpack %s: %w", hdr.Name, err)
		}
	}
	return setTimes(target, hdr.AccessTime, hdr.ModTime)
}

func setTimes(target string, atime, mtime time.Time) error {
	if atime.IsZero() {
		atime = mtime
	}
	ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, target, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times of %s: %w", target, err)
	}
	return nil
}

// finishDirs applies directory modes and times, deepest first.
func (u *unpacker) finishDirs() error {
	slices.SortStableFunc(u.dirMeta, func(a, b dirMeta) int { return strings.Count(b.rel, "/") - strings.Count(a.rel, "/") })
	for _, d := range u.dirMeta {
		target := u.abs(d.rel)
		if err := os.Chmod(target, d.mode&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
			return fmt.Errorf("unpack %s: %w", d.rel, err)
		}
		if err := setTimes(target, d.atime, d.mtime); err != nil {
			return err
		}
	}
	return nil
}
