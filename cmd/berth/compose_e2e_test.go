package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStackEndToEnd runs the built binary as root on real containers
// (runc, the berth-shim monitor, overlayfs): up, a no-op up, a change that
// recreates exactly one service, compose ps/ls/logs/exec, and down -v
// leaving nothing behind. Its containers use network_mode: none, so it
// needs no CNI.
func TestStackEndToEnd(t *testing.T) {
	busybox, dir, short := e2eRoot(t)
	stackDir := filepath.Join(dir, "stack")
	if err := os.MkdirAll(stackDir, 0o755); err != nil {
		t.Fatal(err)
	}
	st := newE2EStack(t, busybox, dir, short, stackDir, "e2e", "e2e-busybox:1", "E2E_TOKEN=t0k3n")
	stack, berth := st.name, st.berth
	write := func(level string) {
		t.Helper()
		content := fmt.Sprintf(`name: %s
services:
  web:
    image: e2e-busybox:1
    network_mode: none
    environment: {LEVEL: %s}
    command: ["sh", "-c", "echo web $$LEVEL; trap 'exit 0' TERM; while true; do sleep 1; done"]
    depends_on: [db]
  db:
    image: e2e-busybox:1
    network_mode: none
    command: ["sh", "-c", "echo db ready; trap 'exit 0' TERM; while true; do sleep 1; done"]
    secrets:
      - {source: token, uid: "1000", gid: "1000", mode: 0400}
secrets:
  token: {environment: E2E_TOKEN}
`, stack, level)
		if err := os.WriteFile(filepath.Join(stackDir, "compose.yaml"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("info")
	out, err := berth("up", "-d", "--progress", "plain")
	if err != nil || !strings.Contains(out, "Container "+stack+"-web-1  Started") {
		t.Fatalf("up: %v\n%s", err, out)
	}
	ids := func() string {
		out, err := berth("compose", "ps", "-a", "--format", "{{.Name}}={{.ID}}")
		if err != nil {
			t.Fatalf("ps: %v\n%s", err, out)
		}
		return out
	}
	before := ids()
	if out, err := berth("up", "-d"); err != nil || !strings.Contains(out, "No changes") {
		t.Fatalf("no-op up: %v\n%s", err, out)
	}
	write("debug")
	if out, err := berth("up", "-d", "-t", "2"); err != nil || !strings.Contains(out, `environment.LEVEL "info" => "debug"`) {
		t.Fatalf("up after a change: %v\n%s", err, out)
	}
	after := ids()
	line := func(s, name string) string {
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, name+"=") {
				return l
			}
		}
		return ""
	}
	if line(before, stack+"-web-1") == line(after, stack+"-web-1") || line(before, stack+"-db-1") != line(after, stack+"-db-1") {
		t.Errorf("want exactly web recreated:\nbefore %s\nafter %s", before, after)
	}
	if out, err := berth("compose", "exec", "-T", "web", "sh", "-c", "echo $LEVEL"); err != nil || strings.TrimSpace(out) != "debug" {
		t.Errorf("exec: %v %q", err, out)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, _ := berth("compose", "logs", "web")
		if strings.Contains(out, "web-1 | web debug") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("logs: %s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out, err := berth("compose", "exec", "-T", "db", "sh", "-c", "cat /run/secrets/token; stat -c ' %u %g %a' /run/secrets/token"); err != nil || out != "t0k3n 1000 1000 400\n" {
		t.Errorf("secret with uid, gid and mode: %v %q", err, out)
	}
	if out, err := berth("compose", "ls"); err != nil || !strings.Contains(out, stack) || !strings.Contains(out, "running(2)") {
		t.Errorf("ls: %v\n%s", err, out)
	}
	if out, err := berth("down", "-v", "--progress", "plain"); err != nil || !strings.Contains(out, "Container "+stack+"-db-1  Removed") {
		t.Fatalf("down: %v\n%s", err, out)
	}
	if out, _ := berth("compose", "ls", "-a"); strings.Contains(out, stack) {
		t.Errorf("stack left after down:\n%s", out)
	}
}

// e2eRoot skips the test unless root tests are asked for (BERTH_TEST_ROOT=1)
// and runc and busybox are installed, then builds the binaries
// (e2eBinaries); busybox is its path, for the test's image.
func e2eRoot(t *testing.T) (busybox, dir, short string) {
	t.Helper()
	if os.Getenv("BERTH_TEST_ROOT") != "1" {
		t.Skip("needs root, runc and overlayfs: set BERTH_TEST_ROOT=1")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("runc not installed")
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox not installed")
	}
	dir, short = e2eBinaries(t)
	return busybox, dir, short
}

// e2eBinaries returns a directory of its own with the built binaries
// (buildBinaries) for an end-to-end test, with a second, short temporary
// directory for the run root (it holds unix sockets, whose paths are short).
func e2eBinaries(t *testing.T) (dir, short string) {
	t.Helper()
	// The test's own directory (tests keep their state root in it) with
	// links to the binaries built once.
	built := buildBinaries(t)
	dir = t.TempDir()
	for _, name := range []string{"berth", "berth-full", "berth-shim"} {
		if err := os.Link(filepath.Join(built, name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	short, err := os.MkdirTemp("", "brt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(short) })
	return dir, short
}

// e2eStack is an end-to-end stack test's berth: the built binaries (dir,
// short from e2eBinaries) on a root and run root of the test's own, run in
// cwd with env added, and a stack name unique to the run (prefix and a
// number) that is taken down with its volumes when the test ends. image,
// if not empty, is busybox imported under that name.
type e2eStack struct {
	bin, root, run, cwd string
	env                 []string
	name                string
}

func newE2EStack(t *testing.T, busybox, dir, short, cwd, prefix, image string, env ...string) *e2eStack {
	t.Helper()
	s := &e2eStack{bin: filepath.Join(dir, "berth"), root: filepath.Join(dir, "root"), run: filepath.Join(short, "run"),
		cwd: cwd, env: env, name: fmt.Sprintf("%s%d", prefix, time.Now().UnixNano()%1_000_000)}
	t.Cleanup(func() {
		if out, err := s.berth("down", "-v", "-t", "0", "-p", s.name, "--progress", "quiet"); err != nil {
			t.Errorf("cleanup: %v\n%s", err, out)
		}
	})
	if image != "" {
		tarball := filepath.Join(dir, "busybox.tar")
		if err := busyboxTar(busybox, tarball); err != nil {
			t.Fatal(err)
		}
		if out, err := s.berth("import", "-c", `CMD ["sh"]`, tarball, image); err != nil {
			t.Fatalf("import: %v\n%s", err, out)
		}
	}
	return s
}

// cmd is berth with args, not started.
func (s *e2eStack) cmd(args ...string) *exec.Cmd {
	cmd := exec.Command(s.bin, append([]string{"--root", s.root, "--run-root", s.run}, args...)...)
	cmd.Dir = s.cwd
	if len(s.env) > 0 {
		cmd.Env = append(os.Environ(), s.env...)
	}
	return cmd
}

// berth runs berth with args and returns its combined output.
func (s *e2eStack) berth(args ...string) (string, error) {
	out, err := s.cmd(args...).CombinedOutput()
	return string(out), err
}

// busyboxTar writes a root filesystem of busybox and its sh as a tar.
func busyboxTar(busybox, path string) error {
	bin, err := os.ReadFile(busybox)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin))},
		{Name: "bin/sh", Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777},
		{Name: "bin/sleep", Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777},
		{Name: "bin/echo", Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777},
		{Name: "bin/cat", Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777},
		{Name: "bin/stat", Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777},
		{Name: "bin/mkdir", Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777},
		{Name: "bin/httpd", Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777},
		{Name: "bin/wget", Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777},
	} {
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(bin); err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// TestStackNetworksEndToEnd: a stack on its own CNI network, where
// services find each other by name, with a named volume that keeps its data
// across down and up and goes with down -v; nothing is left behind.
func TestStackNetworksEndToEnd(t *testing.T) {
	if os.Getenv("BERTH_TEST_ROOT") != "1" {
		t.Skip("needs root, runc, overlayfs and the CNI plugins: set BERTH_TEST_ROOT=1")
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox not installed")
	}
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		if _, err := os.Stat("/opt/cni/bin/bridge"); err != nil {
			t.Skip("CNI plugins not installed")
		}
	}
	dir, short := e2eBinaries(t)
	stackDir := filepath.Join(dir, "stack")
	if err := os.MkdirAll(stackDir, 0o755); err != nil {
		t.Fatal(err)
	}
	st := newE2EStack(t, busybox, dir, short, stackDir, "e2enet", "e2e-busybox:1")
	stack, berth := st.name, st.berth
	content := fmt.Sprintf(`name: %s
services:
  web:
    image: e2e-busybox:1
    command: ["sh", "-c", "mkdir -p /www; echo hello > /www/index.html; httpd -f -p 8080 -h /www"]
    ports: ["127.0.0.1::8080"]
  db:
    image: e2e-busybox:1
    command: ["sh", "-c", "echo run >> /data/log; trap 'exit 0' TERM; while true; do sleep 1; done"]
    volumes: [data:/data]
volumes:
  data: {}
`, stack)
	if err := os.WriteFile(filepath.Join(stackDir, "compose.yaml"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := berth("up", "-d", "--progress", "plain"); err != nil || !strings.Contains(out, "Network "+stack+"_default  Created") {
		t.Fatalf("up: %v\n%s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := berth("compose", "exec", "-T", "db", "wget", "-qO-", "http://web:8080/")
		if err == nil && out == "hello\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("db cannot reach web by name: %v %q", err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// compose port gives the host port picked at start, which answers.
	out, err := berth("compose", "port", "web", "8080")
	addr := strings.TrimSpace(out)
	if err != nil || !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
		t.Fatalf("compose port web 8080 = %q, %v; want 127.0.0.1:<picked port>", out, err)
	}
	if got := httpFrom(t, addr); !strings.HasSuffix(got, "hello\n") {
		t.Errorf("GET http://%s/ = %q; want hello", addr, got)
	}
	if out, err := berth("compose", "port", "web", "9999"); err == nil {
		t.Errorf("compose port of an unpublished port succeeded: %q", out)
	}
	if out, err := berth("down", "-t", "0"); err != nil {
		t.Fatalf("down: %v\n%s", err, out)
	}
	if out, err := berth("up", "-d"); err != nil {
		t.Fatalf("up again: %v\n%s", err, out)
	}
	// db appends its line once its shell runs, a moment after up -d.
	var dbLog string
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, err := berth("compose", "exec", "-T", "db", "cat", "/data/log")
		if dbLog = out; (err == nil && out == "run\nrun\n") || time.Now().After(end) {
			break
		}
	}
	if dbLog != "run\nrun\n" {
		t.Errorf("the volume did not keep its data across down and up: %q", dbLog)
	}
	if out, err := berth("down", "-v", "-t", "0"); err != nil {
		t.Fatalf("down -v: %v\n%s", err, out)
	}
	for _, what := range []string{"network", "volume"} {
		if out, _ := berth(what, "ls", "-q"); strings.Contains(out, stack) {
			t.Errorf("%s left after down -v:\n%s", what, out)
		}
	}
}
