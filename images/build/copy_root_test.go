package build

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"
)

// COPY --link gives BuildKit's file system: the files copied as onto an
// empty tree whose layer goes on top, so a symlink in the destination path
// is replaced by a directory and parent directories get 0755 and the
// --chown owner (moby/buildkit#3602, docker/buildx#1855); without --link
// the image's symlinks are followed and its directories kept.
func TestBuildCopyLink(t *testing.T) {
	e := newRootEnv(t)
	base := e.baseImage()
	df := "FROM " + base + ` AS prep
RUN mkdir -p /srv /d /tmp && ln -s /srv /opt && chmod 1777 /tmp && chmod 700 /d && chown 1000:1000 /d
FROM prep AS plain
COPY f /opt/
COPY --chown=app f /d/sub/
COPY f /tmp/
FROM prep AS linked
COPY --link f /opt/
COPY --link --chown=app f /d/sub/
ADD --link f /tmp/
`
	dir := e.context(df, map[string]string{"f": "x"})
	check := "test -L /opt && echo opt-symlink; ls /srv /opt; stat -c '%a %u %n' /d /d/sub /d/sub/f /tmp"
	for _, tc := range []struct{ target, want string }{
		{"plain", "opt-symlink\n/opt:\nf\n\n/srv:\nf\n700 1000 /d\n755 1000 /d/sub\n644 1000 /d/sub/f\n1777 0 /tmp\n"},
		{"linked", "/opt:\nf\n\n/srv:\n755 1000 /d\n755 1000 /d/sub\n644 1000 /d/sub/f\n755 0 /tmp\n"},
	} {
		id := e.mustBuild(Options{ContextDir: dir, Target: tc.target})
		out, _ := e.runIn(id, check)
		if d := cmp.Diff(tc.want, out); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.target, d)
		}
	}
}

// ADD --checksum verifies what it downloads (from a server on loopback).
func TestBuildAddChecksum(t *testing.T) {
	e := newRootEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello")
	}))
	t.Cleanup(srv.Close)
	good := "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" // of "hello"
	bad := "sha256:" + strings.Repeat("0", 64)
	id := e.mustBuild(Options{DockerfileInline: []byte("FROM scratch\nADD --checksum=" + good + " " + srv.URL + "/f /f\n")})
	im, err := e.store.Image(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if got := readLayered(t, newLayered(im.LayerDirs()), "/f"); got != "hello" {
		t.Errorf("/f = %q", got)
	}
	_, _, err = e.build(Options{DockerfileInline: []byte("FROM scratch\nADD --checksum=" + bad + " " + srv.URL + "/f /f\n")})
	if !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "Dockerfile:2:") || !strings.Contains(err.Error(), "checksum mismatch: --checksum="+bad+", downloaded "+good) {
		t.Errorf("wrong checksum: %v", err)
	}
}

// COPY --parents with the labs syntax keeps the sources' paths below the
// context (or a /./ pivot, or a stage's root) under the destination.
func TestBuildCopyParents(t *testing.T) {
	e := newRootEnv(t)
	df := `# syntax=docker/dockerfile:1-labs
FROM scratch AS s
COPY ./x/a.txt ./y/a.txt /no_parents/
COPY --parents ./x/a.txt ./y/a.txt /parents/
COPY --parents ./x/./y/*.txt /pivot/
COPY --parents x /dirs/
FROM scratch
COPY --from=s --parents /pivot/./y/b.txt /parents/x/a.txt /fromstage/
`
	dir := e.context(df, map[string]string{"x/a.txt": "xa", "y/a.txt": "ya", "x/y/b.txt": "xyb"})
	if err := os.Chmod(filepath.Join(dir, "x"), 0o750); err != nil {
		t.Fatal(err)
	}
	check := func(id string, want map[string]string) {
		t.Helper()
		im, err := e.store.Image(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		l := newLayered(im.LayerDirs())
		for p, content := range want {
			if content == "" {
				if _, fi, ok := l.lstat(p); ok && fi.IsDir() {
					continue
				}
				t.Errorf("%s: not a directory", p)
				continue
			}
			if got := readLayered(t, l, p); got != content {
				t.Errorf("%s = %q, want %q", p, got, content)
			}
		}
	}
	id := e.mustBuild(Options{ContextDir: dir, Target: "s"})
	check(id, map[string]string{
		"/no_parents/a.txt": "ya", "/parents/x/a.txt": "xa", "/parents/y/a.txt": "ya",
		"/pivot/y/b.txt": "xyb", "/dirs/x/a.txt": "xa", "/dirs/x/y/b.txt": "xyb",
	})
	im, _ := e.store.Image(t.Context(), id)
	if _, fi, ok := newLayered(im.LayerDirs()).lstat("/parents/x"); !ok || fi.Mode().Perm() != 0o750 {
		t.Errorf("/parents/x: %v, want the source's 0750", fi)
	}
	check(e.mustBuild(Options{ContextDir: dir}), map[string]string{"/fromstage/y/b.txt": "xyb", "/fromstage/parents/x/a.txt": "xa"})
}

// COPY/ADD --exclude with the labs syntax: BuildKit's own test cases
// (frontend/dockerfile/exclude_patterns_test.go): patterns match below each
// directory source, a wildcard's matches themselves are never excluded.
func TestBuildCopyExclude(t *testing.T) {
	e := newRootEnv(t)
	files := map[string]string{
		"dir1/file-101.png": "2", "dir1/file-102.txt": "3", "dir1/file-103.jpeg": "4",
		"dir2/file-201.pdf": "6", "dir2/file-202.jpeg": "7", "dir2/file-203.png": "8",
		"dir3/file-301.mp3": "9", "dir3/file-302.mpeg": "10",
	}
	df := `# syntax=docker/dockerfile:1-labs
FROM scratch
COPY --exclude=*/*.png --exclude=*/*.jpeg . /1
COPY --exclude=*/*.pdf --exclude=*/*.txt . /2
ADD --exclude=*.mp3 dir3/ /3/
COPY --exclude=*.mp3 --exclude=*.jpeg --exclude=*.png --exclude=*.pdf --exclude=*.txt dir* /4/
ADD --exclude=*.mp* --exclude=*.jpeg --exclude=*.png --exclude=*.pdf dir* /5
ADD --exclude=* dir* /6
COPY --parents --exclude=*.png dir1 /7/
`
	dir := e.context(df, files)
	os.RemoveAll(filepath.Join(dir, "rootfs")) // only the files above
	id := e.mustBuild(Options{ContextDir: dir})
	im, err := e.store.Image(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	l := newLayered(im.LayerDirs())
	var got []string
	for _, top := range []string{"1", "2", "3", "4", "5", "6", "7"} {
		got = append(got, listLayered(t, l, "/"+top)...)
	}
	want := []string{
		"/1/Dockerfile", "/1/dir1/file-102.txt", "/1/dir2/file-201.pdf", "/1/dir3/file-301.mp3", "/1/dir3/file-302.mpeg",
		"/2/Dockerfile", "/2/dir1/file-101.png", "/2/dir1/file-103.jpeg", "/2/dir2/file-202.jpeg", "/2/dir2/file-203.png", "/2/dir3/file-301.mp3", "/2/dir3/file-302.mpeg",
		"/3/file-302.mpeg",
		"/4/file-302.mpeg",
		"/5/file-102.txt",
		"/7/dir1/file-102.txt", "/7/dir1/file-103.jpeg",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("files (-want +got):\n%s", d)
	}
}

// listLayered lists the regular files below dir in the layered tree.
func listLayered(t *testing.T, l *layered, dir string) []string {
	t.Helper()
	var out []string
	seen := map[string]bool{}
	for i := len(l.dirs) - 1; i >= 0; i-- {
		root := filepath.Join(l.dirs[i], dir)
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			rel := dir + strings.TrimPrefix(p, root)
			if !seen[rel] {
				if _, fi, ok := l.lstat(rel); ok && fi.Mode().IsRegular() {
					out = append(out, rel)
				}
				seen[rel] = true
			}
			return nil
		})
	}
	sort.Strings(out)
	return out
}
