package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/images/build"
	netfake "github.com/berth-dev/berth/network/fake"
	"github.com/berth-dev/berth/reconcile"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/fake"
	"github.com/berth-dev/berth/runtime/runc"
	volfake "github.com/berth-dev/berth/volumes/fake"
)

// testStack is a stack directory and a world of fakes the stack commands
// run against, in process.
type testStack struct {
	dir   string
	g     *globals
	rt    *fake.Runtime
	nets  *netfake.Manager
	vols  *volfake.Manager
	im    fake.Images
	logs  *fakeLogs
	ctl   *fakeControl
	rmi   *fakeRmi
	sigs  chan os.Signal
	world *stackWorld
}

const demoStack = `name: demo
services:
  web:
    image: nginx:1.27
    environment:
      LOG_LEVEL: info
    ports: ["8080:80"]
    depends_on: [db]
  db:
    image: postgres:16
    volumes: [data:/var/lib/postgresql/data]
volumes:
  data: {}
`

func newTestStack(t *testing.T, content string, opts ...fake.Option) *testStack {
	t.Helper()
	im := fake.Images{
		"nginx:1.27":  "sha256:1111111111111111111111111111111111111111111111111111111111111111",
		"postgres:16": "sha256:2222222222222222222222222222222222222222222222222222222222222222",
		"busybox":     "sha256:4444444444444444444444444444444444444444444444444444444444444444",
	}
	s := &testStack{
		dir:  t.TempDir(),
		g:    &globals{root: t.TempDir(), runRoot: t.TempDir(), runtime: "runc"},
		rt:   fake.New(append([]fake.Option{fake.WithImages(im)}, opts...)...),
		nets: &netfake.Manager{},
		vols: &volfake.Manager{},
		im:   im,
		logs: &fakeLogs{},
		ctl:  &fakeControl{},
		rmi:  &fakeRmi{},
		sigs: make(chan os.Signal, 2),
	}
	s.ctl.rt = s.rt
	s.world = &stackWorld{
		Deps:    reconcile.Deps{Runtime: s.rt, Networks: s.nets, Volumes: s.vols, Images: im},
		Logs:    s.logs,
		Control: s.ctl,
		Procs:   s.ctl,
		Runner:  s.ctl,
		Rmi:     s.rmi,
	}
	s.write(t, content)
	return s
}

func (s *testStack) file() string { return filepath.Join(s.dir, "compose.yaml") }

func (s *testStack) write(t *testing.T, content string) {
	t.Helper()
	if err := os.WriteFile(s.file(), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// run runs berth with args in process; stdout and stderr are captured.
func (s *testStack) run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	return s.runContext(t.Context(), args...)
}

func (s *testStack) runContext(ctx context.Context, args ...string) (string, string, error) {
	root := &cobra.Command{Use: "berth", SilenceUsage: true, SilenceErrors: true}
	env := &stackEnv{g: s.g, open: func(*globals) (*stackWorld, error) { return s.world, nil }, signals: s.sigs, poll: time.Millisecond}
	addStackCommandsWith(root, env)
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

// ids maps container names to IDs.
func (s *testStack) ids(t *testing.T) map[string]string {
	t.Helper()
	cs, err := s.rt.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range cs {
		out[c.Name] = c.ID
	}
	return out
}

func (s *testStack) container(t *testing.T, name string) runtime.Container {
	t.Helper()
	cs, _ := s.rt.List(t.Context())
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %s", name)
	return runtime.Container{}
}

func exitCode(err error) int {
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	}
	return 1
}

// fakeLogs writes one line per container, then with Follow waits for the
// end of ctx, as a followed log does.
type fakeLogs struct{}

func (fakeLogs) Logs(ctx context.Context, id string, o logOptions, stdout, stderr io.Writer) error {
	fmt.Fprintf(stdout, "hello from %s\n", id)
	if o.Follow {
		<-ctx.Done()
	}
	return nil
}

type fakeControl struct {
	rt    *fake.Runtime
	mu    sync.Mutex
	calls []string
}

func (f *fakeControl) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeControl) Kill(_ context.Context, id, sig string) error {
	f.record("kill " + id + " " + sig)
	return f.rt.Update(id, func(c *runtime.Container) { c.Status, c.ExitCode = runtime.StatusExited, 137 })
}

func (f *fakeControl) Pause(_ context.Context, id string) error {
	return f.rt.Update(id, func(c *runtime.Container) { c.Status = runtime.StatusPaused })
}

func (f *fakeControl) Unpause(_ context.Context, id string) error {
	return f.rt.Update(id, func(c *runtime.Container) { c.Status = runtime.StatusRunning })
}

func (f *fakeControl) Exec(_ context.Context, id string, o runc.ExecOptions) (int, error) {
	f.record("exec " + id + " " + strings.Join(o.Cmd, " "))
	fmt.Fprintf(o.Stdout, "ran %s\n", strings.Join(o.Cmd, " "))
	return 7, nil
}

func (f *fakeControl) Top(_ context.Context, id string, _ []string) (string, error) {
	return "UID PID CMD\nroot 1 " + id + "\n", nil
}

func (f *fakeControl) Wait(_ context.Context, id string) (int, error) {
	var code int
	err := f.rt.Update(id, func(c *runtime.Container) { code = c.ExitCode })
	return code, err
}

func (f *fakeControl) CreateOneoff(ctx context.Context, cfg runtime.Config, _ bool) (string, error) {
	return f.rt.Create(ctx, cfg)
}

// RunAttached starts the container and "runs" it: exit 5 when its command
// is "fail", else 0.
func (f *fakeControl) RunAttached(ctx context.Context, id string, _, _ bool) (int, error) {
	if err := f.rt.Start(ctx, id); err != nil {
		return 0, err
	}
	code := 0
	err := f.rt.Update(id, func(c *runtime.Container) {
		if len(c.Config.Cmd) > 0 && c.Config.Cmd[0] == "fail" {
			code = 5
		}
		c.Status, c.ExitCode = runtime.StatusExited, code
	})
	return code, err
}

type fakeRmi struct{ removed []string }

func (f *fakeRmi) Remove(_ context.Context, ref string, _ bool) ([]images.Removal, error) {
	f.removed = append(f.removed, ref)
	return []images.Removal{{Untagged: ref}}, nil
}

// fakePuller "pulls" by giving the image an ID in the fake store.
func (f *fakePuller) Pull(_ context.Context, ref string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ref == "nope:1" {
		return "", fmt.Errorf("pull %s: manifest unknown: %w", ref, errdefs.ErrNotFound)
	}
	f.pulled = append(f.pulled, ref)
	f.im[ref] = "sha256:9999999999999999999999999999999999999999999999999999999999999999"
	return f.im[ref], nil
}

// exitWhenStarted makes the named containers exit with their codes once
// they run, as their processes would.
func TestComposePsLsConfig(t *testing.T) {
	s := newTestStack(t, demoStack)
	if _, _, err := s.run(t, "compose", "-f", s.file(), "up", "-d"); err != nil {
		t.Fatal(err)
	}
	db := s.container(t, "demo-db-1")
	if err := s.rt.Stop(t.Context(), db.ID, nil); err != nil {
		t.Fatal(err)
	}
	out, _, err := s.run(t, "compose", "-f", s.file(), "ps")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[0], "PORTS") ||
		!strings.Contains(lines[1], "demo-web-1") || !strings.Contains(lines[1], "0.0.0.0:8080->80/tcp") {
		t.Errorf("ps:\n%s", out)
	}
	out, _, _ = s.run(t, "compose", "-f", s.file(), "ps", "-a", "--status", "exited", "--format", "{{.Name}} {{.Status}}")
	if out != "demo-db-1 Exited (143)\n" {
		t.Errorf("ps --status exited: %q", out)
	}
	out, _, _ = s.run(t, "compose", "-f", s.file(), "ps", "-a", "--services")
	if out != "db\nweb\n" {
		t.Errorf("ps --services: %q", out)
	}
	out, _, _ = s.run(t, "compose", "-f", s.file(), "ps", "-q")
	if out != s.container(t, "demo-web-1").ID+"\n" {
		t.Errorf("ps -q: %q", out)
	}

	out, _, err = s.run(t, "compose", "ls")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "NAME") || !strings.Contains(out, "exited(1), running(1)") || !strings.Contains(out, s.file()) {
		t.Errorf("ls:\n%s", out)
	}
	out, _, _ = s.run(t, "compose", "ls", "--format", "json")
	if !strings.Contains(out, `"Name":"demo"`) || !strings.Contains(out, `"ConfigFiles":"`+s.file()) {
		t.Errorf("ls --format json: %s", out)
	}

	out, _, err = s.run(t, "compose", "-f", s.file(), "config", "--services")
	if err != nil || out != "db\nweb\n" {
		t.Errorf("compose config --services: %v %q", err, out)
	}
	out, _, err = s.run(t, "compose", "-f", s.file(), "images")
	if err != nil || !strings.Contains(strings.Join(strings.Fields(out), " "), "demo-web-1 nginx 1.27 111111111111") {
		t.Errorf("compose images: %v\n%s", err, out)
	}
}

func TestComposeLifecycle(t *testing.T) {
	s := newTestStack(t, chainStack)
	if _, _, err := s.run(t, "compose", "-f", s.file(), "up", "-d"); err != nil {
		t.Fatal(err)
	}
	status := func(name string) runtime.Status { return s.container(t, name).Status }
	if _, _, err := s.run(t, "compose", "-f", s.file(), "stop", "web"); err != nil || status("demo-web-1") != runtime.StatusExited || status("demo-db-1") != runtime.StatusRunning {
		t.Errorf("stop web: %v", err)
	}
	if _, _, err := s.run(t, "compose", "-f", s.file(), "pause", "db"); err != nil || status("demo-db-1") != runtime.StatusPaused {
		t.Errorf("pause db: %v", err)
	}
	if _, _, err := s.run(t, "compose", "-f", s.file(), "unpause"); err != nil || status("demo-db-1") != runtime.StatusRunning {
		t.Errorf("unpause: %v", err)
	}
	if _, _, err := s.run(t, "compose", "-f", s.file(), "restart"); err != nil || status("demo-web-1") != runtime.StatusRunning {
		t.Errorf("restart: %v", err)
	}
	if _, _, err := s.run(t, "compose", "-f", s.file(), "kill", "-s", "SIGTERM", "api"); err != nil || status("demo-api-1") != runtime.StatusExited {
		t.Errorf("kill api: %v", err)
	}
	if !slices.Contains(s.ctl.calls, "kill "+s.container(t, "demo-api-1").ID+" SIGTERM") {
		t.Errorf("kill calls %v", s.ctl.calls)
	}
	if _, _, err := s.run(t, "compose", "-f", s.file(), "rm", "api"); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("rm without -f: err = %v", err)
	}
	if _, _, err := s.run(t, "compose", "-f", s.file(), "rm", "-f", "-s"); err != nil {
		t.Fatal(err)
	}
	if ids := s.ids(t); len(ids) != 0 {
		t.Errorf("rm -f -s left %v", ids)
	}
}

func TestComposeLogs(t *testing.T) {
	s := newTestStack(t, demoStack)
	if _, _, err := s.run(t, "compose", "-f", s.file(), "up", "-d"); err != nil {
		t.Fatal(err)
	}
	out, _, err := s.run(t, "compose", "-f", s.file(), "logs", "web")
	web := s.container(t, "demo-web-1")
	if err != nil || out != "web-1 | hello from "+web.ID+"\n" {
		t.Errorf("logs web: %v %q", err, out)
	}
}

func TestPlanExitCodes(t *testing.T) {
	s := newTestStack(t, demoStack)
	_, _, err := s.run(t, "plan", "-f", s.file())
	if exitCode(err) != 2 {
		t.Errorf("plan with changes: exit %d (%v)", exitCode(err), err)
	}
	if _, _, err := s.run(t, "up", "-d", "-f", s.file()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.run(t, "compose", "-f", s.file(), "plan"); err != nil {
		t.Errorf("plan without changes: %v", err)
	}
	s.write(t, "name: demo\nservices:\n  web:\n    image: nginx:1.27\n    ports: [\"80:abc\"]\n")
	_, _, err = s.run(t, "up", "-d", "-f", s.file())
	if exitCode(err) != 1 || !strings.Contains(err.Error(), "invalid stack") {
		t.Errorf("invalid stack: %v", err)
	}
}

func TestComposeExecTopPortWait(t *testing.T) {
	s := newTestStack(t, demoStack)
	if _, _, err := s.run(t, "compose", "-f", s.file(), "up", "-d"); err != nil {
		t.Fatal(err)
	}
	web := s.container(t, "demo-web-1")
	out, _, err := s.run(t, "compose", "-f", s.file(), "exec", "-T", "web", "ls", "-l")
	if exitCode(err) != 7 || out != "ran ls -l\n" {
		t.Errorf("exec: %v %q", err, out)
	}
	if _, _, err := s.run(t, "compose", "-f", s.file(), "exec", "--index", "2", "web", "true"); !errdefs.IsNotFound(err) {
		t.Errorf("exec --index 2: err = %v", err)
	}
	out, _, err = s.run(t, "compose", "-f", s.file(), "top", "web")
	if err != nil || out != "demo-web-1\nUID PID CMD\nroot 1 "+web.ID+"\n" {
		t.Errorf("top: %v %q", err, out)
	}
	out, _, err = s.run(t, "compose", "-f", s.file(), "port", "web", "80")
	if err != nil || out != "0.0.0.0:8080\n" {
		t.Errorf("port: %v %q", err, out)
	}
	if err := s.rt.Stop(t.Context(), web.ID, nil); err != nil {
		t.Fatal(err)
	}
	out, _, err = s.run(t, "compose", "-f", s.file(), "wait", "web")
	if exitCode(err) != 143 || out != "143\n" {
		t.Errorf("wait: %v %q", err, out)
	}
}

func TestComposeRun(t *testing.T) {
	s := newTestStack(t, demoStack)
	_, _, err := s.run(t, "compose", "-f", s.file(), "run", "--rm", "-e", "X=1", "web", "fail", "now")
	if exitCode(err) != 5 {
		t.Errorf("run: exit %d (%v), want the command's 5", exitCode(err), err)
	}
	// The dependency is up, the one-off container gone (--rm), web itself
	// not created.
	if diff := cmp.Diff([]string{"demo-db-1"}, slices.Sorted(maps.Keys(s.ids(t)))); diff != "" {
		t.Errorf("containers after run --rm (-want +got):\n%s", diff)
	}
	out, _, err := s.run(t, "compose", "-f", s.file(), "run", "-d", "--no-deps", "--name", "job", "web", "echo")
	if err != nil {
		t.Fatal(err)
	}
	job := s.container(t, "job")
	if out != job.ID+"\n" || job.Labels["io.berth.oneoff"] != "True" || len(job.Config.Ports) != 0 {
		t.Errorf("run -d: %q %v %v", out, job.Labels, job.Config.Ports)
	}
	// One-off containers are not the plan's business.
	out, _, err = s.run(t, "up", "-d", "-f", s.file())
	if err != nil || strings.Contains(out, "job") {
		t.Errorf("up after run: %v\n%s", err, out)
	}
	if _, _, err := s.run(t, "compose", "-f", s.file(), "run", "nope"); !errdefs.IsNotFound(err) {
		t.Errorf("run of an unknown service: %v", err)
	}
}

// fakeBuilder "builds" by giving the first tag an ID in the fake store.
func (f *fakeBuilder) Build(_ context.Context, o build.Options) (string, error) {
	f.built = append(f.built, o)
	id := fmt.Sprintf("sha256:%064d", len(f.built))
	f.im[o.Tags[0]] = id
	return id, nil
}

func TestCpArgs(t *testing.T) {
	names := func(svc string) (string, error) {
		if svc == "web" {
			return "demo-web-1", nil
		}
		return "", fmt.Errorf("no such service: %s: %w", svc, errdefs.ErrNotFound)
	}
	tests := []struct {
		src, dst string
		want     []string
		wantErr  bool
	}{
		{src: "web:/etc/hosts", dst: "./hosts", want: []string{"demo-web-1:/etc/hosts", "./hosts"}},
		{src: "-", dst: "web:/tmp", want: []string{"-", "demo-web-1:/tmp"}},
		{src: "./a", dst: "./b", wantErr: true},
		{src: "web:/a", dst: "web:/b", wantErr: true},
		{src: "db:/a", dst: ".", wantErr: true},
	}
	for _, tc := range tests {
		got, err := cpArgs(tc.src, tc.dst, names)
		if (err != nil) != tc.wantErr {
			t.Errorf("cpArgs(%s, %s): err = %v", tc.src, tc.dst, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("cpArgs(%s, %s) (-want +got):\n%s", tc.src, tc.dst, diff)
		}
	}
}

func TestContainerEvents(t *testing.T) {
	labels := map[string]string{"io.berth.service": "web"}
	c := func(id string, st runtime.Status, health string) runtime.Container {
		return runtime.Container{ID: id, Name: "demo-web-" + id, Image: "nginx", Labels: labels, Status: st, Health: health, ExitCode: 3}
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	before := byID([]runtime.Container{c("1", runtime.StatusRunning, ""), c("2", runtime.StatusRunning, "starting"), c("3", runtime.StatusPaused, "")})
	after := byID([]runtime.Container{c("2", runtime.StatusRunning, "healthy"), c("3", runtime.StatusRunning, ""), c("4", runtime.StatusExited, "")})
	var buf bytes.Buffer
	for _, e := range containerEvents(before, after, now) {
		if err := writeEvent(&buf, e, false); err != nil {
			t.Fatal(err)
		}
	}
	want := `2026-01-02T03:04:05.000000Z container health_status: healthy 2 (image=nginx, name=demo-web-2)
2026-01-02T03:04:05.000000Z container unpause 3 (image=nginx, name=demo-web-3)
2026-01-02T03:04:05.000000Z container create 4 (image=nginx, name=demo-web-4)
2026-01-02T03:04:05.000000Z container die 4 (exitCode=3, image=nginx, name=demo-web-4)
2026-01-02T03:04:05.000000Z container destroy 1 (image=nginx, name=demo-web-1)
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	buf.Reset()
	writeEvent(&buf, containerEvents(nil, byID([]runtime.Container{c("5", runtime.StatusCreated, "")}), now)[0], true)
	if want := `{"time":"2026-01-02T03:04:05Z","type":"container","action":"create","id":"5","service":"web","attributes":{"image":"nginx","name":"demo-web-5"}}` + "\n"; buf.String() != want {
		t.Errorf("json: %s", buf.String())
	}
}

func TestComposeRunSecrets(t *testing.T) {
	t.Setenv("RUN_TOKEN", "t0k3n")
	s := newTestStack(t, "name: demo\nservices:\n  job:\n    image: busybox\n    secrets: [token]\nsecrets:\n  token: {environment: RUN_TOKEN}\n")
	if _, _, err := s.run(t, "compose", "-f", s.file(), "run", "-d", "--name", "job1", "job"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.g.root, "stacks", "demo", "files", "job1", "secrets", "token")
	if data, err := os.ReadFile(path); err != nil || string(data) != "t0k3n" {
		t.Errorf("secret file: %q, %v", data, err)
	}
	want := runtime.Mount{Type: "bind", Source: path, Target: "/run/secrets/token", ReadOnly: true}
	if c := s.container(t, "job1"); !slices.Contains(c.Config.Mounts, want) {
		t.Errorf("mounts %+v lack %+v", c.Config.Mounts, want)
	}
	if _, _, err := s.run(t, "compose", "-f", s.file(), "run", "--rm", "--name", "job2", "job"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.g.root, "stacks", "demo", "files", "job2")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("run --rm left its files: %v", err)
	}
}

func TestComposePsFormat(t *testing.T) {
	c := runtime.Container{ID: "abc", Name: "p-web-1", Status: runtime.StatusRunning,
		Labels: map[string]string{"io.berth.service": "web", "tier": "front"}}
	row := newComposePsRow(c, time.Now())
	tests := []struct{ format, want string }{
		{`{{.Name}} {{.Label "tier"}}`, "p-web-1 front\n"},
		{`{{upper .Service}}|{{join (split .Name "-") "."}}`, "WEB|p.web.1\n"},
		{`table{{.Name}}`, "p-web-1\n"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if err := renderRows(&out, tt.format, []composePsRow{row}, nil, nil); err != nil {
			t.Fatalf("%s: %v", tt.format, err)
		}
		if out.String() != tt.want {
			t.Errorf("%s: got %q, want %q", tt.format, out.String(), tt.want)
		}
	}
}
