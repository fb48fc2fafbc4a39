// Package testimage makes the busybox root filesystem that berth's tests run
// containers from, offline: Debian's busybox-static binary and a symlink per
// applet, plus the few files an image usually has (/etc/passwd, /etc/group,
// /tmp). It is for tests only.
package testimage

import (
	"archive/tar"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// BusyboxPath is where Debian's busybox-static installs its binary.
const BusyboxPath = "/bin/busybox"

const passwd = "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000:app:/home/app:/bin/sh\n"
const group = "root:x:0:\ndaemon:x:1:\napp:x:1000:\nnogroup:x:65534:\n"

// Available reports whether a static busybox is installed, and why not.
func Available() error {
	out, err := exec.Command("file", "-L", BusyboxPath).Output()
	if err != nil {
		if _, serr := os.Stat(BusyboxPath); serr != nil {
			return errors.New("busybox-static is not installed (apt-get install busybox-static)")
		}
		return nil // no file(1): trust it
	}
	if !bytes.Contains(out, []byte("statically linked")) {
		return errors.New(BusyboxPath + " is not statically linked (apt-get install busybox-static)")
	}
	return nil
}

// Skip skips t when no static busybox is installed.
func Skip(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		t.Skip(err)
	}
}

// applets lists busybox's applets by asking the binary.
func applets() ([]string, error) {
	out, err := exec.Command(BusyboxPath, "--list").Output()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range strings.Fields(string(out)) {
		if n != "busybox" && !strings.Contains(n, "/") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// Rootfs writes a busybox root filesystem into dir.
func Rootfs(t testing.TB, dir string) {
	t.Helper()
	Skip(t)
	names, err := applets()
	if err != nil {
		t.Fatalf("busybox --list: %v", err)
	}
	for _, d := range []string{"bin", "etc", "tmp", "root", "proc", "sys", "dev", "home/app", "var/www"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777|fs.ModeSticky); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(BusyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "busybox"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", n)); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{"etc/passwd": passwd, "etc/group": group}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Tar returns a busybox root filesystem as an uncompressed tar stream, the
// input of `berth import`.
func Tar(t testing.TB) []byte {
	t.Helper()
	Skip(t)
	names, err := applets()
	if err != nil {
		t.Fatalf("busybox --list: %v", err)
	}
	bin, err := os.ReadFile(BusyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64) {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode}); err != nil {
			t.Fatal(err)
		}
	}
	file := func(name string, mode int64, data []byte) {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"bin", "etc", "root", "proc", "sys", "dev", "home", "home/app", "var", "var/www"} {
		dir(d, 0o755)
	}
	dir("tmp", 0o1777)
	file("bin/busybox", 0o755, bin)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + n, Linkname: "busybox", Mode: 0o777}); err != nil {
			t.Fatal(err)
		}
	}
	file("etc/passwd", 0o644, []byte(passwd))
	file("etc/group", 0o644, []byte(group))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
