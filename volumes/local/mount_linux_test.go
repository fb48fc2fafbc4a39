package local

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/moby/sys/mount"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/volumes"
)

// rootManager returns a manager that really mounts, for root tests; every
// mount below its root is undone in t.Cleanup, even when the test fails.
func rootManager(t *testing.T) *Manager {
	t.Helper()
	if os.Getenv("BERTH_TEST_ROOT") != "1" {
		t.Skip("needs root and mounts: set BERTH_TEST_ROOT=1")
	}
	m, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := mount.RecursiveUnmount(m.dir); err != nil {
			t.Errorf("cleanup: unmount %s: %v", m.dir, err)
		}
		if left, _ := mountinfo.GetMounts(mountinfo.PrefixFilter(m.dir)); len(left) > 0 {
			t.Errorf("cleanup: mounts left under %s: %v", m.dir, left)
		}
	})
	return m
}

func mounted(t *testing.T, path string) bool {
	t.Helper()
	ok, err := mountinfo.Mounted(path)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestRootTmpfsSizeEnforced(t *testing.T) {
	m := rootManager(t)
	ctx := t.Context()
	_, err := m.Create(ctx, volumes.Config{Name: "scratch", Options: map[string]string{
		"type": "tmpfs", "device": "tmpfs", "o": "size=1m,uid=1000,mode=0750",
	}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Mount(ctx, "scratch", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if !mounted(t, p) {
		t.Fatal("tmpfs volume not mounted after Mount")
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != 1000 || fi.Mode().Perm() != 0o750 {
		t.Errorf("tmpfs root uid %d mode %v, want 1000 and 0750 from o=", uid, fi.Mode().Perm())
	}
	if err := os.WriteFile(filepath.Join(p, "small"), make([]byte, 512<<10), 0o644); err != nil {
		t.Fatalf("write within the size: %v", err)
	}
	err = os.WriteFile(filepath.Join(p, "big"), make([]byte, 2<<20), 0o644)
	if !errors.Is(err, unix.ENOSPC) {
		t.Errorf("write past size=1m: %v, want ENOSPC", err)
	}

	if _, err := m.Mount(ctx, "scratch", "c2"); err != nil {
		t.Fatal(err)
	}
	if err := m.Unmount(ctx, "scratch", "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(p, "small")); err != nil {
		t.Errorf("data gone while a user remains: %v", err)
	}
	if err := m.Unmount(ctx, "scratch", "c2"); err != nil {
		t.Fatal(err)
	}
	if mounted(t, p) {
		t.Error("tmpfs still mounted after the last Unmount")
	}
	if err := m.Remove(ctx, "scratch", false); err != nil {
		t.Fatal(err)
	}
}

func TestRootBindVolume(t *testing.T) {
	m := rootManager(t)
	ctx := t.Context()
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "host-file"), []byte("from host"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := m.Create(ctx, volumes.Config{Name: "bound", Options: map[string]string{"type": "none", "device": src, "o": "bind"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Mount(ctx, "bound", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(p, "host-file")); err != nil || string(got) != "from host" {
		t.Errorf("host file through the volume: %q, %v", got, err)
	}
	if err := os.WriteFile(filepath.Join(p, "written"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.Unmount(ctx, "bound", "c1"); err != nil {
		t.Fatal(err)
	}
	if mounted(t, p) {
		t.Error("bind still mounted after the last Unmount")
	}
	// A stale mount (a crashed berth) must be undone by Remove, never
	// deleted through.
	if _, err := m.Mount(ctx, "bound", "c2"); err != nil {
		t.Fatal(err)
	}
	r, _ := m.Inspect(ctx, "bound")
	r.Users = nil
	if err := m.write(r); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(ctx, "bound", false); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"host-file", "written"} {
		if _, err := os.Stat(filepath.Join(src, f)); err != nil {
			t.Errorf("bind source lost %s: %v", f, err)
		}
	}
}

func TestRootCopyUpIntoTmpfs(t *testing.T) {
	m := rootManager(t)
	ctx := t.Context()
	src, _ := imageTree(t)
	if _, err := m.Create(ctx, volumes.Config{Name: "tv", Options: map[string]string{"type": "tmpfs", "device": "tmpfs"}}); err != nil {
		t.Fatal(err)
	}
	p, err := m.Mount(ctx, "tv", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CopyUp(ctx, "tv", src); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(p, "sub", "deep")); err != nil {
		t.Errorf("copied file missing: %v", err)
	}
	if err := m.Unmount(ctx, "tv", "c1"); err != nil {
		t.Fatal(err)
	}
}
