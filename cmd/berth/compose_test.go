package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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

func TestUpCreatesThenNoop(t *testing.T) {
	s := newTestStack(t, demoStack)
	out, errOut, err := s.run(t, "up", "-d", "-f", s.file(), "--progress", "plain")
	if err != nil {
		t.Fatalf("up: %v\n%s", err, errOut)
	}
	for _, want := range []string{"+ network demo_default (create): used by db, web", "+ volume demo_data (create): used by db",
		"+ db-1 (create): new service", "+ web-1 (create): new service", "Plan: 4 to create."} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	for _, want := range []string{"Network demo_default  Created", "Container demo-db-1  Started", "Container demo-web-1  Created", "Container demo-web-1  Started"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("progress lacks %q:\n%s", want, errOut)
		}
	}
	if c := s.container(t, "demo-web-1"); c.Status != runtime.StatusRunning {
		t.Errorf("web status %s", c.Status)
	}
	before := s.ids(t)
	out, errOut, err = s.run(t, "up", "-d", "-f", s.file(), "--progress", "plain")
	if err != nil {
		t.Fatalf("second up: %v", err)
	}
	if out != "No changes: stack demo is up to date.\n" || errOut != "" {
		t.Errorf("second up printed %q, %q", out, errOut)
	}
	if diff := cmp.Diff(before, s.ids(t)); diff != "" {
		t.Errorf("no-op up changed containers:\n%s", diff)
	}
}

func TestUpRecreatesExactlyOnChange(t *testing.T) {
	s := newTestStack(t, demoStack)
	if _, _, err := s.run(t, "up", "-d", "-f", s.file()); err != nil {
		t.Fatal(err)
	}
	before := s.ids(t)
	s.write(t, strings.Replace(demoStack, "LOG_LEVEL: info", "LOG_LEVEL: debug", 1))
	out, _, err := s.run(t, "up", "-d", "-f", s.file(), "--progress", "quiet")
	if err != nil {
		t.Fatal(err)
	}
	if out != "" {
		t.Errorf("quiet up printed %q", out)
	}
	after := s.ids(t)
	if after["demo-web-1"] == before["demo-web-1"] {
		t.Error("web was not recreated")
	}
	if after["demo-db-1"] != before["demo-db-1"] {
		t.Error("db was recreated without a change")
	}
	// The plan names the field that forced the recreate.
	s.write(t, demoStack)
	out, _, err = s.run(t, "up", "-d", "-f", s.file())
	if err != nil {
		t.Fatal(err)
	}
	if want := `~ web-1 (recreate): environment.LOG_LEVEL "debug" => "info"`; !strings.Contains(out, want) {
		t.Errorf("plan lacks %q:\n%s", want, out)
	}
}

func TestUpOrphansAndScale(t *testing.T) {
	s := newTestStack(t, demoStack)
	if _, _, err := s.run(t, "up", "-d", "-f", s.file(), "--scale", "web=3"); err != nil {
		t.Fatal(err)
	}
	names := func() []string {
		var out []string
		for n := range s.ids(t) {
			out = append(out, n)
		}
		slices.Sort(out)
		return out
	}
	if diff := cmp.Diff([]string{"demo-db-1", "demo-web-1", "demo-web-2", "demo-web-3"}, names()); diff != "" {
		t.Errorf("after scale up:\n%s", diff)
	}
	if _, _, err := s.run(t, "compose", "-f", s.file(), "scale", "web=1"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"demo-db-1", "demo-web-1"}, names()); diff != "" {
		t.Errorf("after scale down:\n%s", diff)
	}

	// web leaves the stack: an orphan, kept until --remove-orphans.
	s.write(t, "name: demo\nservices:\n  db:\n    image: postgres:16\n    volumes: [data:/var/lib/postgresql/data]\nvolumes:\n  data: {}\n")
	out, _, err := s.run(t, "up", "-d", "-f", s.file())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "! orphan container demo-web-1 (service web) kept; --remove-orphans removes it") {
		t.Errorf("no orphan note:\n%s", out)
	}
	out, _, err = s.run(t, "up", "-d", "-f", s.file(), "--remove-orphans")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "- web-1 (remove): orphan") {
		t.Errorf("orphan not removed:\n%s", out)
	}
	if diff := cmp.Diff([]string{"demo-db-1"}, names()); diff != "" {
		t.Errorf("after --remove-orphans:\n%s", diff)
	}
}

func TestUpNoStart(t *testing.T) {
	s := newTestStack(t, demoStack)
	if _, _, err := s.run(t, "up", "--no-start", "-f", s.file()); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"demo-web-1", "demo-db-1"} {
		if c := s.container(t, n); c.Status != runtime.StatusCreated {
			t.Errorf("%s is %s, want created", n, c.Status)
		}
	}
	if _, _, err := s.run(t, "compose", "-f", s.file(), "start"); err != nil {
		t.Fatal(err)
	}
	if c := s.container(t, "demo-web-1"); c.Status != runtime.StatusRunning {
		t.Errorf("after start, web is %s", c.Status)
	}
}

const healthStack = `name: demo
services:
  web:
    image: nginx:1.27
    depends_on:
      db: {condition: service_healthy}
      init: {condition: service_completed_successfully}
  init:
    image: busybox
  db:
    image: postgres:16
    healthcheck: {test: ["CMD", "pg_isready"]}
`

func TestUpWait(t *testing.T) {
	s := newTestStack(t, healthStack, fake.WithHealthOnStart("starting"))
	// What the monitors would do: the init container completes, db's
	// healthcheck passes after a while.
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	go func() {
		for i := 0; ctx.Err() == nil; i++ {
			cs, _ := s.rt.List(ctx)
			for _, c := range cs {
				switch {
				case c.Name == "demo-init-1" && c.Status == runtime.StatusRunning:
					s.rt.Update(c.ID, func(c *runtime.Container) { c.Status, c.ExitCode = runtime.StatusExited, 0 })
				case c.Name == "demo-db-1" && c.Status == runtime.StatusRunning && i > 5:
					s.rt.Update(c.ID, func(c *runtime.Container) { c.Health = "healthy" })
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	_, errOut, err := s.runContext(ctx, "up", "--wait", "-f", s.file(), "--progress", "plain")
	if err != nil {
		t.Fatalf("up --wait: %v\n%s", err, errOut)
	}
	for _, want := range []string{"Container demo-db-1  Healthy", "Container demo-init-1  Exited", "Container demo-web-1  Running"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("progress lacks %q:\n%s", want, errOut)
		}
	}
}

func TestUpWaitFails(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		s := newTestStack(t, healthStack, fake.WithHealthOnStart("starting"))
		s.write(t, "name: demo\nservices:\n  db:\n    image: postgres:16\n    healthcheck: {test: [\"CMD\", \"pg_isready\"]}\n")
		_, _, err := s.run(t, "up", "--wait", "--wait-timeout", "1", "-f", s.file())
		if err == nil || !strings.Contains(err.Error(), "demo-db-1 not ready") || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want demo-db-1 not ready after the deadline", err)
		}
	})
	t.Run("unhealthy", func(t *testing.T) {
		s := newTestStack(t, healthStack, fake.WithHealthOnStart("unhealthy"))
		s.write(t, "name: demo\nservices:\n  db:\n    image: postgres:16\n    healthcheck: {test: [\"CMD\", \"pg_isready\"]}\n")
		_, _, err := s.run(t, "up", "--wait", "-f", s.file())
		if !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "demo-db-1 is unhealthy") {
			t.Errorf("err = %v, want db unhealthy", err)
		}
	})
}

func TestUpMissingImage(t *testing.T) {
	s := newTestStack(t, strings.Replace(demoStack, "nginx:1.27", "nginx:9", 1))
	for _, pull := range []string{"missing", "never"} {
		_, _, err := s.run(t, "up", "-d", "--pull", pull, "-f", s.file())
		if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "image nginx:9 of service web is not present locally") {
			t.Errorf("--pull %s: err = %v", pull, err)
		}
	}
	if ids := s.ids(t); len(ids) != 0 {
		t.Errorf("a failed up created %v", ids)
	}
	nets, _ := s.nets.List(t.Context())
	if len(nets) != 0 {
		t.Errorf("a failed up created networks %v", nets)
	}
}

// fakePuller "pulls" by giving the image an ID in the fake store.
type fakePuller struct {
	im     fake.Images
	mu     sync.Mutex
	pulled []string
}

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

func TestUpPulls(t *testing.T) {
	s := newTestStack(t, strings.Replace(demoStack, "nginx:1.27", "nginx:9", 1))
	puller := &fakePuller{im: s.im}
	s.world.Puller = puller
	if _, _, err := s.run(t, "up", "-d", "-f", s.file(), "--pull", "never"); !errdefs.IsNotFound(err) {
		t.Errorf("--pull never: err = %v", err)
	}
	_, errOut, err := s.run(t, "up", "-d", "-f", s.file(), "--progress", "plain")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"nginx:9"}, puller.pulled); diff != "" {
		t.Errorf("pulled (-want +got):\n%s", diff)
	}
	if !strings.Contains(errOut, "Image nginx:9  Pulled") || s.container(t, "demo-web-1").ImageID != s.im["nginx:9"] {
		t.Errorf("up did not run the pulled image:\n%s", errOut)
	}
	puller.pulled = nil
	if _, _, err := s.run(t, "compose", "-f", s.file(), "pull"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"nginx:9", "postgres:16"}, slices.Sorted(slices.Values(puller.pulled))); diff != "" {
		t.Errorf("compose pull (-want +got):\n%s", diff)
	}
	s.write(t, "name: demo\nservices:\n  web:\n    image: nope:1\n")
	if _, _, err := s.run(t, "up", "-d", "-f", s.file()); err == nil || !strings.Contains(err.Error(), "manifest unknown") {
		t.Errorf("failed pull: err = %v", err)
	}
}

func TestUpFlagErrors(t *testing.T) {
	s := newTestStack(t, demoStack)
	for _, args := range [][]string{
		{"-d", "--abort-on-container-exit"},
		{"--force-recreate", "--no-recreate"},
		{"--progress", "fancy"},
		{"--scale", "web"},
		{"--pull", "sometimes"},
	} {
		_, _, err := s.run(t, append([]string{"up", "-f", s.file()}, args...)...)
		if !errdefs.IsInvalidArgument(err) {
			t.Errorf("%v: err = %v, want invalid argument", args, err)
		}
	}
	if _, _, err := s.run(t, "up", "-d", "-f", s.file(), "nope"); err == nil || !strings.Contains(err.Error(), "no such service: nope") {
		t.Errorf("unknown service: err = %v", err)
	}
}

func TestUpForeground(t *testing.T) {
	t.Run("all exit", func(t *testing.T) {
		s := newTestStack(t, demoStack)
		ctx, stop := context.WithCancel(t.Context())
		defer stop()
		go exitWhenStarted(ctx, s, map[string]int{"demo-web-1": 0, "demo-db-1": 0})
		out, errOut, err := s.runContext(ctx, "up", "-f", s.file(), "--progress", "quiet")
		if err != nil {
			t.Fatalf("up: %v\n%s", err, errOut)
		}
		web, db := s.container(t, "demo-web-1"), s.container(t, "demo-db-1")
		for _, want := range []string{"web-1 | hello from " + web.ID, "db-1  | hello from " + db.ID} {
			if !strings.Contains(out, want) {
				t.Errorf("logs lack %q:\n%s", want, out)
			}
		}
	})
	t.Run("exit code from", func(t *testing.T) {
		s := newTestStack(t, demoStack)
		ctx, stop := context.WithCancel(t.Context())
		defer stop()
		go exitWhenStarted(ctx, s, map[string]int{"demo-web-1": 3})
		_, errOut, err := s.runContext(ctx, "up", "-f", s.file(), "--exit-code-from", "web", "--no-log-prefix")
		if exitCode(err) != 3 {
			t.Errorf("exit status %d (%v), want 3\n%s", exitCode(err), err, errOut)
		}
		if c := s.container(t, "demo-db-1"); c.Status != runtime.StatusExited {
			t.Errorf("db is %s after the abort, want exited", c.Status)
		}
	})
	t.Run("ctrl-c", func(t *testing.T) {
		s := newTestStack(t, demoStack)
		go func() {
			for {
				cs, _ := s.rt.List(t.Context())
				for _, c := range cs {
					if c.Name == "demo-web-1" && c.Status == runtime.StatusRunning {
						s.sigs <- os.Interrupt
						return
					}
				}
				time.Sleep(time.Millisecond)
			}
		}()
		_, errOut, err := s.run(t, "up", "-f", s.file(), "--progress", "quiet")
		if exitCode(err) != 130 || !strings.Contains(errOut, "Gracefully stopping...") {
			t.Errorf("exit status %d (%v), want 130\n%s", exitCode(err), err, errOut)
		}
		for _, n := range []string{"demo-web-1", "demo-db-1"} {
			if c := s.container(t, n); c.Status != runtime.StatusExited {
				t.Errorf("%s is %s after Ctrl-C", n, c.Status)
			}
		}
	})
}

// exitWhenStarted makes the named containers exit with their codes once
// they run, as their processes would.
func exitWhenStarted(ctx context.Context, s *testStack, codes map[string]int) {
	for ctx.Err() == nil {
		cs, _ := s.rt.List(ctx)
		for _, c := range cs {
			if code, ok := codes[c.Name]; ok && c.Status == runtime.StatusRunning {
				s.rt.Update(c.ID, func(c *runtime.Container) { c.Status, c.ExitCode = runtime.StatusExited, code })
			}
		}
		time.Sleep(time.Millisecond)
	}
}

const chainStack = `name: demo
services:
  web: {image: nginx:1.27, depends_on: [api]}
  api: {image: nginx:1.27, depends_on: [db]}
  db:
    image: postgres:16
    volumes: [data:/data]
volumes:
  data: {}
`

func TestDown(t *testing.T) {
	// stopped records the order containers stop in.
	var mu sync.Mutex
	var stopped []string
	hook := func(call fake.Call, key string) error {
		if call == fake.CallStop {
			mu.Lock()
			stopped = append(stopped, key)
			mu.Unlock()
		}
		return nil
	}
	s := newTestStack(t, chainStack, fake.WithHook(hook))
	if _, _, err := s.run(t, "up", "-d", "-f", s.file()); err != nil {
		t.Fatal(err)
	}
	ids := s.ids(t)
	stopped = nil
	out, errOut, err := s.run(t, "down", "-f", s.file(), "--progress", "plain")
	if err != nil {
		t.Fatalf("down: %v\n%s", err, errOut)
	}
	if diff := cmp.Diff([]string{ids["demo-web-1"], ids["demo-api-1"], ids["demo-db-1"]}, stopped); diff != "" {
		t.Errorf("stop order (-want +got):\n%s", diff)
	}
	if !strings.Contains(out, "Plan: 4 to remove.") || !strings.Contains(errOut, "Container demo-web-1  Removed") {
		t.Errorf("down output:\n%s\n%s", out, errOut)
	}
	if len(s.ids(t)) != 0 {
		t.Errorf("containers left: %v", s.ids(t))
	}
	vols, _ := s.vols.List(t.Context())
	if len(vols) != 1 {
		t.Errorf("down without -v removed the volume: %v", vols)
	}
	nets, _ := s.nets.List(t.Context())
	if len(nets) != 0 {
		t.Errorf("networks left: %v", nets)
	}

	// -v removes the volume; nothing left to do after.
	out, _, err = s.run(t, "down", "-v", "-f", s.file())
	if err != nil || !strings.Contains(out, "- volume demo_data (remove): down (--volumes)") {
		t.Errorf("down -v: %v\n%s", err, out)
	}
	out, _, err = s.run(t, "down", "-f", s.file())
	if err != nil || out != "No changes: stack demo has nothing to remove.\n" {
		t.Errorf("down of nothing: %v %q", err, out)
	}
}

func TestDownOrphansAndRmi(t *testing.T) {
	s := newTestStack(t, chainStack)
	if _, _, err := s.run(t, "up", "-d", "-f", s.file()); err != nil {
		t.Fatal(err)
	}
	s.write(t, "name: demo\nservices:\n  db:\n    image: postgres:16\n    volumes: [data:/data]\nvolumes:\n  data: {}\n")
	out, _, err := s.run(t, "down", "-f", s.file(), "--rmi", "all")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "! orphan container demo-web-1 (service web) kept") || len(s.ids(t)) != 2 {
		t.Errorf("orphans not kept:\n%s\n%v", out, s.ids(t))
	}
	if diff := cmp.Diff([]string{"postgres:16"}, s.rmi.removed); diff != "" {
		t.Errorf("--rmi all removed (-want +got):\n%s", diff)
	}
	if _, _, err := s.run(t, "down", "-f", s.file(), "--remove-orphans"); err != nil {
		t.Fatal(err)
	}
	if len(s.ids(t)) != 0 {
		t.Errorf("left after --remove-orphans: %v", s.ids(t))
	}
}

func TestDownWithoutStackFile(t *testing.T) {
	s := newTestStack(t, chainStack)
	if _, _, err := s.run(t, "up", "-d", "-f", s.file()); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(s.file()); err != nil {
		t.Fatal(err)
	}
	t.Chdir(s.dir)
	out, _, err := s.run(t, "down", "-p", "demo", "-v")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Plan: 5 to remove.") {
		t.Errorf("down -p:\n%s", out)
	}
	if len(s.ids(t)) != 0 {
		t.Errorf("left: %v", s.ids(t))
	}
	vols, _ := s.vols.List(t.Context())
	if len(vols) != 0 {
		t.Errorf("volumes left: %v", vols)
	}
	// Without -p there is no stack to name.
	if _, _, err := s.run(t, "down"); !errdefs.IsNotFound(err) {
		t.Errorf("down without a file or -p: err = %v", err)
	}
}

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

func TestUpSerialises(t *testing.T) {
	s := newTestStack(t, demoStack)
	lock, err := lockStack(t.Context(), s.g, "demo")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, _, err := s.runContext(ctx, "up", "-d", "-f", s.file()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("up while the stack is locked: err = %v, want it to wait", err)
	}
	if len(s.ids(t)) != 0 {
		t.Error("up changed the stack while another held its lock")
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

func TestWatch(t *testing.T) {
	s := newTestStack(t, demoStack)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	var errOut string
	go func() {
		var err error
		_, errOut, err = s.runContext(ctx, "watch", "-f", s.file(), "--progress", "quiet")
		done <- err
	}()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	id := func(name string) string {
		cs, _ := s.rt.List(t.Context())
		for _, c := range cs {
			if c.Name == name {
				return c.ID
			}
		}
		return ""
	}
	waitFor("the first apply", func() bool { return id("demo-web-1") != "" })
	web, db := id("demo-web-1"), id("demo-db-1")
	time.Sleep(50 * time.Millisecond) // let the watcher start

	// A bad edit changes nothing.
	s.write(t, strings.Replace(demoStack, `["8080:80"]`, `["8080:abc"]`, 1))
	time.Sleep(3 * watchDebounce)
	if id("demo-web-1") != web {
		t.Fatal("a broken edit changed the stack")
	}
	// Fixing it with a change recreates exactly web.
	s.write(t, strings.Replace(demoStack, "LOG_LEVEL: info", "LOG_LEVEL: debug", 1))
	waitFor("web to be recreated", func() bool { return id("demo-web-1") != web && id("demo-web-1") != "" })
	if id("demo-db-1") != db {
		t.Error("db was recreated")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("watch: %v", err)
	}
	if !strings.Contains(errOut, "invalid stack") || !strings.Contains(errOut, "Watching") {
		t.Errorf("watch stderr:\n%s", errOut)
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
type fakeBuilder struct {
	im    fake.Images
	built []build.Options
}

func (f *fakeBuilder) Build(_ context.Context, o build.Options) (string, error) {
	f.built = append(f.built, o)
	id := fmt.Sprintf("sha256:%064d", len(f.built))
	f.im[o.Tags[0]] = id
	return id, nil
}

func TestUpBuilds(t *testing.T) {
	s := newTestStack(t, "name: demo\nservices:\n  app:\n    build:\n      context: .\n      args: {V: \"1\"}\n")
	b := &fakeBuilder{im: s.im}
	s.world.Builder = b
	if _, _, err := s.run(t, "up", "-d", "--no-build", "-f", s.file()); !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "image demo-app of service app") {
		t.Errorf("--no-build of a missing image: %v", err)
	}
	if _, _, err := s.run(t, "up", "-d", "-f", s.file()); err != nil {
		t.Fatal(err)
	}
	if len(b.built) != 1 || b.built[0].ContextDir != s.dir || b.built[0].Args["V"] != "1" || b.built[0].Tags[0] != "demo-app" {
		t.Fatalf("built %+v", b.built)
	}
	if s.container(t, "demo-app-1").ImageID != s.im["demo-app"] {
		t.Error("the container does not run the built image")
	}
	// Present now: no build, no change; --build builds again and the new
	// image recreates the container.
	out, _, err := s.run(t, "up", "-d", "-f", s.file())
	if err != nil || len(b.built) != 1 || !strings.Contains(out, "No changes") {
		t.Errorf("second up: %v, %d builds\n%s", err, len(b.built), out)
	}
	out, _, err = s.run(t, "up", "-d", "--build", "-f", s.file())
	if err != nil || len(b.built) != 2 || !strings.Contains(out, "~ app-1 (recreate): image_id") {
		t.Errorf("up --build: %v, %d builds\n%s", err, len(b.built), out)
	}
	if _, _, err := s.run(t, "compose", "-f", s.file(), "build", "--build-arg", "V=2"); err != nil || len(b.built) != 3 || b.built[2].Args["V"] != "2" {
		t.Errorf("compose build: %v %+v", err, b.built)
	}
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

func TestBoot(t *testing.T) {
	s := newTestStack(t, "name: demo\nservices:\n  web:\n    image: nginx:1.27\n    depends_on: {db: {condition: service_healthy}}\n  db:\n    image: postgres:16\n    healthcheck: {test: [\"CMD\", \"true\"]}\n")
	stopAll := func() {
		cs, _ := s.rt.List(t.Context())
		for _, c := range cs {
			s.rt.Stop(t.Context(), c.ID, nil)
		}
	}
	if _, _, err := s.run(t, "up", "-d", "-f", s.file()); err != nil {
		t.Fatal(err)
	}
	// The reboot: every container stopped (the init one exited 0).
	stopAll()
	var mu sync.Mutex
	var started []string
	s.rt.SetHook(func(call fake.Call, key string) error {
		if call == fake.CallStart {
			mu.Lock()
			started = append(started, key)
			mu.Unlock()
		}
		return nil
	})
	_, errOut, err := s.run(t, "boot")
	if err != nil {
		t.Fatalf("boot: %v\n%s", err, errOut)
	}
	for _, n := range []string{"demo-web-1", "demo-db-1"} {
		if c := s.container(t, n); c.Status != runtime.StatusRunning {
			t.Errorf("%s is %s after boot", n, c.Status)
		}
	}
	// db before web: web waits for db healthy.
	if i, j := slices.Index(started, s.container(t, "demo-db-1").ID), slices.Index(started, s.container(t, "demo-web-1").ID); i < 0 || j < i {
		t.Errorf("start order %v", started)
	}
	// Down forgets the stack: nothing to boot.
	if _, _, err := s.run(t, "down", "-f", s.file()); err != nil {
		t.Fatal(err)
	}
	started = nil
	if _, _, err := s.run(t, "boot"); err != nil || len(started) != 0 {
		t.Errorf("boot after down: %v, started %v", err, started)
	}
	out, _, err := s.run(t, "systemd", "install", "--dry-run")
	if err != nil || !strings.Contains(out, " boot --progress plain") || !strings.Contains(out, "WantedBy=multi-user.target") {
		t.Errorf("systemd unit: %v\n%s", err, out)
	}
}
