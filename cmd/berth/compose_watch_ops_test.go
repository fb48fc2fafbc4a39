package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/runc"
	"github.com/berth-dev/berth/watch"
)

func TestResolveMount(t *testing.T) {
	rec := &runc.Record{
		Config: runtime.Config{
			Mounts: []runtime.Mount{
				{Type: "bind", Source: "/host/src", Target: "/app/src"},
				{Type: "tmpfs", Target: "/scratch"},
				{Type: "volume", Source: "data", Target: "/data"},
			},
			Tmpfs: map[string]string{"/run/t": ""},
		},
		Volumes: []runc.VolumeMount{{Name: "data", Target: "/data", Source: "/var/lib/berth/volumes/data/_data"}},
	}
	mounts := containerMounts(rec, "/run/berth/c1/rootfs")
	for _, tc := range []struct {
		path, dir, rel string
		tmpfs          bool
	}{
		{"/app/main.go", "/run/berth/c1/rootfs", "app/main.go", false},
		{"/app/src/a/b.js", "/host/src", "a/b.js", false},
		{"/app/src", "/host/src", ".", false},
		{"/app/srcx/a", "/run/berth/c1/rootfs", "app/srcx/a", false},
		{"/data/x", "/var/lib/berth/volumes/data/_data", "x", false},
		{"/scratch/x", "", "x", true},
		{"/run/t/y", "", "y", true},
		{"/", "/run/berth/c1/rootfs", ".", false},
	} {
		m, rel := resolveMount(mounts, tc.path)
		if m.Dir != tc.dir || rel != tc.rel || m.Tmpfs != tc.tmpfs {
			t.Errorf("%s: got (%q, %q, tmpfs %v), want (%q, %q, tmpfs %v)", tc.path, m.Dir, rel, m.Tmpfs, tc.dir, tc.rel, tc.tmpfs)
		}
	}
}

// tree lists the files under dir as path -> content (directories end in
// /, symlinks are "-> target").
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out[rel] = "-> " + target
		case d.IsDir():
			out[rel+"/"] = ""
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = string(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSyncFiles(t *testing.T) {
	host, rootfs, vol := t.TempDir(), t.TempDir(), t.TempDir()
	put := func(dir, p, s string) {
		t.Helper()
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte(s), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	put(host, "a.txt", "new a")
	put(host, "pkg/b.txt", "b")
	put(host, "pkg/sub/c.txt", "c")
	os.Symlink("a.txt", filepath.Join(host, "link"))
	put(rootfs, "app/a.txt", "old a")
	put(rootfs, "app/dir-now-file/x", "x")
	put(host, "dir-now-file", "file")
	// A symlink in the container may not lead the copy out of it.
	os.Symlink("/", filepath.Join(rootfs, "app", "escape"))
	mounts := []fileMount{{Target: "/", Dir: rootfs}, {Target: "/data", Dir: vol}, {Target: "/tmp", Tmpfs: true}}

	copies := []watch.Copy{
		{HostPath: filepath.Join(host, "a.txt"), ContainerPath: "/app/a.txt"},
		{HostPath: filepath.Join(host, "pkg"), ContainerPath: "/app/pkg"},
		{HostPath: filepath.Join(host, "link"), ContainerPath: "/app/link"},
		{HostPath: filepath.Join(host, "dir-now-file"), ContainerPath: "/app/dir-now-file"},
		{HostPath: filepath.Join(host, "a.txt"), ContainerPath: "/data/deep/a.txt"},
		{HostPath: filepath.Join(host, "gone"), ContainerPath: "/app/pkg/sub"}, // gone meanwhile: removed
	}
	if err := syncFiles(mounts, copies); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"app/": "", "app/a.txt": "new a", "app/pkg/": "", "app/pkg/b.txt": "b",
		"app/link": "-> a.txt", "app/dir-now-file": "file", "app/escape": "-> /",
	}
	if diff := cmp.Diff(want, tree(t, rootfs)); diff != "" {
		t.Errorf("rootfs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"deep/": "", "deep/a.txt": "new a"}, tree(t, vol)); diff != "" {
		t.Errorf("volume (-want +got):\n%s", diff)
	}
	if fi, err := os.Stat(filepath.Join(rootfs, "app", "a.txt")); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode: %v %v, want 0640", fi.Mode(), err)
	}

	if err := syncFiles(mounts, []watch.Copy{{ContainerPath: "/app/pkg", Delete: true}, {ContainerPath: "/app/never-was", Delete: true}}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(rootfs, "app", "pkg")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("deleted directory still there: %v", err)
	}
	// A symlink to / is the container's root, not the host's.
	name := filepath.Base(rootfs) + "-escape"
	if err := syncFiles(mounts, []watch.Copy{{HostPath: filepath.Join(host, "a.txt"), ContainerPath: "/app/escape/" + name}}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(rootfs, name)); err != nil {
		t.Errorf("not in the container's root: %v", err)
	}
	if _, err := os.Lstat("/" + name); err == nil {
		os.Remove("/" + name)
		t.Error("a copy through a symlink to / wrote to the host's root")
	}
	os.Remove(filepath.Join(rootfs, name))
	if err := syncFiles(mounts, []watch.Copy{{HostPath: filepath.Join(host, "a.txt"), ContainerPath: "/tmp/a"}}); !errdefs.IsNotImplemented(err) || !strings.Contains(err.Error(), "tmpfs") {
		t.Errorf("a copy onto a tmpfs: %v", err)
	}
	// A bind mount of the watched directory itself: nothing to copy.
	if err := syncFiles([]fileMount{{Target: "/", Dir: rootfs}, {Target: "/src", Dir: host}}, []watch.Copy{
		{HostPath: filepath.Join(host, "a.txt"), ContainerPath: "/src/a.txt"},
		{HostPath: host, ContainerPath: "/src"},
	}); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(host, "a.txt")); string(data) != "new a" {
		t.Errorf("the source changed: %q", data)
	}
}

// TestSyncOwner: a replaced file keeps its owner, a new one gets its
// directory's (chown needs root).
func TestSyncOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	host, rootfs := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(host, "a"), []byte("a"), 0o644)
	os.MkdirAll(filepath.Join(rootfs, "app"), 0o755)
	os.Chown(filepath.Join(rootfs, "app"), 1000, 1000)
	os.WriteFile(filepath.Join(rootfs, "app", "old"), []byte("o"), 0o644)
	os.Chown(filepath.Join(rootfs, "app", "old"), 2000, 2000)
	mounts := []fileMount{{Target: "/", Dir: rootfs}}
	if err := syncFiles(mounts, []watch.Copy{
		{HostPath: filepath.Join(host, "a"), ContainerPath: "/app/old"},
		{HostPath: filepath.Join(host, "a"), ContainerPath: "/app/new/deep/a"},
	}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]uint32{"app/old": 2000, "app/new": 1000, "app/new/deep/a": 1000} {
		fi, err := os.Lstat(filepath.Join(rootfs, p))
		if err != nil {
			t.Fatal(err)
		}
		if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != want {
			t.Errorf("%s: uid %d, want %d", p, uid, want)
		}
	}
}

// TestSyncThroughSymlinks: directories of the target that are symlinks
// are followed as in the container, absolute ones from its root, also
// into a volume; the write stays inside the container.
func TestSyncThroughSymlinks(t *testing.T) {
	host, rootfs, vol := t.TempDir(), t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(host, "a"), []byte("a"), 0o644)
	os.MkdirAll(filepath.Join(rootfs, "srv", "app"), 0o755)
	os.Symlink("/srv/app", filepath.Join(rootfs, "app"))         // absolute
	os.Symlink("srv/app", filepath.Join(rootfs, "rel"))          // relative
	os.Symlink("/data/inner", filepath.Join(rootfs, "srv", "d")) // into the volume
	os.MkdirAll(filepath.Join(vol, "inner"), 0o755)
	os.Symlink("../../../..", filepath.Join(rootfs, "srv", "up")) // climbs above /: stays at /
	mounts := []fileMount{{Target: "/", Dir: rootfs}, {Target: "/data", Dir: vol}}
	for _, tc := range []struct{ target, want string }{
		{"/app/x/a", filepath.Join(rootfs, "srv", "app", "x", "a")},
		{"/rel/a", filepath.Join(rootfs, "srv", "app", "a")},
		{"/srv/d/a", filepath.Join(vol, "inner", "a")},
		{"/srv/up/etc/a", filepath.Join(rootfs, "etc", "a")},
	} {
		if err := syncFiles(mounts, []watch.Copy{{HostPath: filepath.Join(host, "a"), ContainerPath: tc.target}}); err != nil {
			t.Errorf("%s: %v", tc.target, err)
			continue
		}
		if data, err := os.ReadFile(tc.want); err != nil || string(data) != "a" {
			t.Errorf("%s: not at %s: %v", tc.target, tc.want, err)
		}
	}
	os.Symlink("loop", filepath.Join(rootfs, "loop"))
	if err := syncFiles(mounts, []watch.Copy{{HostPath: filepath.Join(host, "a"), ContainerPath: "/loop/a"}}); err == nil {
		t.Error("a symlink loop: no error")
	}
}
