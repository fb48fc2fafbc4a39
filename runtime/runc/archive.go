package runc

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/containerd/errdefs"
)

// The file operations on a container's root (cp, export) go through os.Root,
// so that no path or symlink in the container can lead out of its root:
// such a path is an error, never a file of the host.

// clean turns a container path into one relative to the root.
func clean(p string) string {
	p = path.Clean("/" + p)
	if p == "/" {
		return "."
	}
	return strings.TrimPrefix(p, "/")
}

// TarFrom writes src (a file or a directory, in the container root opened
// as root) to w as a tar stream whose entries are named from src's base name,
// as `docker cp CONTAINER:SRC -` does. Symlinks are archived, not followed.
func TarFrom(root *os.Root, src string, w io.Writer) error {
	src = clean(src)
	if _, err := root.Lstat(src); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return errdefs.ErrNotFound.WithMessage(fmt.Sprintf("could not find the file /%s in container", src))
		}
		return fmt.Errorf("refusing /%s: %w: %w", src, err, errdefs.ErrInvalidArgument)
	}
	tw := tar.NewWriter(w)
	base := path.Base(src)
	if src == "." {
		base = "."
	}
	if err := tarTree(root, src, base, tw); err != nil {
		return err
	}
	return tw.Close()
}

func tarTree(root *os.Root, name, as string, tw *tar.Writer) error {
	fi, err := root.Lstat(name)
	if err != nil {
		return err
	}
	link := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		if link, err = root.Readlink(name); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	hdr.Name = as
	if fi.IsDir() && as != "." {
		hdr.Name += "/"
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
		hdr.Uname, hdr.Gname = "", ""
	}
	if as != "." {
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
	}
	switch {
	case fi.Mode().IsRegular():
		f, err := root.Open(name)
		if err != nil {
			return err
		}
		_, err = io.Copy(tw, f)
		f.Close()
		return err
	case fi.IsDir():
		d, err := root.Open(name)
		if err != nil {
			return err
		}
		ents, err := d.ReadDir(-1)
		d.Close()
		if err != nil {
			return err
		}
		for _, e := range ents {
			child := e.Name()
			if as != "." {
				child = as + "/" + e.Name()
			}
			if err := tarTree(root, path.Join(name, e.Name()), child, tw); err != nil {
				return err
			}
		}
	}
	return nil
}

// UntarTo extracts a tar stream into dst (a directory in the container root
// opened as root). Entries that would land outside the root, through "..",
// absolute names or symlinks, are refused.
func UntarTo(root *os.Root, dst string, r io.Reader) error {
	dst = clean(dst)
	if fi, err := root.Stat(dst); err != nil || !fi.IsDir() {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("destination %s must be a directory in the container", dst))
	}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean(hdr.Name)
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("refusing %q: it leads out of the destination", hdr.Name))
		}
		if name == "." {
			continue
		}
		target := path.Join(dst, name)
		mode := fs.FileMode(hdr.Mode).Perm()
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(target, mode|0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := root.MkdirAll(path.Dir(target), 0o755); err != nil {
				return err
			}
			f, err := root.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			_ = root.Remove(target)
			if err := root.Symlink(hdr.Linkname, target); err != nil {
				return err
			}
		default:
			continue // devices, fifos and hard links are not copied
		}
		_ = root.Lchown(target, hdr.Uid, hdr.Gid)
		if hdr.Typeflag != tar.TypeSymlink {
			_ = root.Chmod(target, mode)
		}
	}
}

// CopyOut copies src from the container root to the host path dst, like
// `docker cp CONTAINER:SRC DST`: into dst if it is a directory, else as dst.
func CopyOut(root *os.Root, src, dst string) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(TarFrom(root, src, pw)) }()
	if fi, err := os.Stat(dst); err != nil || !fi.IsDir() {
		// Copy as dst: extract into its parent, then rename.
		parent := path.Dir(dst)
		tmp, err := os.MkdirTemp(parent, ".berth-cp-")
		if err != nil {
			pr.Close()
			return err
		}
		defer os.RemoveAll(tmp)
		if err := untarHost(tmp, pr); err != nil {
			return err
		}
		return os.Rename(path.Join(tmp, path.Base(clean(src))), dst)
	}
	return untarHost(dst, pr)
}

func untarHost(dir string, r io.Reader) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	return UntarTo(root, ".", r)
}

// CopyIn copies the host path src into the container at dst, like
// `docker cp SRC CONTAINER:DST`.
func CopyIn(root *os.Root, src, dst string) error {
	srcDir, srcBase := path.Dir(src), path.Base(src)
	host, err := os.OpenRoot(srcDir)
	if err != nil {
		return err
	}
	defer host.Close()
	dst = clean(dst)
	into, as := dst, srcBase
	if fi, err := root.Stat(dst); err != nil || !fi.IsDir() {
		into, as = path.Dir(dst), path.Base(dst)
	}
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := tarTree(host, srcBase, as, tw)
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return UntarTo(root, into, pr)
}
