package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/runtime/fake"
	"github.com/berth-dev/berth/runtime/runc"
)

// rootfsRuntime is the fake runtime with a root filesystem per container:
// a directory under dir, as WithRootfs gives the real one.
type rootfsRuntime struct {
	*fake.Runtime
	dir string
}

func (r *rootfsRuntime) WithRootfs(_ context.Context, id string, fn func(*runc.Record, string) error) error {
	d := filepath.Join(r.dir, id)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	return fn(&runc.Record{ID: id}, d)
}

const developStack = `name: demo
services:
  web:
    image: nginx:1.27
    develop:
      watch:
        - {path: ./src, action: sync, target: /app}
        - {path: ./hooks, action: sync+exec, target: /hooks, exec: {command: ["reload"]}}
        - {path: ./restart.txt, action: restart}
  db:
    image: postgres:16
`

// TestWatchDevelop runs berth watch in process on the fakes: a sync lands
// in the container's root filesystem, an exec hook that exits non-zero is
// reported once and not retried, restart restarts web alone, and a sync
// with no running container is reported and retried until web runs.
func TestWatchDevelop(t *testing.T) {
	s := newTestStack(t, developStack)
	rt := &rootfsRuntime{Runtime: s.rt, dir: t.TempDir()}
	s.world.Runtime = rt
	for _, d := range []string{"src", "hooks"} {
		os.MkdirAll(filepath.Join(s.dir, d), 0o755)
	}
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
		for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	write := func(p, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(s.dir, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	inWeb := func(p string) string {
		data, _ := os.ReadFile(filepath.Join(rt.dir, s.container(t, "demo-web-1").ID, p))
		return string(data)
	}
	waitFor("the first apply", func() bool { return len(s.ids(t)) == 2 })
	web := s.container(t, "demo-web-1").ID
	time.Sleep(100 * time.Millisecond) // let the watchers start

	write("src/a.txt", "a")
	waitFor("a.txt synced", func() bool { return inWeb("app/a.txt") == "a" })

	write("hooks/h", "h")
	waitFor("the hook ran", func() bool {
		s.ctl.mu.Lock()
		defer s.ctl.mu.Unlock()
		return slices.Contains(s.ctl.calls, "exec "+web+" reload")
	})
	if inWeb("hooks/h") != "h" {
		t.Error("the hook ran before its sync")
	}

	mu.Lock()
	started = nil
	mu.Unlock()
	write("restart.txt", "1")
	waitFor("web restarted", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(started, web)
	})

	// No running container: reported and retried, not dropped.
	if err := s.rt.Stop(t.Context(), web, nil); err != nil {
		t.Fatal(err)
	}
	write("src/late.txt", "late")
	time.Sleep(300 * time.Millisecond)
	if err := s.rt.Start(t.Context(), web); err != nil {
		t.Fatal(err)
	}
	waitFor("late.txt synced once web runs", func() bool { return inWeb("app/late.txt") == "late" })

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("watch: %v", err)
	}
	mu.Lock()
	for _, id := range started {
		if id != web {
			t.Errorf("started %s, not web", id)
		}
	}
	mu.Unlock()
	s.ctl.mu.Lock()
	if n := strings.Count(strings.Join(s.ctl.calls, "\n"), "reload"); n != 1 {
		t.Errorf("the failing hook ran %d times, want 1 (not retried)", n)
	}
	s.ctl.mu.Unlock()
	for _, want := range []string{"Watching 3 develop.watch paths", "exec [reload]: demo-web-1: exit status 7", "no running container of service web", "retrying"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("watch output lacks %q:\n%s", want, errOut)
		}
	}
}
