package build

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// layered looks paths up in a stack of unpacked layers the way overlayfs
// would show them, without mounting: whiteouts hide lower entries, opaque
// directories hide lower content. COPY and WORKDIR use it to find what the
// image already has (a destination directory, its owner, /etc/passwd).
type layered struct {
	dirs []string // top-first
}

func newLayered(bottomFirst []string) *layered {
	l := &layered{}
	for i := len(bottomFirst) - 1; i >= 0; i-- {
		l.dirs = append(l.dirs, bottomFirst[i])
	}
	return l
}

func isWhiteout(fi fs.FileInfo) bool {
	if fi.Mode()&fs.ModeCharDevice == 0 {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Rdev == 0
}

func isOpaque(dir string) bool {
	buf := make([]byte, 1)
	n, err := unix.Lgetxattr(dir, "trusted.overlay.opaque", buf)
	return err == nil && n == 1 && buf[0] == 'y'
}

// lstat finds the absolute path p (not resolving symlinks) and returns the
// host path of the entry that shows, or ok false.
func (l *layered) lstat(p string) (host string, fi fs.FileInfo, ok bool) {
	p = path.Clean("/" + p)
	if p == "/" {
		for _, d := range l.dirs {
			if fi, err := os.Lstat(d); err == nil {
				return d, fi, true
			}
		}
		return "", nil, false
	}
	comps := strings.Split(p[1:], "/")
layers:
	for _, d := range l.dirs {
		opaque := false
		cur := d
		for _, c := range comps[:len(comps)-1] {
			cur = filepath.Join(cur, c)
			fi, err := os.Lstat(cur)
			if err != nil {
				continue layers // not in this layer
			}
			if isWhiteout(fi) || !fi.IsDir() {
				return "", nil, false // deleted or shadowed here
			}
			if isOpaque(cur) {
				opaque = true
			}
		}
		full := filepath.Join(cur, comps[len(comps)-1])
		if fi, err := os.Lstat(full); err == nil {
			if isWhiteout(fi) {
				return "", nil, false
			}
			return full, fi, true
		}
		if opaque {
			return "", nil, false
		}
	}
	return "", nil, false
}

// resolve follows symlinks in p's directories (and in its last component
// when last is set) inside the layered root, as the kernel would inside the
// container: absolute targets start at the root, ".." stops at it.
func (l *layered) resolve(p string, last bool) (string, error) {
	p = path.Clean("/" + p)
	for hops := 0; ; {
		comps := strings.Split(strings.TrimPrefix(p, "/"), "/")
		cur := "/"
		restarted := false
		for i, c := range comps {
			if c == "" {
				continue
			}
			next := path.Join(cur, c)
			host, fi, ok := l.lstat(next)
			if ok && fi.Mode()&fs.ModeSymlink != 0 && (i < len(comps)-1 || last) {
				if hops++; hops > 40 {
					return "", fmt.Errorf("resolve %s: too many levels of symbolic links", p)
				}
				target, err := os.Readlink(host)
				if err != nil {
					return "", err
				}
				rest := path.Join(comps[i+1:]...)
				if path.IsAbs(target) {
					p = path.Join("/", target, rest)
				} else {
					p = path.Join(cur, target, rest)
				}
				restarted = true
				break
			}
			cur = next
		}
		if !restarted {
			return cur, nil
		}
	}
}

// readFile reads the file at the absolute path p, following symlinks.
func (l *layered) readFile(p string) ([]byte, error) {
	r, err := l.resolve(p, true)
	if err != nil {
		return nil, err
	}
	host, fi, ok := l.lstat(r)
	if !ok || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
	return os.ReadFile(host)
}

// isDir reports whether p (symlinks followed) is a directory.
func (l *layered) isDir(p string) bool {
	r, err := l.resolve(p, true)
	if err != nil {
		return false
	}
	_, fi, ok := l.lstat(r)
	return ok && fi.IsDir()
}

var errNoSuchUser = errors.New("no such user or group")
