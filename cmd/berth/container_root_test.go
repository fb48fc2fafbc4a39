package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/berth-dev/berth/internal/testimage"
	"github.com/berth-dev/berth/runtime/runc/monitor"
)

// End-to-end tests of the container commands: the real berth and
// berth-shim binaries, runc, overlayfs, a busybox image imported from a
// tarball. They skip unless BERTH_TEST_ROOT=1 and remove every container,
// mount and monitor they made, even on failure.

type cli struct {
	t       *testing.T
	bin     string
	root    string
	runRoot string
	// bridge is the default network's host bridge, unique per test so no
	// test touches a real berth0.
	bridge string
}

func newCLI(t *testing.T) *cli {
	t.Helper()
	if os.Getenv("BERTH_TEST_ROOT") != "1" {
		t.Skip("root test: set BERTH_TEST_ROOT=1")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("runc is not installed")
	}
	testimage.Skip(t)
	bin := buildBinaries(t)
	runRoot, err := os.MkdirTemp("/run", "bc")
	if err != nil {
		t.Fatal(err)
	}
	c := &cli{t: t, bin: filepath.Join(bin, "berth"), root: t.TempDir(), runRoot: runRoot, bridge: "bt" + randHex(3)}
	t.Cleanup(func() {
		c.teardown()
		ids, _, _ := c.run("ps", "-aq", "--no-trunc")
		for _, id := range strings.Fields(ids) {
			st, _ := monitor.ReadState(filepath.Join(c.root, "containers", id))
			_, _, _ = c.run("rm", "-f", id)
			if monitor.Alive(st.MonitorPid, st.MonitorStart) {
				_ = syscall.Kill(st.MonitorPid, syscall.SIGKILL)
			}
		}
		if data, _ := os.ReadFile("/proc/self/mountinfo"); bytes.Contains(data, []byte(runRoot)) {
			t.Errorf("mounts left under %s", runRoot)
		}
		os.RemoveAll(runRoot)
	})
	cmd := c.cmd("import", "-", "busybox")
	cmd.Stdin = bytes.NewReader(testimage.Tar(t))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	return c
}

var built struct {
	sync.Once
	dir string
	err error
}

// buildBerth builds what make build installs into dir: the lean berth,
// berth-full (the commands berth hands over: build, gitops, watch, the DNS
// server) and berth-shim, so the tests run the binaries users run.
func buildBerth(dir string) error {
	for _, b := range []struct{ name, pkg, tags string }{
		{"berth", "github.com/berth-dev/berth/cmd/berth", "lean"},
		{"berth-full", "github.com/berth-dev/berth/cmd/berth", ""},
		{"berth-shim", "github.com/berth-dev/berth/cmd/berth-shim", ""},
	} {
		cmd := exec.Command("go", "build", "-tags", b.tags, "-o", filepath.Join(dir, b.name), b.pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %v\n%s", b.name, err, out)
		}
	}
	return nil
}

// buildBinaries builds the binaries once per test binary (buildBerth),
// into a directory TestMain removes.
func buildBinaries(t *testing.T) string {
	t.Helper()
	built.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "berth-cli-test-")
		if built.err != nil {
			return
		}
		built.err = buildBerth(built.dir)
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.dir
}

func (c *cli) cmd(args ...string) *exec.Cmd {
	cmd := exec.Command(c.bin, append([]string{"--root", c.root, "--run-root", c.runRoot}, args...)...)
	cmd.Env = append(os.Environ(), "BERTH_ROOT=", "BERTH_RUN_ROOT=", "BERTH_DEFAULT_BRIDGE="+c.bridge)
	return cmd
}

// run runs berth and returns its stdout, stderr and exit status.
func (c *cli) run(args ...string) (string, string, int) {
	cmd := c.cmd(args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String(), errb.String(), ee.ExitCode()
	}
	if err != nil {
		c.t.Fatalf("berth %v: %v", args, err)
	}
	return out.String(), errb.String(), 0
}

func (c *cli) must(args ...string) string {
	c.t.Helper()
	out, errs, code := c.run(args...)
	if code != 0 {
		c.t.Fatalf("berth %v: exit %d\n%s", args, code, errs)
	}
	return out
}

func TestRootCLIExitCodes(t *testing.T) {
	c := newCLI(t)
	tests := []struct {
		args []string
		want int
		out  string
	}{
		{[]string{"run", "--rm", "busybox", "echo", "hello"}, 0, "hello\n"},
		{[]string{"run", "--rm", "busybox", "sh", "-c", "exit 3"}, 3, ""},
		{[]string{"run", "--rm", "busybox", "/nonexistent"}, 127, ""},
		{[]string{"run", "--rm", "busybox", "/etc/passwd"}, 126, ""},
		{[]string{"run", "--rm", "--no-such-flag", "busybox", "true"}, 1, ""},
		{[]string{"run", "--rm", "--pull", "never", "no-such-image", "true"}, 125, ""}, // never: no pull from Docker Hub
		{[]string{"run", "--rm", "-u", "nobody-here", "busybox", "true"}, 125, ""},
	}
	for _, tc := range tests {
		out, errs, code := c.run(tc.args...)
		if code != tc.want || out != tc.out {
			t.Errorf("berth %v = %d %q; want %d %q\n%s", tc.args, code, out, tc.want, tc.out, errs)
		}
	}
	// The container starts while the client attaches: what it writes
	// before, more than a pipe holds, still reaches the client whole.
	var want strings.Builder
	for i := 1; i <= 40000; i++ {
		fmt.Fprintf(&want, "%d\n", i)
	}
	if out, errs, code := c.run("run", "--rm", "--network", "none", "busybox", "sh", "-c", "seq 1 40000; echo done >&2"); code != 0 || out != want.String() || errs != "done\n" {
		t.Errorf("run of seq 1 40000: exit %d, %d bytes of stdout (want %d), stderr %q", code, len(out), want.Len(), errs)
	}
	if ids := c.must("ps", "-aq"); ids != "" {
		t.Errorf("containers left after run --rm: %q", ids)
	}
}

// An attached `run --rm` is gone when it returns (its name free at once);
// the files its remove moved aside are deleted by its monitor after the CLI
// has ended.
func TestRootCLIRunRmLeavesNothing(t *testing.T) {
	c := newCLI(t)
	name := "rmg" + randHex(4)
	for i := range 3 {
		if out, errs, code := c.run("run", "--rm", "--network", "none", "--name", name, "busybox", "echo", "hi"); code != 0 || out != "hi\n" {
			t.Fatalf("run %d: exit %d, %q\n%s", i, code, out, errs)
		}
		if ids := c.must("ps", "-aq", "--filter", "name="+name); ids != "" {
			t.Fatalf("run %d: container listed after run --rm: %q", i, ids)
		}
	}
	left := func() []string {
		var names []string
		ents, _ := os.ReadDir(filepath.Join(c.root, "containers"))
		for _, e := range ents {
			if e.Name() != ".names" {
				names = append(names, "containers/"+e.Name())
			}
		}
		ents, _ = os.ReadDir(c.runRoot)
		for _, e := range ents {
			if len(e.Name()) == 64 {
				names = append(names, c.runRoot+"/"+e.Name())
			}
		}
		return names
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(left()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("left after run --rm: %v", left())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An attached `run --rm` whose CLI is killed leaves the container running;
// once it exits its monitor removes it, as Docker's daemon does.
func TestRootCLIRunRmClientKilled(t *testing.T) {
	c := newCLI(t)
	name := "rmk" + randHex(4)
	cmd := c.cmd("run", "--rm", "--network", "none", "--name", name, "busybox", "sh", "-c", "echo up; sleep 1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "up\n" {
		t.Fatalf("first output %q", line)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ids := c.must("ps", "-aq", "--filter", "name="+name)
		if ids == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s left 10 s after its CLI was killed: %s", name, c.must("ps", "-a"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestRootCLIDetachedLogsExecStopRm(t *testing.T) {
	c := newCLI(t)
	id := strings.TrimSpace(c.must("run", "-d", "--name", "web", "busybox", "sh", "-c", "trap 'exit 0' TERM; echo started; while true; do sleep 0.05; done"))
	if len(id) != 64 {
		t.Fatalf("run -d printed %q; want a full ID", id)
	}
	// The CLI that started it has exited; the monitor keeps logging.
	deadline := time.Now().Add(5 * time.Second)
	for c.must("logs", "web") != "started\n" {
		if time.Now().After(deadline) {
			t.Fatalf("logs = %q", c.must("logs", "web"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st := c.must("ps", "--format", "{{.Names}} {{.State}}"); st != "web running\n" {
		t.Errorf("ps = %q", st)
	}
	if _, _, code := c.run("exec", "web", "sh", "-c", "exit 9"); code != 9 {
		t.Errorf("exec exit = %d; want 9", code)
	}
	if out := c.must("exec", "-u", "app", "web", "id", "-u"); out != "1000\n" {
		t.Errorf("exec -u app: %q", out)
	}
	_, errs, code := c.run("rm", "web")
	if code == 0 || !strings.Contains(errs, "container is running") {
		t.Errorf("rm of a running container: exit %d %q", code, errs)
	}
	c.must("stop", "-t", "5", "web")
	if st := c.must("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "web"); st != "exited 0\n" {
		t.Errorf("after stop: %q", st)
	}
	c.must("rm", id[:12])
}

func TestRootCLITty(t *testing.T) {
	c := newCLI(t)
	cmd := c.cmd("run", "-t", "--rm", "busybox", "sh", "-c", "tty; exit 4")
	f, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, _ := io.ReadAll(f) // EIO once the child side closes
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 4 {
		t.Errorf("run -t exit: %v; want 4", err)
	}
	if !strings.Contains(string(out), "/dev/pts/0") {
		t.Errorf("run -t output %q; want the container's pty", out)
	}
}

func TestRootCLICommitCpDiff(t *testing.T) {
	c := newCLI(t)
	c.must("run", "--name", "src", "busybox", "sh", "-c", "echo committed > /data; ln -s ../../../../../etc /escape; rm /bin/vi")
	diff := c.must("diff", "src")
	for _, want := range []string{"A /data", "A /escape", "D /bin/vi"} {
		if !strings.Contains(diff, want+"\n") {
			t.Errorf("diff lacks %q:\n%s", want, diff)
		}
	}
	img := strings.TrimSpace(c.must("commit", "src", "committed:v1"))
	if !strings.HasPrefix(img, "sha256:") {
		t.Errorf("commit printed %q", img)
	}
	if out := c.must("run", "--rm", "committed:v1", "cat", "/data"); out != "committed\n" {
		t.Errorf("run of the committed image: %q", out)
	}
	dst := t.TempDir()
	c.must("cp", "src:/data", filepath.Join(dst, "data"))
	if b, _ := os.ReadFile(filepath.Join(dst, "data")); string(b) != "committed\n" {
		t.Errorf("cp out: %q", b)
	}
	if _, errs, code := c.run("cp", "src:/escape/hostname", dst); code == 0 {
		t.Errorf("cp through an escaping symlink succeeded: %s", errs)
	}
	if _, err := os.Stat(filepath.Join(dst, "hostname")); err == nil {
		t.Error("a host file was copied through the container's symlink")
	}
}

func TestRootCLIMonitorKilled(t *testing.T) {
	c := newCLI(t)
	id := strings.TrimSpace(c.must("run", "-d", "busybox", "sleep", "100"))
	st, err := monitor.ReadState(filepath.Join(c.root, "containers", id))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(st.MonitorPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for monitor.Alive(st.MonitorPid, st.MonitorStart) {
		time.Sleep(10 * time.Millisecond)
	}
	if out := c.must("ps", "-q"); out != "" {
		t.Errorf("ps shows a container whose monitor is dead: %q", out)
	}
	if out := c.must("ps", "-a", "--format", "{{.State}}"); out != "exited\n" {
		t.Errorf("ps -a state = %q", out)
	}
}

// TestRootCLIRunPulls checks that run and create pull an image that is not
// local from a loopback registry, as Docker does, and that --pull never
// does not.
func TestRootCLIRunPulls(t *testing.T) {
	c := newCLI(t)
	host := loopbackRegistry(t, nil) // its environment reaches c's commands
	ref := host + "/run/busybox:1"
	c.must("tag", "busybox", ref)
	c.must("push", "-q", ref)
	c.must("rmi", ref)
	if _, errs, code := c.run("create", "--pull", "never", ref); code != 125 || !strings.Contains(errs, "No such image") {
		t.Errorf("create --pull never = %d %q, want 125 and No such image", code, errs)
	}
	out, errs, code := c.run("run", "--rm", ref, "echo", "pulled")
	if code != 0 || out != "pulled\n" || !strings.HasPrefix(errs, "Unable to find image '"+ref+"' locally\n") {
		t.Errorf("run = %d %q, stderr %q", code, out, errs)
	}
	c.must("rmi", ref)
	id := strings.TrimSpace(c.must("create", "-q", ref, "true"))
	if out := c.must("ps", "-aq", "--no-trunc"); out != id+"\n" {
		t.Errorf("create printed %q, ps -aq %q", id, out)
	}
	if _, errs, code := c.run("run", "--rm", "--pull", "always", ref, "true"); code != 0 || !strings.Contains(errs, "Status: Image is up to date for "+ref) {
		t.Errorf("run --pull always = %d, stderr %q", code, errs)
	}
}

// TestMain removes the binaries built for the root tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// TestRootContainerPruneFilters: container prune takes Docker's until=,
// label= and label!= filters (and only those).
func TestRootContainerPruneFilters(t *testing.T) {
	c := newCLI(t)
	kept := strings.TrimSpace(c.must("create", "--network", "none", "--label", "keep=1", "busybox", "true"))
	plain := strings.TrimSpace(c.must("create", "--network", "none", "busybox", "true"))
	unix := func(d time.Duration) string { return strconv.FormatInt(time.Now().Add(d).Unix(), 10) }
	deleted := func(id string) string { return "Deleted Containers:\n" + id + "\n\n" }
	for _, tc := range []struct {
		filters []string
		want    string
	}{
		{[]string{"until=" + unix(-time.Hour)}, ""}, // both are newer
		{[]string{"label=keep=2"}, ""},
		{[]string{"label!=keep"}, deleted(plain)},
		{[]string{"label=keep", "until=" + unix(time.Hour)}, deleted(kept)},
	} {
		args := []string{"container", "prune", "-f"}
		for _, f := range tc.filters {
			args = append(args, "--filter", f)
		}
		got := c.must(args...)
		if !strings.HasPrefix(got, tc.want+"Total reclaimed space:") {
			t.Errorf("container prune --filter %v = %q, want %q and the total", tc.filters, got, tc.want)
		}
	}
	if _, stderr, code := c.run("container", "prune", "-f", "--filter", "status=exited"); code == 0 || !strings.Contains(stderr, "invalid filter 'status'") {
		t.Errorf("container prune --filter status=exited: exit %d, %s", code, stderr)
	}
}
