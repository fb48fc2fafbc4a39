package build

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/internal/testimage"
	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// rootEnv is a private image store, cache and run root for one test.
type rootEnv struct {
	t     *testing.T
	dir   string
	store *images.Store
	b     *Builder
	base  string // a busybox image built FROM scratch, "" until baseImage
}

func newRootEnv(t *testing.T) *rootEnv {
	t.Helper()
	if os.Getenv("BERTH_TEST_ROOT") != "1" {
		t.Skip("root test: set BERTH_TEST_ROOT=1")
	}
	testimage.Skip(t)
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("runc not installed")
	}
	dir := t.TempDir()
	cache := &Cache{Dir: filepath.Join(dir, "cache")}
	// Wired as cmd/berth wires it: GC keeps the build cache's layers.
	st, err := images.Open(filepath.Join(dir, "images"), images.Options{KeepLayers: cache.Layers})
	if err != nil {
		t.Fatal(err)
	}
	e := &rootEnv{t: t, dir: dir, store: st, b: &Builder{
		Store:   st,
		Cache:   cache,
		RunRoot: filepath.Join(dir, "run"),
		TmpDir:  filepath.Join(dir, "tmp"),
	}}
	t.Cleanup(func() { e.cleanup() })
	return e
}

// cleanup removes whatever a failed test left: runc containers, mounts
// under the test's directory. It fails the test if a build left any.
func (e *rootEnv) cleanup() {
	runcRoot := filepath.Join(e.b.RunRoot, "runc")
	if ents, err := os.ReadDir(runcRoot); err == nil {
		for _, c := range ents {
			exec.Command("runc", "--root", runcRoot, "delete", "--force", c.Name()).Run()
			e.t.Errorf("runc container %s left behind", c.Name())
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, l := range strings.Split(string(mounts), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && strings.HasPrefix(f[4], e.dir) {
			unix.Unmount(f[4], unix.MNT_DETACH)
			e.t.Errorf("mount %s left behind", f[4])
		}
	}
	for _, d := range []string{e.b.RunRoot, e.b.TmpDir} {
		ents, _ := os.ReadDir(d)
		for _, x := range ents {
			if x.Name() != "runc" {
				e.t.Errorf("%s left in %s", x.Name(), d)
			}
		}
	}
}

// context writes a build context: files, a busybox root in rootfs/ and
// the Dockerfile.
func (e *rootEnv) context(dockerfile string, files map[string]string) string {
	e.t.Helper()
	dir := filepath.Join(e.t.TempDir(), "ctx")
	testimage.Rootfs(e.t, filepath.Join(dir, "rootfs"))
	files["Dockerfile"] = dockerfile
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			e.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	return dir
}

// build builds with opts; RUN steps get no network unless opts say which
// (the tests of the default network wire an attacher).
func (e *rootEnv) build(opts Options) (string, string, error) {
	if opts.Network == "" {
		opts.Network = "none"
	}
	var out bytes.Buffer
	opts.Progress = &out
	id, err := e.b.Build(e.t.Context(), opts)
	return id, out.String(), err
}

func (e *rootEnv) mustBuild(opts Options) string {
	e.t.Helper()
	id, out, err := e.build(opts)
	if err != nil {
		e.t.Fatalf("build: %v\n%s", err, out)
	}
	return id
}

// baseImage builds test/busybox FROM scratch with the busybox root.
func (e *rootEnv) baseImage() string {
	e.t.Helper()
	if e.base == "" {
		dir := e.context("FROM scratch\nCOPY rootfs/ /\nCMD [\"sh\"]\n", map[string]string{})
		e.mustBuild(Options{ContextDir: dir, Tags: []string{"test/busybox"}})
		e.base = "test/busybox"
	}
	return e.base
}

// run runs the image as `berth run IMAGE args...` would and returns its
// output and exit code.
func (e *rootEnv) run(ref string, args ...string) (string, int) {
	e.t.Helper()
	im, err := e.store.Image(e.t.Context(), ref)
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := im.Config.Config
	cmd := cfg.Cmd
	if len(args) > 0 {
		cmd = args
	}
	argv := append(slices.Clone(cfg.Entrypoint), cmd...)
	tmp := e.t.TempDir()
	upper, work := filepath.Join(tmp, "upper"), filepath.Join(tmp, "work")
	os.Mkdir(upper, 0o755)
	os.Mkdir(work, 0o755)
	var out bytes.Buffer
	err = e.b.runOnce(e.t.Context(), runSpec{args: argv, env: cfg.Env, workdir: cfg.WorkingDir, user: cfg.User, network: "none", lowers: im.LayerDirs(), stdout: &out, stderr: &out}, upper, work)
	var ee *ExitError
	if errors.As(err, &ee) {
		return out.String(), ee.Code
	}
	if err != nil {
		e.t.Fatalf("run %s %v: %v\n%s", ref, argv, err, out.String())
	}
	return out.String(), 0
}

func tarOf(t *testing.T, files map[string]string) string {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range []string{"pkg/", "pkg/a", "pkg/b"} {
		hdr := &tar.Header{Name: name, Mode: 0o644, Uid: 1000, Gid: 1000}
		if strings.HasSuffix(name, "/") {
			hdr.Typeflag, hdr.Mode = tar.TypeDir, 0o755
		} else {
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(files[name]))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(files[name]))
	}
	tw.Close()
	return buf.String()
}

func TestBuildInstructions(t *testing.T) {
	e := newRootEnv(t)
	base := e.baseImage()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "fetched")
	}))
	t.Cleanup(srv.Close)
	df := `ARG BASE=` + base + `
FROM $BASE
ARG GREETING=hello
ARG FROMARG
ARG TARGETARCH
ENV APP_HOME=/srv/app PLAIN=$GREETING
WORKDIR $APP_HOME
WORKDIR sub
COPY --chown=app:app files/ ./files/
COPY --chmod=0600 files/one.txt /etc/one
ADD pkg.tar /opt/
ADD ` + srv.URL + `/remote.txt /opt/
RUN rm /etc/group && echo "$GREETING $FROMARG $TARGETARCH" > /generated && id -u > /built-as
RUN <<EOF
echo heredoc > /heredoc
EOF
USER app
LABEL org.example.a=1 "with space"="x y"
EXPOSE 8080 53/udp
VOLUME /data
HEALTHCHECK --interval=5s --retries=2 CMD test -f /generated
STOPSIGNAL SIGTERM
ENTRYPOINT ["/bin/echo", "entry"]
CMD ["default", "args"]
`
	dir := e.context(df, map[string]string{
		"files/one.txt":     "one\n",
		"files/skip.tmp":    "skip\n",
		"files/keep.tmp":    "keep\n",
		"files/sub/two.txt": "two\n",
		".dockerignore":     "files/*.tmp\n!files/keep.tmp\n",
		"pkg.tar":           tarOf(t, map[string]string{"pkg/a": "A", "pkg/b": "B"}),
	})
	id := e.mustBuild(Options{ContextDir: dir, Tags: []string{"test/all:1"}, Args: map[string]string{"FROMARG": "fromcli"}, Labels: map[string]string{"cli": "yes"}})
	im, err := e.store.Image(t.Context(), "test/all:1")
	if err != nil || im.ID != id {
		t.Fatalf("tag: %v %v", im, err)
	}
	cfg := im.Config.Config
	if cfg.WorkingDir != "/srv/app/sub" || cfg.User != "app" || cfg.StopSignal != "SIGTERM" {
		t.Errorf("workdir %q user %q stopsignal %q", cfg.WorkingDir, cfg.User, cfg.StopSignal)
	}
	if d := cmp.Diff(map[string]string{"org.example.a": "1", "with space": "x y", "cli": "yes"}, cfg.Labels); d != "" {
		t.Errorf("labels (-want +got):\n%s", d)
	}
	var ports []string
	for p := range cfg.ExposedPorts {
		ports = append(ports, p)
	}
	slices.Sort(ports)
	if d := cmp.Diff([]string{"53/udp", "8080/tcp"}, ports); d != "" {
		t.Errorf("ports (-want +got):\n%s", d)
	}
	if _, ok := cfg.Volumes["/data"]; !ok || len(cfg.Volumes) != 1 {
		t.Errorf("volumes %v", cfg.Volumes)
	}
	if h := cfg.Healthcheck; h == nil || !slices.Equal(h.Test, []string{"CMD-SHELL", "test -f /generated"}) || h.Retries != 2 || h.Interval.Seconds() != 5 {
		t.Errorf("healthcheck %+v", h)
	}
	if !slices.Contains(cfg.Env, "PLAIN=hello") || !slices.Contains(cfg.Env, "APP_HOME=/srv/app") || slices.ContainsFunc(cfg.Env, func(s string) bool { return strings.HasPrefix(s, "GREETING=") }) {
		t.Errorf("env %v (ARGs must not persist)", cfg.Env)
	}
	// Entrypoint and CMD: defaults, then overridden by run arguments.
	if out, code := e.run("test/all:1"); out != "entry default args\n" || code != 0 {
		t.Errorf("run: %q %d", out, code)
	}
	if out, _ := e.run("test/all:1", "over"); out != "entry over\n" {
		t.Errorf("run with args: %q", out)
	}
	// A shell-form ENTRYPOINT ignores run arguments.
	e.mustBuild(Options{DockerfileInline: []byte("FROM test/all:1\nENTRYPOINT echo shell\n"), Tags: []string{"test/all:shellform"}})
	if out, _ := e.run("test/all:shellform", "ignored"); out != "shell\n" {
		t.Errorf("shell-form entrypoint: %q", out)
	}
	// Files, owners, modes, the whiteout, what RUN saw.
	check := `cd /srv/app/sub && pwd && stat -c '%u:%g %a %n' files files/one.txt /etc/one /opt/pkg/a /opt/remote.txt &&
cat /opt/pkg/a /opt/pkg/b /opt/remote.txt /generated /built-as /heredoc && ls files | tr '\n' ' ' && test ! -e /etc/group && echo group-deleted`
	e.mustBuild(Options{DockerfileInline: []byte("FROM test/all:1\nUSER root\nENTRYPOINT []\n"), Tags: []string{"test/all:sh"}})
	out, code := e.run("test/all:sh", "sh", "-c", check)
	want := `/srv/app/sub
1000:1000 755 files
1000:1000 644 files/one.txt
0:0 600 /etc/one
1000:1000 644 /opt/pkg/a
0:0 600 /opt/remote.txt
ABfetchedhello fromcli amd64
0
heredoc
keep.tmp one.txt sub group-deleted
`
	if code != 0 || out != want {
		t.Errorf("check: exit %d\n%s", code, cmp.Diff(want, out))
	}
	var createdBy []string
	for _, h := range im.Config.History {
		createdBy = append(createdBy, h.CreatedBy)
	}
	if !slices.ContainsFunc(createdBy, func(s string) bool { return strings.HasPrefix(s, "RUN /bin/sh -c rm /etc/group") }) ||
		!slices.Contains(createdBy, "/bin/sh -c #(nop) USER app") {
		t.Errorf("history: %q", createdBy)
	}
}

func TestBuildCache(t *testing.T) {
	e := newRootEnv(t)
	base := e.baseImage()
	df := "FROM " + base + `
RUN echo early > /early
COPY early.txt /
RUN cat /early.txt > /copy1
COPY late.txt /
RUN cat /late.txt > /copy2
`
	dir := e.context(df, map[string]string{"early.txt": "e", "late.txt": "l1"})
	id1 := e.mustBuild(Options{ContextDir: dir})
	runs := e.b.runs.Load()
	id2, out, err := e.build(Options{ContextDir: dir})
	if err != nil || id2 != id1 || e.b.runs.Load() != runs {
		t.Fatalf("unchanged rebuild: %s vs %s, %d new RUNs, %v\n%s", id2, id1, e.b.runs.Load()-runs, err, out)
	}
	if strings.Count(out, "CACHED") != 5 {
		t.Errorf("want 5 CACHED steps:\n%s", out)
	}
	// Touching a file without changing it keeps the cache.
	os.Chtimes(filepath.Join(dir, "late.txt"), timeZero, timeZero)
	if id, _, _ := e.build(Options{ContextDir: dir}); id != id1 || e.b.runs.Load() != runs {
		t.Errorf("a new mtime invalidated the cache")
	}
	// A changed late file invalidates from its COPY on: one RUN again.
	os.WriteFile(filepath.Join(dir, "late.txt"), []byte("l2"), 0o644)
	id3, out := e.mustBuildOut(Options{ContextDir: dir})
	if id3 == id1 || e.b.runs.Load() != runs+1 {
		t.Errorf("changed file: id same %v, %d RUNs (want 1)\n%s", id3 == id1, e.b.runs.Load()-runs, out)
	}
	if got, _ := e.runIn(id3, "cat /copy2"); got != "l2" {
		t.Errorf("copy2 %q", got)
	}
	// --no-cache runs everything.
	runs = e.b.runs.Load()
	e.mustBuild(Options{ContextDir: dir, NoCache: true})
	if e.b.runs.Load() != runs+3 {
		t.Errorf("--no-cache ran %d RUNs, want 3", e.b.runs.Load()-runs)
	}
	// Pruning the cache (-a) makes the next build run again.
	if _, err := e.b.Cache.Prune(true, nil); err != nil {
		t.Fatal(err)
	}
	runs = e.b.runs.Load()
	e.mustBuild(Options{ContextDir: dir})
	if e.b.runs.Load() != runs+3 {
		t.Errorf("after prune ran %d RUNs, want 3", e.b.runs.Load()-runs)
	}
}

// TestBuildCacheSurvivesGC: removing the built image and collecting
// garbage keeps the layers the build cache names, so the rebuild runs
// nothing and gives the same image with the same content.
func TestBuildCacheSurvivesGC(t *testing.T) {
	e := newRootEnv(t)
	base := e.baseImage()
	df := "FROM " + base + `
RUN cat /proc/sys/kernel/random/uuid > /uuid
COPY a.txt /
RUN cat /uuid /a.txt > /both
`
	dir := e.context(df, map[string]string{"a.txt": "a"})
	id1 := e.mustBuild(Options{ContextDir: dir, Tags: []string{"test/gc:1"}})
	want, code := e.runIn(id1, "cat /both")
	if code != 0 || !strings.HasSuffix(want, "a") {
		t.Fatalf("built image: /both = %q, exit %d", want, code)
	}
	// The base stays (FROM needs it); the RUN and COPY layers are the
	// build cache's alone now.
	if _, err := e.store.Remove(t.Context(), "test/gc:1", false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.GC(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Resolve(t.Context(), id1); !errdefs.IsNotFound(err) {
		t.Fatalf("the image is still there after rmi: %v", err)
	}
	runs := e.b.runs.Load()
	id2, out := e.mustBuildOut(Options{ContextDir: dir, Tags: []string{"test/gc:1"}})
	if id2 != id1 || e.b.runs.Load() != runs {
		t.Errorf("rebuild after rmi and GC: ID same %v, %d RUNs (want 0)\n%s", id2 == id1, e.b.runs.Load()-runs, out)
	}
	if got, _ := e.runIn(id2, "cat /both"); got != want {
		t.Errorf("rebuilt /both = %q, want %q", got, want)
	}
}

func (e *rootEnv) mustBuildOut(opts Options) (string, string) {
	e.t.Helper()
	id, out, err := e.build(opts)
	if err != nil {
		e.t.Fatalf("build: %v\n%s", err, out)
	}
	return id, out
}

// runIn runs a shell command in the image id.
func (e *rootEnv) runIn(id, script string) (string, int) {
	e.t.Helper()
	return e.run(id, "sh", "-c", script)
}

func TestBuildMultiStage(t *testing.T) {
	e := newRootEnv(t)
	base := e.baseImage()
	df := "ARG SRC=other\nFROM " + base + ` AS builder
RUN echo compiled > /artifact
FROM localhost/does-not-exist:never AS unused
RUN echo never
FROM ` + base + ` AS other
RUN echo other > /other
FROM ` + base + `
COPY --from=builder /artifact /app/
COPY --from=${SRC} /other /app/other
RUN --mount=type=bind,from=builder,source=/artifact,target=/mnt/a cat /mnt/a > /app/mounted
`
	dir := e.context(df, map[string]string{})
	id := e.mustBuild(Options{ContextDir: dir})
	if e.b.runs.Load() != 3 {
		t.Errorf("%d RUNs, want 3 (the unused stage must not run)", e.b.runs.Load())
	}
	if out, _ := e.runIn(id, "cat /app/artifact /app/other /app/mounted; test -e /mnt/a || echo no-stub"); out != "compiled\nother\ncompiled\nno-stub\n" {
		t.Errorf("artifacts: %q", out)
	}
	// --target builds only what the target needs.
	tid := e.mustBuild(Options{ContextDir: dir, Target: "builder"})
	if out, _ := e.runIn(tid, "cat /artifact; test -e /app || echo no-app"); out != "compiled\nno-app\n" {
		t.Errorf("target builder: %q", out)
	}
	if _, _, err := e.build(Options{ContextDir: dir, Target: "unused"}); err == nil || !strings.Contains(err.Error(), "does-not-exist") {
		t.Errorf("target unused: %v", err)
	}
}

func TestBuildFailingRun(t *testing.T) {
	e := newRootEnv(t)
	base := e.baseImage()
	df := "FROM " + base + "\nRUN echo ok\n\nRUN echo about to fail && false\nRUN echo never\n"
	dir := e.context(df, map[string]string{})
	_, out, err := e.build(Options{ContextDir: dir, Tags: []string{"test/fail"}})
	if err == nil || !strings.Contains(err.Error(), "Dockerfile:4: RUN echo about to fail && false: exit code 1") {
		t.Fatalf("error %v", err)
	}
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 1 {
		t.Errorf("not an ExitError: %v", err)
	}
	if !strings.Contains(out, "about to fail") || strings.Contains(out, "never") {
		t.Errorf("output:\n%s", out)
	}
	if _, err := e.store.Image(context.Background(), "test/fail"); err == nil {
		t.Error("a failed build was tagged")
	}
	// Syntax errors and unknown instructions name the line; nothing runs.
	runs := e.b.runs.Load()
	_, _, err = e.build(Options{ContextDir: dir, DockerfileInline: []byte("FROM " + base + "\nRUN true\nBOGUS x\n")})
	if err == nil || !strings.Contains(err.Error(), "Dockerfile:3: unknown instruction: BOGUS") || e.b.runs.Load() != runs {
		t.Errorf("unknown instruction: %v", err)
	}
	// The default network without berth's networks wired: refused, not
	// silently replaced by none.
	_, _, err = e.build(Options{DockerfileInline: []byte("FROM " + base + "\nRUN true\n"), Network: "default"})
	if !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "Dockerfile:2:") || e.b.runs.Load() != runs {
		t.Errorf("--network default without an attacher: %v", err)
	}
}

func TestBuildMountsHeredocsOnbuild(t *testing.T) {
	e := newRootEnv(t)
	base := e.baseImage()
	secret := filepath.Join(t.TempDir(), "token")
	os.WriteFile(secret, []byte("s3cret"), 0o600)
	e.mustBuild(Options{DockerfileInline: []byte("FROM " + base + "\nONBUILD RUN echo triggered > /onbuild\n"), Tags: []string{"test/onbuild"}})
	df := "FROM test/onbuild\n" + `RUN --mount=type=cache,target=/cache sh -c 'echo x >> /cache/count; wc -l < /cache/count > /cache-count'
RUN --mount=type=tmpfs,target=/scratch touch /scratch/gone && test ! -e /scratch/x
RUN --mount=type=secret,id=token cat /run/secrets/token > /secret-copy
RUN --mount=type=bind,source=ctxfile,target=/mnt/ctxfile cat /mnt/ctxfile > /from-bind
RUN <<SCRIPT
#!/bin/sh
echo "script $0" > /script-out
SCRIPT
COPY <<EOT /etc/motd
hello
EOT
`
	dir := e.context(df, map[string]string{"ctxfile": "bound"})
	opts := Options{ContextDir: dir, Secrets: map[string]string{"token": secret}}
	e.mustBuild(opts)
	opts.NoCache = true
	id := e.mustBuild(opts)
	out, _ := e.runIn(id, "cat /onbuild /cache-count /secret-copy; echo; cat /from-bind; echo; cat /script-out /etc/motd; for p in /scratch /run /mnt; do test -e $p && echo left $p; done; echo end")
	want := "triggered\n2\ns3cret\nbound\nscript /dev/pipes/SCRIPT\nhello\nend\n"
	if out != want {
		t.Errorf("(-want +got):\n%s", cmp.Diff(want, out))
	}
	im, err := e.store.Image(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Config.Config.OnBuild) != 0 {
		t.Errorf("ONBUILD triggers inherited: %v", im.Config.Config.OnBuild)
	}
	// A secret the build was not given fails a RUN that requires it.
	_, _, err = e.build(Options{DockerfileInline: []byte("FROM " + base + "\nRUN --mount=type=secret,id=missing,required=true true\n")})
	if err == nil || !strings.Contains(err.Error(), "Dockerfile:2:") {
		t.Errorf("missing secret: %v", err)
	}
}

func TestBuildCancelAndWorkdirOwner(t *testing.T) {
	e := newRootEnv(t)
	base := e.baseImage()
	id := e.mustBuild(Options{DockerfileInline: []byte("FROM " + base + "\nUSER app\nWORKDIR /home/app/new/dir\nRUN touch mine\n")})
	if out, _ := e.runIn(id, "stat -c '%u %n' /home/app/new /home/app/new/dir /home/app/new/dir/mine"); out != "1000 /home/app/new\n1000 /home/app/new/dir\n1000 /home/app/new/dir/mine\n" {
		t.Errorf("workdir owner: %q", out)
	}
	// A dead build's leftovers (here a view mount) are reaped by the next.
	stale := filepath.Join(e.b.RunRoot, "view-dead")
	os.MkdirAll(filepath.Join(stale, "rootfs"), 0o755)
	if err := unix.Mount("tmpfs", filepath.Join(stale, "rootfs"), "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * staleAge)
	os.Chtimes(stale, old, old)
	e.mustBuild(Options{DockerfileInline: []byte("FROM " + base + "\nENV REAP=1\n")})
	if _, err := os.Stat(stale); err == nil {
		t.Errorf("stale %s not reaped", stale)
	}
	// Cancelling a build kills its RUN and cleans up (checked by cleanup).
	e.cancelDuringRun(t, Options{DockerfileInline: []byte("FROM " + base + "\nRUN echo started && sleep 60\n"), Network: "none"})
}

// cancelDuringRun builds opts, whose RUN prints "started" and then sleeps,
// cancels the build once the step has started, and checks that the build
// returns context.Canceled at once.
func (e *rootEnv) cancelDuringRun(t *testing.T, opts Options) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &lockedBuffer{}
	opts.Progress = out
	done := make(chan error, 1)
	go func() {
		_, err := e.b.Build(ctx, opts)
		done <- err
	}()
	for i := 0; i < 100 && !strings.Contains(out.String(), "started"); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled build: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("cancelled build did not return")
	}
}

// lockedBuffer is a bytes.Buffer safe to read while a build writes to it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
