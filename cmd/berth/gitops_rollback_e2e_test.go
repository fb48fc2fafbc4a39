//go:build !lean

package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestGitopsRollbackEndToEnd runs the built berth on runc: with --wait, a
// commit whose healthcheck fails is rolled back (the service runs the last
// good commit's configuration again, healthy, the other service is not
// touched), the status says so, a later good commit applies, and berth
// boot brings the stack back after its containers stopped.
func TestGitopsRollbackEndToEnd(t *testing.T) {
	busybox, dir, short := e2eRoot(t)
	st := newE2EStack(t, busybox, dir, short, dir, "grb", "grb-busybox:1")
	stack, berth := st.name, st.berth
	stackFile := func(level, check string) string {
		return fmt.Sprintf(`name: %s
services:
  web:
    image: grb-busybox:1
    network_mode: none
    stop_signal: SIGKILL
    environment: {LEVEL: %s}
    command: ["sh", "-c", "while true; do sleep 0.2; done"]
    healthcheck: {test: ["CMD-SHELL", "%s"], interval: 200ms, timeout: 2s, retries: 1, start_period: 0s}
  db:
    image: grb-busybox:1
    network_mode: none
    stop_signal: SIGKILL
    command: ["sh", "-c", "while true; do sleep 0.2; done"]
`, stack, level, check)
	}
	g := newGitRemote(t)
	sync := func() (string, error) {
		return berth("gitops", "--repo", g.url, "--once", "--wait", "--wait-timeout", "30s", "--progress", "quiet")
	}
	ids := func() map[string]string {
		out, err := berth("compose", "-p", stack, "ps", "-a", "--format", "{{.Name}}={{.ID}}")
		if err != nil {
			t.Fatalf("ps: %v\n%s", err, out)
		}
		m := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if k, v, ok := strings.Cut(l, "="); ok {
				m[k] = v
			}
		}
		return m
	}
	level := func() string {
		out, err := berth("compose", "-p", stack, "exec", "-T", "web", "sh", "-c", "echo $LEVEL")
		if err != nil {
			t.Fatalf("exec: %v\n%s", err, out)
		}
		return strings.TrimSpace(out)
	}

	good := g.commit(t, map[string]string{"app/compose.yaml": stackFile("good", "exit 0")})
	if out, err := sync(); err != nil {
		t.Fatalf("good commit: %v\n%s", err, out)
	}
	before := ids()
	bad := g.commit(t, map[string]string{"app/compose.yaml": stackFile("bad", "exit 1")})
	out, err := sync()
	if err == nil || !strings.Contains(out, "unhealthy") || !strings.Contains(out, "rolled back to commit "+good[:12]) {
		t.Fatalf("bad commit: %v\n%s", err, out)
	}
	if got := level(); got != "good" {
		t.Errorf("web runs LEVEL=%s after the rollback, want good", got)
	}
	after := ids()
	if after[stack+"-db-1"] != before[stack+"-db-1"] {
		t.Errorf("the rollback touched db: before %v after %v", before, after)
	}
	if out, err := berth("inspect", "-f", "{{.State.Health.Status}}", stack+"-web-1"); err != nil || strings.TrimSpace(out) != "healthy" {
		t.Errorf("web after the rollback: %v %q", err, out)
	}
	if out, err := berth("gitops", "status", "--format", "json"); err != nil || !strings.Contains(out, `"rolled_back": "`+bad+`"`) {
		t.Errorf("status: %v\n%s", err, out)
	}
	g.commit(t, map[string]string{"app/compose.yaml": stackFile("fixed", "exit 0")})
	if out, err := sync(); err != nil {
		t.Fatalf("fixed commit: %v\n%s", err, out)
	}
	if got := level(); got != "fixed" {
		t.Errorf("web runs LEVEL=%s after the fix, want fixed", got)
	}

	// A reboot: berth boot brings the gitops stack back as it was, without
	// recreating anything.
	before = ids()
	if out, err := berth("compose", "-p", stack, "stop", "-t", "0"); err != nil {
		t.Fatalf("stop: %v\n%s", err, out)
	}
	if out, err := berth("boot", "--progress", "quiet"); err != nil {
		t.Fatalf("boot: %v\n%s", err, out)
	}
	if after := ids(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("boot recreated containers: before %v after %v", before, after)
	}
	if got := level(); got != "fixed" {
		t.Errorf("web runs LEVEL=%s after boot, want fixed", got)
	}
}
