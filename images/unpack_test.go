package images

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// listTree lists dir's entries as "path type[->target]" lines.
func listTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		line := rel
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			to, _ := os.Readlink(p)
			line += " -> " + to
		case fi.IsDir():
			line += "/"
		case fi.Mode()&fs.ModeCharDevice != 0:
			line += " (char)"
		case fi.Mode()&fs.ModeNamedPipe != 0:
			line += " (fifo)"
		default:
			b, _ := os.ReadFile(p)
			line += " = " + string(b)
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestUnpackHostile feeds hand-made hostile layers to Unpack: each must be
// refused or neutralised, and nothing may appear outside the layer root.
func TestUnpackHostile(t *testing.T) {
	tests := []struct {
		name    string
		entries []entry
		refused bool     // Unpack fails with ErrInvalidArgument
		want    []string // the layer's tree when not refused
	}{
		{name: "dotdot", entries: []entry{file("../evil", "x")}, refused: true},
		{name: "nested dotdot", entries: []entry{dir("a"), file("a/../../evil", "x")}, refused: true},
		{name: "dotdot that stays inside is still refused", entries: []entry{dir("a"), file("a/../b", "x")}, refused: true},
		{name: "absolute name lands inside", entries: []entry{file("/etc/passwd", "root")}, want: []string{"etc/", "etc/passwd = root"}},
		{name: "dot slash prefix", entries: []entry{file("./a", "1")}, want: []string{"a = 1"}},
		{name: "absolute symlink as parent", entries: []entry{symlink("link", "{outside}"), file("link/evil", "x")}, refused: true},
		{name: "escaping relative symlink as parent", entries: []entry{symlink("link", "../outside"), file("link/evil", "x")}, refused: true},
		{name: "inner symlink as parent", entries: []entry{dir("sub"), symlink("link", "sub"), file("link/x", "x")}, refused: true},
		{name: "symlink parent of a directory", entries: []entry{symlink("link", "{outside}"), dir("link/d")}, refused: true},
		{name: "symlink parent of a whiteout", entries: []entry{symlink("link", "{outside}"), whiteoutEntry("link/.wh.victim")}, refused: true},
		{name: "symlink parent of an opaque marker", entries: []entry{symlink("link", "{outside}"), whiteoutEntry("link/.wh..wh..opq")}, refused: true},
		{name: "file replaces a symlink, not its target", entries: []entry{symlink("f", "{outside}/victim"), file("f", "new")}, want: []string{"f = new"}},
		{name: "directory replaces a symlink", entries: []entry{symlink("d", "{outside}"), dir("d"), file("d/x", "1")}, want: []string{"d/", "d/x = 1"}},
		{name: "symlinks themselves may point anywhere", entries: []entry{symlink("abs", "/etc/shadow"), symlink("rel", "../../x")}, want: []string{"abs -> /etc/shadow", "rel -> ../../x"}},
		{name: "hard link out of the root", entries: []entry{hardlink("h", "../outside/victim")}, refused: true},
		{name: "hard link to an absolute path", entries: []entry{hardlink("h", "{outside}/victim")}, refused: true},
		{name: "hard link through a symlink", entries: []entry{symlink("link", "{outside}"), hardlink("h", "link/victim")}, refused: true},
		{name: "hard link to a directory", entries: []entry{dir("d"), hardlink("h", "d")}, refused: true},
		{name: "hard link to the root", entries: []entry{hardlink("h", "./")}, refused: true},
		{name: "hard link inside", entries: []entry{file("a", "1"), hardlink("b", "a")}, want: []string{"a = 1", "b = 1"}},
		{name: "hard link to a symlink links the symlink", entries: []entry{symlink("s", "{outside}/victim"), hardlink("h", "s")}, want: []string{"h -> {outside}/victim", "s -> {outside}/victim"}},
		{name: "file under a file", entries: []entry{file("a", "1"), file("a/b", "2")}, refused: true},
		{name: "long name", entries: []entry{file(strings.Repeat("a/", 2100)+"x", "1")}, refused: true},
		{name: "bad whiteout", entries: []entry{dir("a"), whiteoutEntry("a/.wh.")}, refused: true},
		{name: "fifo", entries: []entry{{name: "p", typ: tar.TypeFifo, mode: 0o644}}, want: []string{"p (fifo)"}},
		{name: "aufs metadata dropped", entries: []entry{whiteoutEntry(".wh..wh.plnk")}, want: nil},
		{name: "later entry wins", entries: []entry{file("a", "1"), file("a", "2")}, want: []string{"a = 2"}},
		{name: "parents made implicitly", entries: []entry{file("x/y/z", "1")}, want: []string{"x/", "x/y/", "x/y/z = 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			outside := filepath.Join(base, "outside")
			layer := filepath.Join(base, "layer")
			for _, d := range []string{outside, layer} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(outside, "victim"), []byte("safe"), 0o644); err != nil {
				t.Fatal(err)
			}
			for i := range tt.entries {
				tt.entries[i].name = strings.ReplaceAll(tt.entries[i].name, "{outside}", outside)
				tt.entries[i].link = strings.ReplaceAll(tt.entries[i].link, "{outside}", outside)
			}
			_, err := Unpack(t.Context(), bytes.NewReader(makeTar(t, tt.entries...)), layer)
			if tt.refused {
				if !errors.Is(err, errdefs.ErrInvalidArgument) {
					t.Fatalf("Unpack = %v, want an invalid-argument refusal", err)
				}
			} else if err != nil {
				t.Fatalf("Unpack: %v", err)
			}
			if diff := cmp.Diff([]string{"victim = safe"}, listTree(t, outside)); diff != "" {
				t.Errorf("outside the layer changed (-want +got):\n%s", diff)
			}
			if _, err := os.Lstat(filepath.Join(base, "evil")); err == nil {
				t.Errorf("an entry escaped to %s", filepath.Join(base, "evil"))
			}
			if !tt.refused {
				var want []string
				for _, w := range tt.want {
					want = append(want, strings.ReplaceAll(w, "{outside}", outside))
				}
				if diff := cmp.Diff(want, listTree(t, layer)); diff != "" {
					t.Errorf("layer tree (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestUnpackHugeHeader(t *testing.T) {
	// A 2 MiB PAX header: archive/tar's writer refuses to make one, so
	// write a regular entry holding the record and retype it as 'x'.
	val := strings.Repeat("x", 2<<20)
	rec := "SCHILY.xattr.user.big=" + val + "\n"
	n := len(rec) + 8
	rec = strconv.Itoa(n) + " " + rec
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "pax", Typeflag: tar.TypeReg, Size: int64(len(rec)), Format: tar.FormatUSTAR}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte(rec))
	tw.WriteHeader(&tar.Header{Name: "a", Typeflag: tar.TypeReg, Format: tar.FormatUSTAR})
	tw.Close()
	raw := buf.Bytes()
	raw[156] = tar.TypeXHeader
	copy(raw[148:156], "        ")
	sum := 0
	for _, b := range raw[:512] {
		sum += int(b)
	}
	copy(raw[148:156], fmt.Sprintf("%06o\x00 ", sum))
	_, err := Unpack(t.Context(), bytes.NewReader(raw), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "too long") {
		t.Fatalf("Unpack of a 2 MiB PAX header = %v, want refused", err)
	}
}

func TestUnpackMetadata(t *testing.T) {
	mt := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	ro := dir("ro")
	ro.mode = 0o555
	ro.mtime = mt
	suid := file("bin/su", "x")
	suid.mode = 0o4755
	suid.mtime = mt
	owned := file("owned", "o")
	owned.uid, owned.gid = 1000, 1001
	xa := file("xa", "x")
	xa.xattrs = map[string]string{"user.note": "hi", "trusted.overlay.opaque": "y", "security.selinux": "bad"}
	layer := t.TempDir()
	stats, err := Unpack(t.Context(), bytes.NewReader(makeTar(t, ro, file("ro/f", "12345"), suid, owned, xa,
		entry{name: "dev/null", typ: tar.TypeChar, mode: 0o666, major: 1, minor: 3})), layer)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Size != 5+1+1+1 {
		t.Errorf("size = %d, want 8", stats.Size)
	}
	fi, err := os.Stat(filepath.Join(layer, "ro"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o555 || !fi.ModTime().Equal(mt) {
		t.Errorf("ro: mode %v mtime %v, want 0555 %v", fi.Mode(), fi.ModTime(), mt)
	}
	fi, _ = os.Stat(filepath.Join(layer, "bin/su"))
	if fi.Mode()&fs.ModeSetuid == 0 || fi.Mode().Perm() != 0o755 || !fi.ModTime().Equal(mt) {
		t.Errorf("bin/su: mode %v mtime %v", fi.Mode(), fi.ModTime())
	}
	buf := make([]byte, 64)
	if n, err := unix.Lgetxattr(filepath.Join(layer, "xa"), "user.note", buf); err != nil || string(buf[:n]) != "hi" {
		t.Errorf("user.note = %q, %v", buf[:max(n, 0)], err)
	}
	for _, forbidden := range []string{"trusted.overlay.opaque", "security.selinux"} {
		if _, err := unix.Lgetxattr(filepath.Join(layer, "xa"), forbidden, buf); err == nil {
			t.Errorf("xattr %s was set from the tar", forbidden)
		}
	}
	if os.Geteuid() == 0 {
		st, _ := os.Stat(filepath.Join(layer, "owned"))
		if s := st.Sys().(*syscall.Stat_t); s.Uid != 1000 || s.Gid != 1001 {
			t.Errorf("owned: %d:%d, want 1000:1001", s.Uid, s.Gid)
		}
		if fi, err := os.Lstat(filepath.Join(layer, "dev/null")); err != nil || fi.Mode()&fs.ModeCharDevice == 0 {
			t.Errorf("dev/null not a char device as root: %v %v", fi, err)
		}
	} else if !cmp.Equal(stats.Skipped, []string{"dev/null"}) {
		t.Errorf("skipped = %v, want dev/null", stats.Skipped)
	}
}

// TestUnpackWhiteouts needs root: overlay whiteouts are 0/0 character
// devices and opaque directories carry a trusted.* xattr.
func TestUnpackWhiteouts(t *testing.T) {
	if os.Getenv("BERTH_TEST_ROOT") != "1" {
		t.Skip("needs root: set BERTH_TEST_ROOT=1")
	}
	layer := t.TempDir()
	_, err := Unpack(t.Context(), bytes.NewReader(makeTar(t,
		dir("etc"), whiteoutEntry("etc/.wh.passwd"),
		dir("opq"), whiteoutEntry("opq/.wh..wh..opq"), file("opq/kept", "k"),
		whiteoutEntry("gone/.wh..wh..opq"),
	)), layer)
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(layer, "etc/passwd"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("etc/passwd: mode %o rdev %d, want a 0/0 char device", st.Mode, st.Rdev)
	}
	for _, d := range []string{"opq", "gone"} {
		buf := make([]byte, 8)
		n, err := unix.Lgetxattr(filepath.Join(layer, d), opaqueXattr, buf)
		if err != nil || string(buf[:n]) != "y" {
			t.Errorf("%s: %s = %q, %v; want y", d, opaqueXattr, buf[:max(n, 0)], err)
		}
	}
	if _, err := os.Stat(filepath.Join(layer, "opq/.wh..wh..opq")); err == nil {
		t.Error("the opaque marker itself was written")
	}
}
