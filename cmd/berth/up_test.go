package main

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/images/build"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/fake"
)

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

type fakePuller struct {
	im     fake.Images
	mu     sync.Mutex
	pulled []string
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
	t.Run("abort on failure", func(t *testing.T) {
		s := newTestStack(t, demoStack)
		ctx, stop := context.WithCancel(t.Context())
		defer stop()
		go exitWhenStarted(ctx, s, map[string]int{"demo-db-1": 0, "demo-web-1": 2})
		_, errOut, err := s.runContext(ctx, "up", "-f", s.file(), "--abort-on-container-failure", "--progress", "quiet")
		if exitCode(err) != 2 || !strings.Contains(errOut, "demo-web-1 exited with code 2") {
			t.Errorf("exit status %d (%v), want web's 2\n%s", exitCode(err), err, errOut)
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

type fakeBuilder struct {
	im    fake.Images
	built []build.Options
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
