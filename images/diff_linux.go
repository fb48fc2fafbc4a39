package images

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// WriteDiff writes the overlayfs upper directory upper as an OCI layer tar:
// a 0/0 character device (an overlay whiteout) becomes .wh.NAME, a
// directory with trusted.overlay.opaque=y gets a .wh..wh..opq entry, hard
// links inside upper stay hard links, sockets are skipped, overlayfs' own
// xattrs (trusted.overlay.*, user.overlay.*) are dropped. Symlinks are
// never followed. An upper directory holding overlayfs redirects or
// metacopy files (mounted with redirect_dir or metacopy on) is refused with
// errdefs.ErrNotImplemented: mount container roots with redirect_dir=off
// and metacopy=off. Entries are sorted by name and mtimes truncated to the
// second, so the same upper gives the same tar.
func WriteDiff(ctx context.Context, w io.Writer, upper string) error {
	tw := tar.NewWriter(w)
	links := map[[2]uint64]string{}
	err := filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(upper, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st, _ := fi.Sys().(*syscall.Stat_t)
		if fi.Mode()&fs.ModeCharDevice != 0 && st != nil && st.Rdev == 0 {
			return tw.WriteHeader(&tar.Header{
				Typeflag: tar.TypeReg,
				Name:     path.Join(path.Dir(rel), whiteoutPrefix+path.Base(rel)),
				ModTime:  fi.ModTime().Truncate(time.Second),
				Format:   tar.FormatPAX,
			})
		}
		if fi.Mode()&fs.ModeSocket != 0 {
			return nil
		}
		xattrs, opaque, err := readXattrs(p)
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := diffHeader(fi, st, rel, link, xattrs)
		if err != nil {
			return err
		}
		if fi.Mode().IsRegular() && st != nil && st.Nlink > 1 {
			key := [2]uint64{uint64(st.Dev), st.Ino}
			if first, ok := links[key]; ok {
				hdr.Typeflag = tar.TypeLink
				hdr.Linkname = first
				hdr.Size = 0
			} else {
				links[key] = rel
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.CopyN(tw, f, hdr.Size)
			f.Close()
			if err != nil {
				return fmt.Errorf("%s changed while committing: %w", rel, err)
			}
		}
		if opaque {
			return tw.WriteHeader(&tar.Header{
				Typeflag: tar.TypeReg,
				Name:     rel + "/" + whiteoutOpaque,
				ModTime:  hdr.ModTime,
				Format:   tar.FormatPAX,
			})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("diff %s: %w", upper, err)
	}
	return tw.Close()
}

// diffHeader is the reproducible tar header of one upper-directory entry
// at rel: numeric owners only, mtime truncated to the second, no access or
// change time, and the kept xattrs as PAX records.
func diffHeader(fi fs.FileInfo, st *syscall.Stat_t, rel, link string, xattrs map[string]string) (*tar.Header, error) {
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return nil, err
	}
	hdr.Name = rel
	if fi.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uname, hdr.Gname = "", ""
	hdr.ModTime = fi.ModTime().Truncate(time.Second)
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	hdr.Format = tar.FormatPAX
	if st != nil {
		hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
	}
	for k, v := range xattrs {
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords["SCHILY.xattr."+k] = v
	}
	return hdr, nil
}

// readXattrs returns the xattrs of p worth keeping in a layer, and whether
// p is an opaque overlay directory.
func readXattrs(p string) (map[string]string, bool, error) {
	size, err := unix.Llistxattr(p, nil)
	if err != nil {
		if errors.Is(err, unix.ENOTSUP) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("list xattrs of %s: %w", p, err)
	}
	if size == 0 {
		return nil, false, nil
	}
	buf := make([]byte, size)
	if size, err = unix.Llistxattr(p, buf); err != nil {
		return nil, false, fmt.Errorf("list xattrs of %s: %w", p, err)
	}
	out := map[string]string{}
	opaque := false
	for _, name := range bytes.Split(buf[:size], []byte{0}) {
		key := string(name)
		if key == "" {
			continue
		}
		val, err := getXattr(p, key)
		if err != nil {
			return nil, false, err
		}
		switch {
		case key == opaqueXattr || key == "user.overlay.opaque":
			opaque = opaque || val == "y"
		case key == "trusted.overlay.redirect" || key == "trusted.overlay.metacopy" ||
			key == "user.overlay.redirect" || key == "user.overlay.metacopy":
			return nil, false, errdefs.ErrNotImplemented.WithMessage(fmt.Sprintf("%s has overlayfs attribute %s: mount with redirect_dir=off,metacopy=off to commit", p, key))
		case strings.HasPrefix(key, "trusted.overlay.") || strings.HasPrefix(key, "user.overlay."):
		case allowedXattr(key):
			out[key] = val
		}
	}
	return out, opaque, nil
}

func getXattr(p, key string) (string, error) {
	size, err := unix.Lgetxattr(p, key, nil)
	if err != nil {
		return "", fmt.Errorf("read xattr %s of %s: %w", key, p, err)
	}
	buf := make([]byte, size)
	size, err = unix.Lgetxattr(p, key, buf)
	if err != nil {
		return "", fmt.Errorf("read xattr %s of %s: %w", key, p, err)
	}
	return string(buf[:size]), nil
}
