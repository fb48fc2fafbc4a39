package build

import (
	"testing"

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
