package images

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/testimage"
)

func TestCommitPlainUpper(t *testing.T) {
	s, _ := testStore(t)
	importTar(t, s, "base", makeTar(t, dir("etc"), file("etc/os", "base")), "CMD sh", "ENV A=1")
	upper := t.TempDir()
	os.MkdirAll(filepath.Join(upper, "etc"), 0o755)
	os.WriteFile(filepath.Join(upper, "etc/os"), []byte("changed"), 0o644)
	os.WriteFile(filepath.Join(upper, "new"), []byte("n"), 0o600)
	os.Link(filepath.Join(upper, "new"), filepath.Join(upper, "new2"))
	os.Symlink("/etc/os", filepath.Join(upper, "ln"))
	id, err := s.Commit(t.Context(), CommitOptions{Parent: "base", Upper: upper, Changes: []string{"ENV B=2"}, Comment: "msg", Author: "me", CreatedBy: "sh", Name: "derived:v2"})
	if err != nil {
		t.Fatal(err)
	}
	im, err := s.Image(t.Context(), "derived:v2")
	if err != nil || im.ID != id {
		t.Fatalf("Image = %v, %v", im, err)
	}
	base, _ := s.Image(t.Context(), "base")
	if len(im.Layers) != 2 || im.Layers[0] != base.Layers[0] || im.Layers[1].ChainID != ChainID(base.Layers[0].ChainID, im.Layers[1].DiffID) {
		t.Fatalf("layers %+v", im.Layers)
	}
	if diff := cmp.Diff([]string{"A=1", "B=2"}, im.Config.Config.Env); diff != "" {
		t.Error(diff)
	}
	if h := im.Config.History[len(im.Config.History)-1]; h.Comment != "msg" || h.Author != "me" || h.CreatedBy != "sh" || im.Config.Author != "me" {
		t.Errorf("history %+v", im.Config.History)
	}
	want := []string{"etc/", "etc/os = changed", "ln -> /etc/os", "new = n", "new2 = n"}
	if diff := cmp.Diff(want, listTree(t, im.Layers[1].Dir)); diff != "" {
		t.Errorf("committed layer (-want +got):\n%s", diff)
	}
	var a, b unix.Stat_t
	unix.Stat(filepath.Join(im.Layers[1].Dir, "new"), &a)
	unix.Stat(filepath.Join(im.Layers[1].Dir, "new2"), &b)
	if a.Ino != b.Ino {
		t.Error("hard link in the upper dir became two files")
	}
	// The parent's config is untouched.
	base, _ = s.Image(t.Context(), "base")
	if diff := cmp.Diff([]string{"A=1"}, base.Config.Config.Env); diff != "" {
		t.Error(diff)
	}
}

// overlayMount mounts layers (bottom-first) with an upper dir, unmounting
// in t.Cleanup. It returns the merged and upper dirs.
func overlayMount(t *testing.T, lower []string) (merged, upper string) {
	t.Helper()
	base := t.TempDir()
	merged, upper, work := filepath.Join(base, "merged"), filepath.Join(base, "upper"), filepath.Join(base, "work")
	for _, d := range []string{merged, upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	top := make([]string, len(lower))
	for i, d := range lower {
		top[len(lower)-1-i] = d
	}
	opts := "lowerdir=" + strings.Join(top, ":") + ",upperdir=" + upper + ",workdir=" + work + ",redirect_dir=off,metacopy=off"
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Fatalf("mount overlay: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(merged, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", merged, err)
		}
	})
	return merged, upper
}

// TestOverlayBusybox imports busybox, mounts its layer with overlayfs,
// changes the merged tree (a new file, a deleted file, a replaced
// directory), commits the upper dir and mounts the new image: whiteouts
// and opaque directories survive the round trip.
func TestOverlayBusybox(t *testing.T) {
	if os.Getenv("BERTH_TEST_ROOT") != "1" {
		t.Skip("needs root and overlayfs: set BERTH_TEST_ROOT=1")
	}
	s, _ := testStore(t)
	ctx := t.Context()
	if _, err := s.Import(ctx, bytes.NewReader(testimage.Tar(t)), ImportOptions{Name: "busybox", Changes: []string{`CMD ["sh"]`}}); err != nil {
		t.Fatal(err)
	}
	im, err := s.Image(ctx, "busybox")
	if err != nil {
		t.Fatal(err)
	}
	merged, upper := overlayMount(t, im.LayerDirs())
	if fi, err := os.Stat(filepath.Join(merged, "bin/sh")); err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("bin/sh in the merged tree: %v %v", fi, err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(merged, "etc/motd"), []byte("hello"), 0o644))
	must(os.Remove(filepath.Join(merged, "etc/group")))
	must(os.RemoveAll(filepath.Join(merged, "home")))
	must(os.Mkdir(filepath.Join(merged, "home"), 0o755))
	must(os.WriteFile(filepath.Join(merged, "home/only"), []byte("1"), 0o644))
	id, err := s.Commit(ctx, CommitOptions{Parent: "busybox", Upper: upper, Name: "busybox:changed"})
	if err != nil {
		t.Fatal(err)
	}
	im2, err := s.Image(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	merged2, _ := overlayMount(t, im2.LayerDirs())
	if b, err := os.ReadFile(filepath.Join(merged2, "etc/motd")); err != nil || string(b) != "hello" {
		t.Errorf("etc/motd: %q %v", b, err)
	}
	if _, err := os.Lstat(filepath.Join(merged2, "etc/group")); err == nil {
		t.Error("etc/group came back: the whiteout was lost")
	}
	ents, _ := os.ReadDir(filepath.Join(merged2, "home"))
	if len(ents) != 1 || ents[0].Name() != "only" {
		t.Errorf("home = %v, want only the new file (opaque directory)", ents)
	}
	if _, err := os.Stat(filepath.Join(merged2, "bin/busybox")); err != nil {
		t.Error(err)
	}
}
