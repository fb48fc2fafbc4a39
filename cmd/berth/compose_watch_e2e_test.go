package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the writes of a child process and
// the reads of the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDevelopWatchEndToEnd runs `berth watch` (the built binary, as root,
// on runc) on a stack with develop.watch rules: a synced file is in the
// container within a second and a deleted one goes, ignored files do
// nothing, sync+exec runs its command, restart restarts, a rebuild path
// rebuilds and recreates only its service, an edit of the stack file with
// an edit of a source file at the same moment both take effect (the
// recreated container gets the synced files back), and a sync that fails
// (the service is stopped) is reported and lands once it runs again.
func TestDevelopWatchEndToEnd(t *testing.T) {
	busybox, dir, short := e2eRoot(t)
	stackDir := filepath.Join(dir, "stack")
	if err := os.MkdirAll(stackDir, 0o755); err != nil {
		t.Fatal(err)
	}
	st := newE2EStack(t, busybox, dir, short, stackDir, "wdev", "wdev-busybox:1")
	stack, berth := st.name, st.berth
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(stackDir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stackFile := func(level string) string {
		return fmt.Sprintf(`name: %s
services:
  web:
    image: wdev-busybox:1
    network_mode: none
    environment: {LEVEL: %s}
    command: ["sh", "-c", "echo x >> /starts; trap 'exit 0' TERM; while true; do sleep 0.2; done"]
    develop:
      watch:
        - {path: ./src, action: sync, target: /app, ignore: ["*.tmp"]}
        - {path: ./hook, action: sync+exec, target: /hook, exec: {command: ["sh", "-c", "cat /hook/* > /hook.out"]}}
        - {path: ./restart.txt, action: restart}
  api:
    build: ./api
    image: wdev-api-%s:1
    network_mode: none
    develop:
      watch:
        - {path: ./api, action: rebuild}
`, stack, level, stack)
	}
	write("src/keep.txt", "keep")
	write("hook/.keep", "")
	write("api/Dockerfile", "FROM wdev-busybox:1\nCOPY . /api\nCMD [\"sh\", \"-c\", \"trap 'exit 0' TERM; while true; do sleep 0.2; done\"]\n")
	write("api/v.txt", "1")
	write("compose.yaml", stackFile("one"))

	var log syncBuffer
	watcher := st.cmd("watch", "--progress", "plain")
	watcher.Stdout, watcher.Stderr = &log, &log
	if err := watcher.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		watcher.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- watcher.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			watcher.Process.Kill()
			<-done
		}
		// newE2EStack's cleanup takes the stack down after this one.
		if t.Failed() {
			t.Logf("berth watch:\n%s", log.String())
		}
	})
	// waitFor polls cond until it holds or d passes.
	waitFor := func(what string, d time.Duration, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(d); ; time.Sleep(10 * time.Millisecond) {
			if cond() {
				return
			}
			if time.Now().After(end) {
				t.Fatalf("%s: not within %v", what, d)
			}
		}
	}
	waitFor("berth watch started", 60*time.Second, func() bool { return strings.Contains(log.String(), "develop.watch paths") })

	id := func(service string) string {
		t.Helper()
		out, err := berth("inspect", "-f", "{{.Id}}", stack+"-"+service+"-1")
		if err != nil {
			t.Fatalf("inspect %s: %v\n%s", service, err, out)
		}
		return strings.TrimSpace(out)
	}
	// inWeb reads a file as web's container sees it: its live root
	// filesystem (cheap enough to poll every 10 ms).
	// The container's ID is looked up again only when a read fails (it
	// may have been recreated), not at every poll.
	webID := id("web")
	inWeb := func(p string) (string, bool) {
		data, err := os.ReadFile(filepath.Join(st.run, webID, "rootfs", p))
		if err != nil {
			if out, ierr := berth("inspect", "-f", "{{.Id}}", stack+"-web-1"); ierr == nil {
				webID = strings.TrimSpace(out)
				data, err = os.ReadFile(filepath.Join(st.run, webID, "rootfs", p))
			}
		}
		return string(data), err == nil
	}
	execWeb := func(script string) string {
		t.Helper()
		out, err := berth("compose", "exec", "-T", "web", "sh", "-c", script)
		if err != nil {
			t.Fatalf("exec %q: %v\n%s", script, err, out)
		}
		return out
	}

	t.Run("sync", func(t *testing.T) {
		write("src/a.txt", "one")
		waitFor("a.txt synced", 5*time.Second, func() bool { s, _ := inWeb("app/a.txt"); return s == "one" })
		write("src/d/b.txt", "bee")
		waitFor("d/b.txt synced", 5*time.Second, func() bool { s, _ := inWeb("app/d/b.txt"); return s == "bee" })
		if out := execWeb("cat /app/a.txt /app/d/b.txt"); out != "onebee" {
			t.Errorf("the container sees %q", out)
		}
		os.Remove(filepath.Join(stackDir, "src", "a.txt"))
		waitFor("a.txt deleted", 5*time.Second, func() bool { _, ok := inWeb("app/a.txt"); return !ok })
	})
	t.Run("ignored", func(t *testing.T) {
		write("src/x.tmp", "ignored")
		write("src/c.txt", "sea")
		waitFor("c.txt synced", 5*time.Second, func() bool { s, _ := inWeb("app/c.txt"); return s == "sea" })
		if _, ok := inWeb("app/x.tmp"); ok {
			t.Error("an ignored file was synced")
		}
	})
	t.Run("sync+exec", func(t *testing.T) {
		write("hook/h.txt", "hooked")
		waitFor("exec ran", 5*time.Second, func() bool { s, _ := inWeb("hook.out"); return s == "hooked" })
	})
	t.Run("restart", func(t *testing.T) {
		before := id("web")
		write("restart.txt", "1")
		waitFor("web restarted", 10*time.Second, func() bool { s, _ := inWeb("starts"); return s == "x\nx\n" })
		if after := id("web"); after != before {
			t.Errorf("restart recreated web: %s -> %s", before, after)
		}
	})
	t.Run("rebuild", func(t *testing.T) {
		web, api := id("web"), id("api")
		write("api/v.txt", "2")
		waitFor("api recreated", 30*time.Second, func() bool {
			out, err := berth("inspect", "-f", "{{.Id}}", stack+"-api-1")
			return err == nil && strings.TrimSpace(out) != api
		})
		if id("web") != web {
			t.Error("a rebuild of api recreated web")
		}
		waitFor("api running the new image", 10*time.Second, func() bool {
			out, err := berth("compose", "exec", "-T", "api", "cat", "/api/v.txt")
			return err == nil && out == "2"
		})
	})
	t.Run("stack and source edits together", func(t *testing.T) {
		before := id("web")
		write("compose.yaml", stackFile("two"))
		write("src/e.txt", "eee")
		waitFor("web recreated", 20*time.Second, func() bool {
			out, err := berth("inspect", "-f", "{{.Id}}", stack+"-web-1")
			return err == nil && strings.TrimSpace(out) != before
		})
		// The new container has the new environment, the file of the same
		// moment and the files synced before it was made.
		waitFor("files back in the new container", 5*time.Second, func() bool {
			e, _ := inWeb("app/e.txt")
			b, _ := inWeb("app/d/b.txt")
			return e == "eee" && b == "bee"
		})
		if out := execWeb("echo $LEVEL; cat /app/e.txt"); out != "two\neee" {
			t.Errorf("web after both edits: %q", out)
		}
	})
	t.Run("a failed sync is retried", func(t *testing.T) {
		if out, err := berth("compose", "stop", "-t", "0", "web"); err != nil {
			t.Fatalf("stop: %v\n%s", err, out)
		}
		write("src/late.txt", "late")
		waitFor("the failure reported", 5*time.Second, func() bool {
			return strings.Contains(log.String(), "no running container of service web") && strings.Contains(log.String(), "retrying")
		})
		if out, err := berth("compose", "start", "web"); err != nil {
			t.Fatalf("start: %v\n%s", err, out)
		}
		waitFor("late.txt synced once web runs", 5*time.Second, func() bool { s, _ := inWeb("app/late.txt"); return s == "late" })
	})
}
