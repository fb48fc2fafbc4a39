package build

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"
)

// RUN --mount=type=bind,rw: the step sees its writes; neither the source
// (the context, a stage) nor the layer keeps them, as in BuildKit.
func TestBuildRunBindRW(t *testing.T) {
	e := newRootEnv(t)
	base := e.baseImage()
	df := "FROM " + base + ` AS src
RUN mkdir /tree && echo stage > /tree/s
FROM ` + base + `
RUN --mount=type=bind,source=data,target=/data,rw \
    --mount=type=bind,source=ctxfile,target=/f,rw \
    --mount=type=bind,from=src,source=/tree,target=/tree,rw \
    echo new > /data/new && echo changed > /data/x && rm /data/gone && echo more >> /f && echo w > /tree/s && \
    cat /data/new /data/x /f /tree/s > /seen && ls /data > /listing && stat -c %a /data >> /listing
RUN --mount=type=bind,from=src,source=/tree,target=/tree cat /tree/s > /stage-after
`
	dir := e.context(df, map[string]string{"data/x": "orig\n", "data/gone": "g\n", "ctxfile": "file\n"})
	if err := os.Chmod(filepath.Join(dir, "data"), 0o750); err != nil {
		t.Fatal(err)
	}
	id := e.mustBuild(Options{ContextDir: dir})
	out, _ := e.runIn(id, "cat /seen /listing /stage-after; for p in /data /f /tree; do test -e $p && echo left $p; done; echo end")
	want := "new\nchanged\nfile\nmore\nw\nnew\nx\n750\nstage\nend\n"
	if out != want {
		t.Errorf("in the image (-want +got):\n%s", cmp.Diff(want, out))
	}
	got := map[string]string{}
	for _, f := range []string{"data/x", "data/gone", "data/new", "ctxfile"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			b = []byte("(missing)")
		}
		got[f] = string(b)
	}
	wantCtx := map[string]string{"data/x": "orig\n", "data/gone": "g\n", "data/new": "(missing)", "ctxfile": "file\n"}
	if d := cmp.Diff(wantCtx, got); d != "" {
		t.Errorf("the context changed (-want +got):\n%s", d)
	}
}

// RUN --mount=type=ssh binds the agent socket --ssh gave: the RUN writes
// to it (busybox logger, whose syslog(3) falls back to a stream socket, at
// the target /dev/log) and the test, listening, reads it.
func TestBuildRunSSH(t *testing.T) {
	e := newRootEnv(t)
	base := e.baseImage()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	got := make(chan string, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		b, _ := io.ReadAll(c)
		got <- string(b)
	}()
	df := "FROM " + base + `
RUN --mount=type=ssh --mount=type=ssh,id=agent,target=/dev/log,required \
    test -S "$SSH_AUTH_SOCK" && echo "$SSH_AUTH_SOCK" > /sock && logger -t berth hello-agent
`
	id := e.mustBuild(Options{DockerfileInline: []byte(df), SSH: map[string]string{"default": sock, "agent": sock}})
	select {
	case msg := <-got:
		if !strings.Contains(msg, "hello-agent") {
			t.Errorf("the agent read %q", msg)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("nothing reached the agent socket")
	}
	if out, _ := e.runIn(id, "cat /sock; test -e /run/buildkit && echo left; echo end"); out != "/run/buildkit/ssh_agent.0\nend\n" {
		t.Errorf("in the image: %q", out)
	}
	// Required without --ssh: a clear error before anything runs.
	runs := e.b.runs.Load()
	_, _, err = e.build(Options{DockerfileInline: []byte("FROM " + base + "\nRUN --mount=type=ssh,required=true true\n")})
	if !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "Dockerfile:2:") || !strings.Contains(err.Error(), "--ssh default") || e.b.runs.Load() != runs {
		t.Errorf("required ssh without --ssh: %v", err)
	}
	// Not required: the step runs without an agent.
	e.mustBuild(Options{DockerfileInline: []byte("FROM " + base + "\nRUN --mount=type=ssh test ! -e /run/buildkit/ssh_agent.0\n")})
}

// A bind source that is a symlink resolves inside its stage (or the
// context), never to the host's file of that name.
func TestBuildRunBindSymlink(t *testing.T) {
	e := newRootEnv(t)
	base := e.baseImage()
	marker := filepath.Join(t.TempDir(), "host-only")
	if err := os.MkdirAll(marker, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(marker, "secret"), []byte("host"), 0o644)
	df := "FROM " + base + ` AS src
RUN mkdir -p /in` + marker + ` && echo stage > /in` + marker + `/secret && ln -s ` + marker + ` /abs && ln -s ../in` + marker + ` /rel
FROM ` + base + `
RUN --mount=type=bind,from=src,source=/rel,target=/r cat /r/secret > /seen-rel
RUN --mount=type=bind,from=src,source=/abs,target=/a,rw cat /a/secret > /seen-abs || echo none > /seen-abs
`
	_, out, err := e.build(Options{DockerfileInline: []byte(df)})
	if err == nil || !strings.Contains(err.Error(), "Dockerfile:5:") {
		t.Errorf("a symlink to a path the stage lacks: %v\n%s", err, out)
	}
	df = strings.Split(df, "RUN --mount=type=bind,from=src,source=/abs")[0]
	id := e.mustBuild(Options{DockerfileInline: []byte(df)})
	if got, _ := e.runIn(id, "cat /seen-rel"); got != "stage\n" {
		t.Errorf("through a relative symlink: %q", got)
	}
}
