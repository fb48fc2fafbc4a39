package build

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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
