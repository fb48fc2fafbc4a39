package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGitopsEndToEnd runs the built berth on runc: a commit brings a stack
// up, a commit changing one service's environment recreates exactly it, a
// container removed by hand comes back, a restarted follower changes
// nothing, and --prune takes the stack down when its folder goes.
func TestGitopsEndToEnd(t *testing.T) {
	busybox, dir, short := e2eRoot(t)
	root, run := filepath.Join(dir, "root"), filepath.Join(short, "run")
	stack := fmt.Sprintf("gops%d", time.Now().UnixNano()%1_000_000)
	berth := func(args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(filepath.Join(dir, "berth"), append([]string{"--root", root, "--run-root", run}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() {
		if out, err := berth("down", "-v", "-t", "0", "-p", stack, "--progress", "quiet"); err != nil {
			t.Errorf("cleanup: %v\n%s", err, out)
		}
	})
	image := filepath.Join(dir, "busybox.tar")
	if err := busyboxTar(busybox, image); err != nil {
		t.Fatal(err)
	}
	if out, err := berth("import", "-c", `CMD ["sh"]`, image, "gops-busybox:1"); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
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
