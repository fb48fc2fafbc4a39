//go:build !lean

package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestGitopsEndToEnd runs the built berth on runc: a commit brings a stack
// up, a commit changing one service's environment recreates exactly it, a
// container removed by hand comes back, a restarted follower changes
// nothing, and --prune takes the stack down when its folder goes.
func TestGitopsEndToEnd(t *testing.T) {
	busybox, dir, short := e2eRoot(t)
	st := newE2EStack(t, busybox, dir, short, dir, "gops", "gops-busybox:1")
	stack, berth := st.name, st.berth
	stackFile := func(level string) string {
		return fmt.Sprintf(`name: %s
services:
  web:
    image: gops-busybox:1
    network_mode: none
    environment: {LEVEL: %s}
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
  db:
    image: gops-busybox:1
    network_mode: none
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
`, stack, level)
	}
	g := newGitRemote(t)
	sync := func(extra ...string) string {
		t.Helper()
		out, err := berth(append([]string{"gitops", "--repo", g.url, "--once"}, extra...)...)
		if err != nil {
			t.Fatalf("gitops: %v\n%s", err, out)
		}
		return out
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

	g.commit(t, map[string]string{"stacks/app/compose.yaml": stackFile("info")})
	sync()
	before := ids()
	if before[stack+"-web-1"] == "" || before[stack+"-db-1"] == "" {
		t.Fatalf("stack not up: %v", before)
	}
	if out := sync(); strings.Contains(out, "Plan:") {
		t.Errorf("a restarted follower changed something:\n%s", out)
	}
	g.commit(t, map[string]string{"stacks/app/compose.yaml": stackFile("debug")})
	sync()
	after := ids()
	if after[stack+"-web-1"] == before[stack+"-web-1"] || after[stack+"-db-1"] != before[stack+"-db-1"] {
		t.Errorf("want exactly web recreated: before %v after %v", before, after)
	}
	if out, err := berth("rm", "-f", stack+"-db-1"); err != nil {
		t.Fatalf("rm: %v\n%s", err, out)
	}
	if out := sync(); !strings.Contains(out, "repaired drift") {
		t.Errorf("drift not repaired:\n%s", out)
	}
	if ids()[stack+"-db-1"] == "" {
		t.Error("db not recreated")
	}
	g.commit(t, map[string]string{"stacks/app/": ""})
	sync("--prune")
	if m := ids(); len(m) != 0 {
		t.Errorf("stack left after --prune: %v", m)
	}
}
