package overlay

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMountData(t *testing.T) {
	tests := []struct {
		name        string
		topFirst    []string
		upper, work string
		want        string
	}{
		{name: "read-only", topFirst: []string{"/b", "/a"}, want: "lowerdir=/b:/a,index=off"},
		{name: "with upper", topFirst: []string{"/a"}, upper: "/u", work: "/w", want: "lowerdir=/a,upperdir=/u,workdir=/w,index=off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, mountData(tt.topFirst, tt.upper, tt.work)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestMount mounts real overlays: layers stack in order, writes land in the
// upper directory, a mount without one is read-only, and more lower
// directories than mount(2)'s one page holds go through fsopen.
func TestMount(t *testing.T) {
	if os.Getenv("BERTH_TEST_ROOT") != "1" {
		t.Skip("root test: set BERTH_TEST_ROOT=1")
	}
	layer := func(t *testing.T, dir string, files map[string]string) string {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	mount := func(t *testing.T, lowers []string, upper, work string) string {
		t.Helper()
		target := filepath.Join(t.TempDir(), "mnt")
		if err := os.Mkdir(target, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := Mount(target, lowers, upper, work); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := Unmount(target); err != nil {
				t.Error(err)
			}
		})
		return target
	}
	read := func(t *testing.T, p string) string {
		t.Helper()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	t.Run("upper", func(t *testing.T) {
		dir := t.TempDir()
		a := layer(t, filepath.Join(dir, "a"), map[string]string{"f": "a", "g": "a"})
		b := layer(t, filepath.Join(dir, "b"), map[string]string{"f": "b"})
		upper, work := layer(t, filepath.Join(dir, "upper"), nil), layer(t, filepath.Join(dir, "work"), nil)
		mnt := mount(t, []string{a, b}, upper, work)
		if got := read(t, filepath.Join(mnt, "f")) + read(t, filepath.Join(mnt, "g")); got != "ba" {
			t.Errorf("f and g read %q, want %q (the top layer wins)", got, "ba")
		}
		if err := os.WriteFile(filepath.Join(mnt, "new"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := read(t, filepath.Join(upper, "new")); got != "x" {
			t.Errorf("upper/new = %q, want x", got)
		}
	})
	t.Run("read-only", func(t *testing.T) {
		dir := t.TempDir()
		a := layer(t, filepath.Join(dir, "a"), map[string]string{"f": "a"})
		b := layer(t, filepath.Join(dir, "b"), map[string]string{"g": "b"})
		mnt := mount(t, []string{a, b}, "", "")
		if got := read(t, filepath.Join(mnt, "f")) + read(t, filepath.Join(mnt, "g")); got != "ab" {
			t.Errorf("f and g read %q, want ab", got)
		}
		if err := os.WriteFile(filepath.Join(mnt, "new"), nil, 0o644); err == nil {
			t.Error("wrote into a read-only overlay")
		}
	})
	t.Run("more lowers than one page of options", func(t *testing.T) {
		dir := t.TempDir()
		var lowers []string
		long := strings.Repeat("l", 80) // fsconfig takes values under 256 bytes
		for i := range 40 {
			lowers = append(lowers, layer(t, filepath.Join(dir, fmt.Sprintf("%s%02d", long, i)), map[string]string{fmt.Sprintf("f%02d", i): "x"}))
		}
		upper, work := layer(t, filepath.Join(dir, "upper"), nil), layer(t, filepath.Join(dir, "work"), nil)
		mnt := mount(t, lowers, upper, work)
		for i := range 40 {
			if _, err := os.Stat(filepath.Join(mnt, fmt.Sprintf("f%02d", i))); err != nil {
				t.Error(err)
			}
		}
	})
	t.Run("ephemeral", func(t *testing.T) {
		dir := t.TempDir()
		a := layer(t, filepath.Join(dir, "a"), map[string]string{"f": "a"})
		upper, work := layer(t, filepath.Join(dir, "upper"), nil), layer(t, filepath.Join(dir, "work"), nil)
		target := layer(t, filepath.Join(dir, "mnt"), nil)
		// Mounted twice: the second mount finds the first's volatile mark
		// in the work directory, which overlayfs alone would refuse.
		for i := range 2 {
			if err := MountEphemeral(target, []string{a}, upper, work); err != nil {
				t.Fatalf("mount %d: %v", i, err)
			}
			opts := superOptions(t, target)
			werr := os.WriteFile(filepath.Join(target, fmt.Sprint("new", i)), []byte("x"), 0o644)
			if err := Unmount(target); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(opts, "volatile") {
				t.Errorf("mount %d options %q, want volatile", i, opts)
			}
			if werr != nil {
				t.Fatal(werr)
			}
		}
		for _, f := range []string{"new0", "new1"} {
			if got := read(t, filepath.Join(upper, f)); got != "x" {
				t.Errorf("upper/%s = %q, want x", f, got)
			}
		}
	})
	t.Run("unmount is idempotent", func(t *testing.T) {
		dir := t.TempDir()
		if err := Unmount(dir); err != nil {
			t.Errorf("unmount of a directory with nothing mounted: %v", err)
		}
		if err := Unmount(filepath.Join(dir, "none")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("unmount of a missing path: %v", err)
		}
	})
}

// superOptions are the overlay's options at target, from mountinfo.
func superOptions(t *testing.T, target string) string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		// ID parent major:minor root mountpoint options ... - type source super-options
		fields := strings.Fields(line)
		if len(fields) > 4 && fields[4] == target {
			_, after, _ := strings.Cut(line, " - ")
			return after
		}
	}
	t.Fatalf("%s is not mounted", target)
	return ""
}
