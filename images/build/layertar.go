package build

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berth-dev/berth/images"
	"github.com/containerd/errdefs"
)

// owner is a --chown: nil keeps root (COPY) or the archive's owners (ADD of
// a tar).
type owner struct{ uid, gid int }

// layerTar writes a COPY or ADD layer as a tar stream: the files, and the
// parent directories they need with the metadata the image below gives
// them (so that copying into /app does not change /app's owner), or root
// 0755 for missing ones.
type layerTar struct {
	tw      *tar.Writer
	lower   *layered
	mtime   time.Time // of parents the image lacks
	emitted map[string]bool
}

func newLayerTar(w io.Writer, lower *layered, mtime time.Time) *layerTar {
	return &layerTar{tw: tar.NewWriter(w), lower: lower, mtime: mtime, emitted: map[string]bool{"/": true}}
}

func (t *layerTar) Close() error { return t.tw.Close() }

// parents writes the directories above p that are not written yet.
func (t *layerTar) parents(p string, own *owner) error {
	dir := path.Dir(p)
	if t.emitted[dir] {
		return nil
	}
	if err := t.parents(dir, own); err != nil {
		return err
	}
	hdr := &tar.Header{Typeflag: tar.TypeDir, Name: dir[1:] + "/", Mode: 0o755, ModTime: t.mtime, Format: tar.FormatPAX}
	if _, fi, ok := t.lower.lstat(dir); ok && fi.IsDir() {
		hdr.Mode = int64(fi.Mode().Perm() | modeBits(fi.Mode()))
		hdr.ModTime = fi.ModTime()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
		}
	} else if own != nil {
		hdr.Uid, hdr.Gid = own.uid, own.gid
	}
	t.emitted[dir] = true
	return t.tw.WriteHeader(hdr)
}

func modeBits(m fs.FileMode) fs.FileMode {
	var b fs.FileMode
	if m&fs.ModeSetuid != 0 {
		b |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		b |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		b |= 0o1000
	}
	return b
}

// copyEntries writes entries read from src.
func (t *layerTar) copyEntries(src *source, entries []entry, own *owner, chmod *fs.FileMode) error {
	for _, e := range entries {
		if err := t.parents(e.dest, own); err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(e.info, e.link)
		if err != nil {
			return fmt.Errorf("%s: %w", e.rel, err)
		}
		hdr.Name = e.dest[1:]
		hdr.Uname, hdr.Gname = "", ""
		hdr.Uid, hdr.Gid = 0, 0
		hdr.Format = tar.FormatPAX
		hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
		if own != nil {
			hdr.Uid, hdr.Gid = own.uid, own.gid
		}
		if chmod != nil && hdr.Typeflag != tar.TypeSymlink {
			hdr.Mode = int64(*chmod)
		}
		if hdr.Typeflag == tar.TypeDir {
			hdr.Name += "/"
			t.emitted[e.dest] = true
		}
		if err := t.tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeReg {
			f, err := src.root.Open(e.rel)
			if err != nil {
				return err
			}
			_, err = io.CopyN(t.tw, f, hdr.Size)
			f.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", e.rel, err)
			}
		}
	}
	return nil
}

// writeFile writes one regular file with the given content.
func (t *layerTar) writeFile(dest string, r io.Reader, size int64, mode int64, mtime time.Time, own *owner) error {
	if err := t.parents(dest, own); err != nil {
		return err
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: dest[1:], Size: size, Mode: mode, ModTime: mtime, Format: tar.FormatPAX}
	if own != nil {
		hdr.Uid, hdr.Gid = own.uid, own.gid
	}
	if err := t.tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err := io.CopyN(t.tw, r, size)
	return err
}

// mkdir writes the directory dest.
func (t *layerTar) mkdir(dest string, own *owner) error {
	if t.emitted[dest] {
		return nil
	}
	if err := t.parents(dest, own); err != nil {
		return err
	}
	hdr := &tar.Header{Typeflag: tar.TypeDir, Name: dest[1:] + "/", Mode: 0o755, ModTime: t.mtime, Format: tar.FormatPAX}
	if own != nil {
		hdr.Uid, hdr.Gid = own.uid, own.gid
	}
	t.emitted[dest] = true
	return t.tw.WriteHeader(hdr)
}

// openArchive returns a tar reader if r is a tar archive (compressed or
// not), as ADD recognises them: by content, never by name.
func openArchive(r io.Reader) (*tar.Reader, *tar.Header, func(), bool) {
	dr, _, err := images.Decompress(bufio.NewReader(r))
	if err != nil {
		return nil, nil, nil, false
	}
	tr := tar.NewReader(dr)
	hdr, err := tr.Next()
	if err != nil || hdr == nil {
		dr.Close()
		return nil, nil, nil, false
	}
	return tr, hdr, func() { dr.Close() }, true
}

// extract writes the archive's entries under dest (ADD of a local tar):
// owners and modes as in the archive, names cleaned, ".." refused.
func (t *layerTar) extract(tr *tar.Reader, first *tar.Header, dest string) error {
	for hdr := first; ; {
		name := path.Clean("/" + hdr.Name)
		if strings.Contains(hdr.Name, "..") && hasDotDot(hdr.Name) {
			return fmt.Errorf("archive entry %q: %w", hdr.Name, errdefs.ErrInvalidArgument)
		}
		if name != "/" {
			h := *hdr
			full := path.Join(dest, name)
			if err := t.parents(full, nil); err != nil {
				return err
			}
			h.Name = full[1:]
			if h.Typeflag == tar.TypeDir {
				h.Name += "/"
				t.emitted[full] = true
			}
			if h.Typeflag == tar.TypeLink {
				if hasDotDot(h.Linkname) {
					return fmt.Errorf("archive entry %q: %w", hdr.Name, errdefs.ErrInvalidArgument)
				}
				h.Linkname = path.Join(dest, path.Clean("/"+h.Linkname))[1:]
			}
			if err := t.tw.WriteHeader(&h); err != nil {
				return err
			}
			if h.Typeflag == tar.TypeReg {
				if _, err := io.Copy(t.tw, tr); err != nil {
					return err
				}
			}
		}
		var err error
		hdr, err = tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("archive: %w", err)
		}
	}
}

func hasDotDot(p string) bool {
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return true
		}
	}
	return false
}

// parseChown resolves --chown=user[:group] with the image's /etc/passwd and
// /etc/group; a user alone gives its primary group (or the same number).
func parseChown(spec string, lower *layered) (*owner, error) {
	if spec == "" {
		return nil, nil
	}
	u, g, hasGroup := strings.Cut(spec, ":")
	o := &owner{}
	var primary int
	var err error
	if o.uid, primary, err = lookupID(lower, "/etc/passwd", u); err != nil {
		return nil, fmt.Errorf("--chown=%s: user %q: %w", spec, u, err)
	}
	o.gid = primary
	if hasGroup {
		if o.gid, _, err = lookupID(lower, "/etc/group", g); err != nil {
			return nil, fmt.Errorf("--chown=%s: group %q: %w", spec, g, err)
		}
	}
	return o, nil
}

// lookupID finds name (or a number) in a passwd or group file: its ID and,
// for passwd, its primary group.
func lookupID(lower *layered, file, name string) (id, gid int, err error) {
	if n, err := strconv.Atoi(name); err == nil {
		id, gid = n, n
		if file == "/etc/passwd" {
			if b, err := lower.readFile(file); err == nil {
				for _, l := range strings.Split(string(b), "\n") {
					f := strings.Split(l, ":")
					if len(f) > 3 && f[2] == name {
						if g, err := strconv.Atoi(f[3]); err == nil {
							gid = g
						}
					}
				}
			}
		}
		return id, gid, nil
	}
	b, err := lower.readFile(file)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", errNoSuchUser, errdefs.ErrInvalidArgument)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Split(l, ":")
		if len(f) > 2 && f[0] == name {
			id, err := strconv.Atoi(f[2])
			if err != nil {
				break
			}
			gid := id
			if len(f) > 3 {
				if g, err := strconv.Atoi(f[3]); err == nil {
					gid = g
				}
			}
			return id, gid, nil
		}
	}
	return 0, 0, fmt.Errorf("%w: %w", errNoSuchUser, errdefs.ErrInvalidArgument)
}

// parseChmod parses --chmod (octal).
func parseChmod(s string) (*fs.FileMode, error) {
	if s == "" {
		return nil, nil
	}
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o7777 {
		return nil, fmt.Errorf("--chmod=%s: not an octal mode: %w", s, errdefs.ErrInvalidArgument)
	}
	m := fs.FileMode(n)
	return &m, nil
}
