package local

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/volumes"
)

// imageTree makes <tmp>/rootfs/data, the image's content at a volume's
// mount path, and <tmp>/outside, which a copy must never read.
func imageTree(t *testing.T) (src, outside string) {
	t.Helper()
	base := t.TempDir()
	src = filepath.Join(base, "rootfs", "data")
	outside = filepath.Join(base, "outside")
	for _, d := range []string{filepath.Join(src, "sub"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(path, []byte(filepath.Base(path)), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	write(filepath.Join(outside, "secret"), 0o600)
	write(filepath.Join(src, "conf"), 0o640)
	write(filepath.Join(src, "run.sh"), 0o755)
	write(filepath.Join(src, "sub", "deep"), 0o600)
	if err := os.Chmod(filepath.Join(src, "sub"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(src, fs.ModeSticky|0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(src, "conf"), filepath.Join(src, "conf.link")); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{
		"abs":     filepath.Join(outside, "secret"),
		"rel-out": "../../outside/secret",
		"dir-out": "../../outside",
		"in":      "conf",
	} {
		if err := os.Symlink(target, filepath.Join(src, name)); err != nil {
			t.Fatal(err)
		}
	}
	return src, outside
}

func TestCopyUp(t *testing.T) {
	ctx := t.Context()
	m, _ := newTestManager(t)
	src, _ := imageTree(t)
	xattr := unix.Lsetxattr(filepath.Join(src, "conf"), "user.berth", []byte("yes"), 0) == nil
	root := os.Geteuid() == 0
	if root {
		if err := os.Lchown(filepath.Join(src, "sub", "deep"), 1000, 1001); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(src, 33, 33); err != nil {
			t.Fatal(err)
		}
	}
	v, err := m.Create(ctx, volumes.Config{Name: "data"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CopyUp(ctx, "data", src); err != nil {
		t.Fatal(err)
	}
	dst := v.Mountpoint

	modes := map[string]fs.FileMode{
		".":         fs.ModeDir | fs.ModeSticky | 0o777,
		"conf":      0o640,
		"run.sh":    0o755,
		"sub":       fs.ModeDir | 0o750,
		"sub/deep":  0o600,
		"abs":       fs.ModeSymlink | 0o777,
		"rel-out":   fs.ModeSymlink | 0o777,
		"dir-out":   fs.ModeSymlink | 0o777,
		"in":        fs.ModeSymlink | 0o777,
		"conf.link": 0o640,
	}
	for p, want := range modes {
		fi, err := os.Lstat(filepath.Join(dst, p))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
	}
	// Symlinks are copied as they are, never followed.
	for name, want := range map[string]string{"rel-out": "../../outside/secret", "dir-out": "../../outside", "in": "conf"} {
		if got, err := os.Readlink(filepath.Join(dst, name)); err != nil || got != want {
			t.Errorf("link %s -> %q (%v), want %q", name, got, err, want)
		}
	}
	entries, _ := os.ReadDir(dst)
	if len(entries) != 8 {
		t.Errorf("volume has %d entries, want the 8 of the source", len(entries))
	}
	a, _ := os.Stat(filepath.Join(dst, "conf"))
	b, _ := os.Stat(filepath.Join(dst, "conf.link"))
	if !os.SameFile(a, b) {
		t.Error("hard link not kept")
	}
	if xattr {
		buf := make([]byte, 16)
		n, err := unix.Lgetxattr(filepath.Join(dst, "conf"), "user.berth", buf)
		if err != nil || string(buf[:n]) != "yes" {
			t.Errorf("xattr user.berth = %q, %v", buf[:n], err)
		}
	}
	if root {
		for p, want := range map[string][2]uint32{".": {33, 33}, "sub/deep": {1000, 1001}} {
			fi, _ := os.Lstat(filepath.Join(dst, p))
			st := fi.Sys().(*syscall.Stat_t)
			if st.Uid != want[0] || st.Gid != want[1] {
				t.Errorf("%s owned by %d:%d, want %d:%d", p, st.Uid, st.Gid, want[0], want[1])
			}
		}
	}
	if !onDisk(t, m, "data").CopiedUp {
		t.Error("record not marked copied up")
	}
}

func TestCopyUpOnlyOnce(t *testing.T) {
	ctx := t.Context()
	src, _ := imageTree(t)
	t.Run("not again after the user emptied it", func(t *testing.T) {
		m, _ := newTestManager(t)
		v, _ := m.Create(ctx, volumes.Config{Name: "data"})
		if err := m.CopyUp(ctx, "data", src); err != nil {
			t.Fatal(err)
		}
		if err := emptyDir(v.Mountpoint); err != nil {
			t.Fatal(err)
		}
		if err := m.CopyUp(ctx, "data", src); err != nil {
			t.Fatal(err)
		}
		if empty, _ := isEmptyDir(v.Mountpoint); !empty {
			t.Error("second copy-up copied again")
		}
	})
	t.Run("not into a volume with data", func(t *testing.T) {
		m, _ := newTestManager(t)
		v, _ := m.Create(ctx, volumes.Config{Name: "data"})
		if err := os.WriteFile(filepath.Join(v.Mountpoint, "mine"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := m.CopyUp(ctx, "data", src); err != nil {
			t.Fatal(err)
		}
		if entries, _ := os.ReadDir(v.Mountpoint); len(entries) != 1 {
			t.Errorf("volume with data got %d entries, want its 1", len(entries))
		}
		if !onDisk(t, m, "data").CopiedUp {
			t.Error("first use not recorded")
		}
	})
	t.Run("missing source marks first use", func(t *testing.T) {
		m, _ := newTestManager(t)
		v, _ := m.Create(ctx, volumes.Config{Name: "data"})
		if err := m.CopyUp(ctx, "data", filepath.Join(src, "nope")); err != nil {
			t.Fatal(err)
		}
		if err := m.CopyUp(ctx, "data", src); err != nil {
			t.Fatal(err)
		}
		if empty, _ := isEmptyDir(v.Mountpoint); !empty {
			t.Error("copied on the second use")
		}
	})
}

func TestCopyUpRefuses(t *testing.T) {
	ctx := t.Context()
	src, outside := imageTree(t)
	m, _ := newTestManager(t)
	if _, err := m.Create(ctx, volumes.Config{Name: "data"}); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(filepath.Dir(src), "link")
	if err := os.Symlink(outside, link); err != nil {
		t.Fatal(err)
	}
	if err := m.CopyUp(ctx, "data", link); !errdefs.IsInvalidArgument(err) {
		t.Errorf("copy up from a symlink: %v, want ErrInvalidArgument", err)
	}
	if onDisk(t, m, "data").CopiedUp {
		t.Error("refused copy-up marked the volume")
	}
	if err := m.CopyUp(ctx, "nope", src); !errdefs.IsNotFound(err) {
		t.Errorf("copy up into an unknown volume: %v, want ErrNotFound", err)
	}
	if _, err := m.Create(ctx, volumes.Config{Name: "tmp", Options: map[string]string{"type": "tmpfs", "device": "tmpfs"}}); err != nil {
		t.Fatal(err)
	}
	if err := m.CopyUp(ctx, "tmp", src); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("copy up into an unmounted tmpfs volume: %v, want ErrFailedPrecondition", err)
	}
}

func TestCopyFailureEmptiesVolume(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads unreadable files")
	}
	src, _ := imageTree(t)
	if err := os.Chmod(filepath.Join(src, "sub", "deep"), 0); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if err := copyIfEmpty(dst, src); err == nil {
		t.Fatal("want an error")
	}
	if empty, err := isEmptyDir(dst); !empty || err != nil {
		t.Errorf("volume not emptied after a failed copy: %v", err)
	}
}
