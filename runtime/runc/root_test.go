package runc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/internal/overlay"
	"github.com/berth-dev/berth/internal/testimage"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/ocispec"
	"github.com/berth-dev/berth/runtime/runc/monitor"
)

// Root tests run real containers with runc; they skip unless
// BERTH_TEST_ROOT=1 and clean up every container, mount, cgroup and monitor
// they make, even on failure.

var shimPath string // built once by TestMain for root tests

func TestMain(m *testing.M) {
	code := func() int {
		if os.Getenv("BERTH_TEST_ROOT") == "1" {
			dir, err := os.MkdirTemp("", "berth-shim-")
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer os.RemoveAll(dir)
			shimPath = filepath.Join(dir, "berth-shim")
			out, err := exec.Command("go", "build", "-o", shimPath, "github.com/berth-dev/berth/cmd/berth-shim").CombinedOutput()
			if err != nil {
				fmt.Fprintf(os.Stderr, "build berth-shim: %v\n%s", err, out)
				return 1
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

type fakeImages map[string]Image

func (f fakeImages) Image(_ context.Context, ref string) (Image, error) {
	img, ok := f[ref]
	if !ok {
		return Image{}, fmt.Errorf("image %s: %w", ref, errdefs.ErrNotFound)
	}
	return img, nil
}

// rootRuntime returns a runtime over a fresh state root with a busybox
// image named "busybox", skipping unless root tests are enabled.
func rootRuntime(t *testing.T) *Runtime {
	t.Helper()
	if os.Getenv("BERTH_TEST_ROOT") != "1" {
		t.Skip("root test: set BERTH_TEST_ROOT=1")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("runc is not installed")
	}
	layer := t.TempDir()
	testimage.Rootfs(t, layer)
	// Unix socket paths are short (108 bytes): keep the run root short.
	runRoot, err := os.MkdirTemp("/run", "bt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(runRoot) })
	return New(Options{
		Root: t.TempDir(), RunRoot: runRoot, Monitor: shimPath,
		Images: fakeImages{"busybox": {
			ID:     "sha256:" + strings.Repeat("b", 64),
			Config: v1.ImageConfig{Cmd: []string{"sh"}, Env: []string{"PATH=/bin"}},
			Layers: []string{layer},
		}},
	})
}

// create makes a container and registers its forced removal.
func create(t *testing.T, r *Runtime, cfg runtime.Config) string {
	t.Helper()
	if cfg.Image == "" {
		cfg.Image = "busybox"
	}
	id, err := r.Create(t.Context(), cfg)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Cleanup(func() {
		st, _ := monitor.ReadState(r.containerDir(id))
		if err := r.Remove(context.Background(), id, runtime.RemoveOptions{Force: true}); err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("cleanup: %v", err)
		}
		if monitor.Alive(st.MonitorPid, st.MonitorStart) {
			_ = syscall.Kill(st.MonitorPid, syscall.SIGKILL)
		}
		if isMounted(r.rootfs(id)) {
			t.Errorf("cleanup: rootfs of %s still mounted", id)
		}
	})
	return id
}

func sh(script string) []string { return []string{"sh", "-c", script} }

func logs(t *testing.T, r *Runtime, id string) (string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if err := r.Logs(t.Context(), id, LogOptions{Tail: -1}, &out, &errb); err != nil {
		t.Fatalf("logs: %v", err)
	}
	return out.String(), errb.String()
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func status(t *testing.T, r *Runtime, id string) monitor.State {
	t.Helper()
	_, st, err := r.State(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestRootRunExitCodeAndLogs(t *testing.T) {
	r := rootRuntime(t)
	id := create(t, r, runtime.Config{Cmd: sh("echo out; echo err >&2; exit 3")})
	if err := r.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	code, err := r.Wait(t.Context(), id)
	if err != nil || code != 3 {
		t.Fatalf("wait = %d, %v; want 3", code, err)
	}
	out, errs := logs(t, r, id)
	if out != "out\n" || errs != "err\n" {
		t.Errorf("logs = %q, %q", out, errs)
	}
	if isMounted(r.rootfs(id)) {
		t.Error("rootfs still mounted after exit")
	}
}

func TestRootStartErrors(t *testing.T) {
	r := rootRuntime(t)
	id := create(t, r, runtime.Config{Cmd: []string{"/nonexistent"}})
	err := r.Start(t.Context(), id)
	var se *StartError
	if !errors.As(err, &se) || se.Code != 127 {
		t.Fatalf("start = %v; want a StartError with code 127", err)
	}
	if isMounted(r.rootfs(id)) {
		t.Error("rootfs mounted after a failed start")
	}
	if st := status(t, r, id); st.Status != monitor.Created {
		t.Errorf("status = %s; want created", st.Status)
	}
}

func TestRootCreateErrorsLeaveNothing(t *testing.T) {
	r := rootRuntime(t)
	create(t, r, runtime.Config{Name: "taken", Cmd: sh("true")})
	for _, tc := range []struct {
		name string
		cfg  runtime.Config
		want error
	}{
		{"unknown image", runtime.Config{Image: "nope", Cmd: sh("true")}, errdefs.ErrNotFound},
		{"name taken", runtime.Config{Image: "busybox", Name: "taken", Cmd: sh("true")}, errdefs.ErrAlreadyExists},
		{"unknown user", runtime.Config{Image: "busybox", User: "nobody-here", Cmd: sh("true")}, errdefs.ErrInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Create(t.Context(), tc.cfg)
			if !errors.Is(err, tc.want) {
				t.Fatalf("create = %v; want %v", err, tc.want)
			}
			ids, _ := r.ids()
			if len(ids) != 1 {
				t.Errorf("%d containers after a failed create; want 1", len(ids))
			}
			ents, _ := os.ReadDir(r.containersDir())
			if len(ents) != 2 { // the one container and .names
				t.Errorf("state dir has %d entries; want 2", len(ents))
			}
		})
	}
	r2 := New(Options{Root: t.TempDir(), RunRoot: t.TempDir(), Runtime: "no-such-runc", Monitor: shimPath, Images: r.opts.Images})
	if _, err := r2.Create(t.Context(), runtime.Config{Image: "busybox", Cmd: sh("true")}); !errors.Is(err, errdefs.ErrFailedPrecondition) {
		t.Errorf("create without runc = %v; want failed precondition", err)
	}
}

func TestRootStopKillRemove(t *testing.T) {
	r := rootRuntime(t)
	id := create(t, r, runtime.Config{Cmd: sh(`trap "exit 7" TERM; echo ready; while true; do sleep 0.05; done`)})
	if err := r.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ready", 5*time.Second, func() bool { o, _ := logs(t, r, id); return o == "ready\n" })
	err := r.Remove(t.Context(), id, runtime.RemoveOptions{})
	if !errors.Is(err, errdefs.ErrFailedPrecondition) || !strings.Contains(err.Error(), "container is running") {
		t.Fatalf("remove running = %v; want failed precondition", err)
	}
	timeout := 5 * time.Second
	if err := r.Stop(t.Context(), id, &timeout); err != nil {
		t.Fatal(err)
	}
	if st := status(t, r, id); st.Status != monitor.Exited || st.ExitCode != 7 {
		t.Fatalf("after stop: %s (%d); want exited (7)", st.Status, st.ExitCode)
	}
	if err := r.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if err := r.Kill(t.Context(), id, "KILL"); err != nil {
		t.Fatal(err)
	}
	code, _ := r.Wait(t.Context(), id)
	if code != 137 {
		t.Errorf("exit after kill = %d; want 137", code)
	}
	if err := r.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if err := r.Remove(t.Context(), id, runtime.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve(t.Context(), id); !errdefs.IsNotFound(err) {
		t.Errorf("resolve after rm = %v; want not found", err)
	}
}

func TestRootRestartPolicy(t *testing.T) {
	r := rootRuntime(t)
	id := create(t, r, runtime.Config{Cmd: sh("while true; do sleep 0.05; done"), Restart: runtime.RestartPolicy{Name: "always"}})
	if err := r.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	st := status(t, r, id)
	if err := syscall.Kill(st.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "restart", 5*time.Second, func() bool {
		s := status(t, r, id)
		return s.Status == monitor.Running && s.RestartCount == 1 && s.Pid != st.Pid
	})
	// A stop by the user is never undone by the policy.
	zero := time.Duration(0)
	if err := r.Stop(t.Context(), id, &zero); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if s := status(t, r, id); s.Status != monitor.Exited {
		t.Errorf("after stop: %s; want exited", s.Status)
	}
}

func TestRootHealthcheck(t *testing.T) {
	r := rootRuntime(t)
	id := create(t, r, runtime.Config{
		Cmd:         sh("while true; do sleep 0.05; done"),
		Healthcheck: &runtime.Healthcheck{Test: []string{"CMD-SHELL", "test -f /tmp/ok"}, Interval: 100 * time.Millisecond, Timeout: 2 * time.Second, Retries: 2},
	})
	if err := r.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	health := func() string {
		s := status(t, r, id)
		if s.Health == nil {
			return ""
		}
		return s.Health.Status
	}
	waitFor(t, "unhealthy", 10*time.Second, func() bool { return health() == "unhealthy" })
	code, err := r.Exec(t.Context(), id, ExecOptions{Cmd: []string{"touch", "/tmp/ok"}})
	if err != nil || code != 0 {
		t.Fatalf("exec = %d, %v", code, err)
	}
	waitFor(t, "healthy", 10*time.Second, func() bool { return health() == "healthy" })
	if s := status(t, r, id); len(s.Health.Log) == 0 || len(s.Health.Log) > 5 {
		t.Errorf("health log has %d probes; want 1..5", len(s.Health.Log))
	}
}

// TestRootHealthProbesLeaveNoZombies: the runtime execs of the probes, and
// probe commands that outlive their timeout, are not left as zombies of
// the monitor, which would also keep the container's pid 1 from finishing
// its exit: a stop then failed with "did not exit after SIGKILL".
func TestRootHealthProbesLeaveNoZombies(t *testing.T) {
	r := rootRuntime(t)
	id := create(t, r, runtime.Config{
		Cmd:         sh("while true; do sleep 0.05; done"),
		Healthcheck: &runtime.Healthcheck{Test: []string{"CMD-SHELL", "sleep 3"}, Interval: 100 * time.Millisecond, Timeout: 200 * time.Millisecond, Retries: 2},
	})
	if err := r.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "unhealthy", 10*time.Second, func() bool {
		s := status(t, r, id)
		return s.Health != nil && s.Health.Status == "unhealthy" && len(s.Health.Log) >= 4
	})
	st := status(t, r, id)
	zombies := func(log bool) int {
		n := 0
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			if _, err := strconv.Atoi(e.Name()); err != nil {
				continue
			}
			data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
			if err != nil {
				continue
			}
			fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
			if len(fields) > 1 && fields[0] == "Z" && fields[1] == strconv.Itoa(st.MonitorPid) {
				n++
				if log {
					t.Logf("zombie of the monitor: %s", data)
				}
			}
		}
		return n
	}
	// A probe that just ended may be a zombie for the moment before the
	// monitor reaps it; the bug left one per probe for good.
	deadline := time.Now().Add(2 * time.Second)
	for zombies(false) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := zombies(true); n > 0 {
		t.Errorf("the monitor has %d zombie children after %d probes", n, len(st.Health.Log))
	}
	zero := time.Duration(0)
	if err := r.Stop(t.Context(), id, &zero); err != nil {
		t.Fatalf("stop with a probe still running in the container: %v", err)
	}
}

func TestRootExecExitCodes(t *testing.T) {
	r := rootRuntime(t)
	id := create(t, r, runtime.Config{Cmd: sh("while true; do sleep 0.05; done")})
	if err := r.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cmd  []string
		user string
		want int
		out  string
	}{
		{sh("exit 5"), "", 5, ""},
		{sh("id -u"), "app", 0, "1000\n"},
		{[]string{"/nonexistent"}, "", 127, ""},
	} {
		var out bytes.Buffer
		code, err := r.Exec(t.Context(), id, ExecOptions{Cmd: tc.cmd, User: tc.user, Stdout: &out})
		if err != nil || code != tc.want || out.String() != tc.out {
			t.Errorf("exec %v = %d %q, %v; want %d %q", tc.cmd, code, out.String(), err, tc.want, tc.out)
		}
	}
}

func TestRootPauseFreezes(t *testing.T) {
	r := rootRuntime(t)
	id := create(t, r, runtime.Config{Cmd: sh("i=0; while true; do i=$((i+1)); echo $i > /tmp/n; sleep 0.01; done")})
	if err := r.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	counter := func() string {
		b, _ := os.ReadFile(filepath.Join(r.rootfs(id), "tmp/n"))
		return string(b)
	}
	waitFor(t, "counter", 5*time.Second, func() bool { return counter() != "" })
	if err := r.Pause(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if s := status(t, r, id); s.Status != monitor.Paused {
		t.Fatalf("status = %s; want paused", s.Status)
	}
	a := counter()
	time.Sleep(300 * time.Millisecond)
	if b := counter(); a != b {
		t.Fatalf("counter moved while paused: %q -> %q", a, b)
	}
	if err := r.Unpause(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "counter to move", 5*time.Second, func() bool { return counter() != a })
}

func TestRootMonitorKilledIsRepaired(t *testing.T) {
	r := rootRuntime(t)
	id := create(t, r, runtime.Config{Cmd: sh("while true; do sleep 0.05; done")})
	if err := r.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	st := status(t, r, id)
	if err := syscall.Kill(st.MonitorPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "monitor gone", 5*time.Second, func() bool { return !monitor.Alive(st.MonitorPid, st.MonitorStart) })
	cs, err := r.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Status != runtime.StatusExited {
		t.Fatalf("list = %+v; want one exited container", cs)
	}
	if monitor.Alive(st.Pid, st.PidStart) {
		t.Error("container process still alive after repair")
	}
	if isMounted(r.rootfs(id)) {
		t.Error("rootfs still mounted after repair")
	}
	if err := r.Start(t.Context(), id); err != nil {
		t.Fatalf("start after repair: %v", err)
	}
}

func TestRootInit(t *testing.T) {
	r := rootRuntime(t)
	id := create(t, r, runtime.Config{Init: true, Cmd: sh("tr '\\0' ' ' </proc/1/cmdline; exit 6")})
	if err := r.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	code, err := r.Wait(t.Context(), id)
	if err != nil || code != 6 {
		t.Fatalf("wait = %d, %v; want 6 through the init", code, err)
	}
	if out, _ := logs(t, r, id); !strings.HasPrefix(out, "/sbin/berth-init -- sh") {
		t.Errorf("PID 1 is %q; want berth-init", out)
	}
}

func TestRootStopDuringRestartBackoff(t *testing.T) {
	r := rootRuntime(t)
	id := create(t, r, runtime.Config{Cmd: sh("exit 1"), Restart: runtime.RestartPolicy{Name: "on-failure"}})
	if err := r.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	// Restarts double their back-off; wait until it has restarted a few times.
	waitFor(t, "restarts", 10*time.Second, func() bool { return status(t, r, id).RestartCount >= 3 })
	timeout := time.Second
	if err := r.Stop(t.Context(), id, &timeout); err != nil {
		t.Fatal(err)
	}
	st := status(t, r, id)
	if st.Status != monitor.Exited || monitor.Alive(st.MonitorPid, st.MonitorStart) {
		t.Fatalf("after stop: %s, monitor alive %v", st.Status, monitor.Alive(st.MonitorPid, st.MonitorStart))
	}
	n := st.RestartCount
	time.Sleep(500 * time.Millisecond)
	if st := status(t, r, id); st.RestartCount != n || st.Status != monitor.Exited {
		t.Errorf("restarted after stop: %d -> %d restarts, %s", n, st.RestartCount, st.Status)
	}
}

func TestRootOnFailureMaxRetries(t *testing.T) {
	r := rootRuntime(t)
	id := create(t, r, runtime.Config{Cmd: sh("exit 2"), Restart: runtime.RestartPolicy{Name: "on-failure", MaximumRetryCount: 2}})
	if err := r.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	code, err := r.Wait(t.Context(), id)
	if err != nil || code != 2 {
		t.Fatalf("wait = %d, %v", code, err)
	}
	if st := status(t, r, id); st.RestartCount != 2 {
		t.Errorf("restart count = %d; want 2", st.RestartCount)
	}
}

// A start whose CLI went away before the container ran (here: an attached
// start nobody attaches to, as when `run -it` is killed) must not be
// removed from under its monitor: rm -f stops it and nothing is left.
func TestRootRemoveWhileStartingWithoutCLI(t *testing.T) {
	r := rootRuntime(t)
	id := create(t, r, runtime.Config{Cmd: sh("sleep 100"), OpenStdin: true})
	if err := r.StartContainer(t.Context(), id, StartOptions{Attach: true}); err != nil {
		t.Fatal(err)
	}
	st, err := monitor.ReadState(r.containerDir(id))
	if err != nil {
		t.Fatal(err)
	}
	if !st.Starting || !monitor.Alive(st.MonitorPid, st.MonitorStart) {
		t.Fatalf("state after an unattached start = %+v; want starting with a live monitor", st)
	}
	began := time.Now()
	if err := r.Remove(t.Context(), id, runtime.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("rm -f took %v: it waited for the attach timeout instead of waking the monitor", d)
	}
	waitFor(t, "monitor gone", 5*time.Second, func() bool { return !monitor.Alive(st.MonitorPid, st.MonitorStart) })
	if r.runtimeHas(id) {
		t.Errorf("runc still knows %s after rm -f", id)
	}
	if _, err := os.Stat(r.containerDir(id)); !os.IsNotExist(err) {
		t.Errorf("container directory left: %v", err)
	}
}

// Removes of one container racing each other (a failed run --rm: the CLI
// and the monitor's hook) leave nothing: whoever waited for the lock finds
// the container gone instead of making its directory again.
func TestRootConcurrentRemovesLeaveNothing(t *testing.T) {
	r := rootRuntime(t)
	id := create(t, r, runtime.Config{Cmd: sh("sleep 60")})
	if err := r.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() { errs <- r.Remove(context.Background(), id, runtime.RemoveOptions{Force: true}) }()
	}
	removed := 0
	for range 4 {
		switch err := <-errs; {
		case err == nil:
			removed++
		case !errdefs.IsNotFound(err):
			t.Errorf("a racing remove: %v", err)
		}
	}
	if removed == 0 {
		t.Error("no remove succeeded")
	}
	ents, _ := os.ReadDir(r.containersDir())
	for _, e := range ents {
		if strings.Contains(e.Name(), id) {
			t.Errorf("left in the containers directory: %s", e.Name())
		}
	}
}

// An attached start whose client has not come yet still says created (its
// monitor at work, its op lock free): wait must wait for it, and must not
// take its root filesystem or network away as an exited container's.
func TestRootWaitDuringAttachedStart(t *testing.T) {
	r := rootRuntime(t)
	id := create(t, r, runtime.Config{Cmd: sh("sleep 60")})
	if err := r.StartContainer(t.Context(), id, StartOptions{Attach: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Remove(context.Background(), id, runtime.RemoveOptions{Force: true}) })
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	if code, err := r.Wait(ctx, id); err == nil {
		t.Errorf("wait returned %d while the container was starting", code)
	}
	if !isMounted(r.rootfs(id)) {
		t.Error("wait unmounted the root filesystem of a starting container")
	}
}

// A container created where the kernel ran no 32-bit programs and started
// where it runs them gets Docker's whole profile back at its start.
func TestRootX86RestoredAtStart(t *testing.T) {
	if goruntime.GOARCH != "amd64" {
		t.Skip("x86 is amd64's companion architecture")
	}
	r := rootRuntime(t)
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		t.Skip("no boot id")
	}
	keep := func(answer string) {
		if err := os.WriteFile(filepath.Join(r.opts.RunRoot, ia32File), []byte(strings.TrimSpace(string(boot))+" "+answer+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	keep("refused")
	id := create(t, r, runtime.Config{Cmd: sh("true")})
	created, _ := os.ReadFile(filepath.Join(r.containerDir(id), "config.json"))
	if !strings.Contains(string(created), ocispec.AnnotationX86LeftOut) || strings.Contains(string(created), `"SCMP_ARCH_X86"`) {
		t.Fatalf("created where ia32 is refused: the spec keeps x86 or lacks the mark")
	}
	keep("runs")
	r2 := New(r.opts) // a later process, on a kernel that runs 32-bit code
	if err := r2.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	started, _ := os.ReadFile(filepath.Join(r.runDir(id), "config.json"))
	if !strings.Contains(string(started), `"SCMP_ARCH_X86"`) || strings.Contains(string(started), ocispec.AnnotationX86LeftOut) {
		t.Errorf("started where ia32 runs: the bundle's profile lacks x86 or keeps the mark")
	}
	if code, err := r2.Wait(t.Context(), id); err != nil || code != 0 {
		t.Errorf("wait = %d, %v", code, err)
	}
}

// A monitor killed after an attached run --rm removed its container leaves
// the runtime's state (it deletes that last): prune's RemoveOrphans
// deletes it.
func TestRootRemoveOrphansDeletesRuntimeState(t *testing.T) {
	r := rootRuntime(t)
	id := create(t, r, runtime.Config{Cmd: sh("sleep 60")})
	if err := r.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	st := status(t, r, id)
	_ = syscall.Kill(st.MonitorPid, syscall.SIGKILL)
	_ = syscall.Kill(st.Pid, syscall.SIGKILL)
	waitGoneOrFail(t, "the container's init", st.Pid, st.PidStart)
	_ = overlay.Unmount(r.rootfs(id))
	if err := r.moveAside(id); err != nil { // what the CLI's remove did
		t.Fatal(err)
	}
	if !r.runtimeHas(id) {
		t.Fatal("no runtime state to begin with")
	}
	// A minute old at least: one being started is in runc's "created".
	if _, err := r.RemoveOrphans(0); err != nil || !r.runtimeHas(id) {
		t.Fatalf("RemoveOrphans: %v; a runtime state under a minute old went", err)
	}
	old := time.Now().Add(-2 * time.Minute)
	if err := os.Chtimes(filepath.Join(r.opts.RuntimeRoot, id), old, old); err != nil {
		t.Fatal(err)
	}
	// One that runs, of another state root sharing this run root (as
	// far as this root can tell: no directory of its own), is left alone.
	other := create(t, r, runtime.Config{Cmd: sh("sleep 60")})
	if err := r.Start(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	otherDir := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.Rename(r.containerDir(other), otherDir); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(r.opts.RuntimeRoot, other), old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RemoveOrphans(0); err != nil {
		t.Fatal(err)
	}
	if r.runtimeHas(id) {
		t.Error("the runtime's state of a removed container is left")
	}
	if err := os.Rename(otherDir, r.containerDir(other)); err != nil {
		t.Fatal(err)
	}
	if st := status(t, r, other); st.Status != monitor.Running || !r.runtimeHas(other) {
		t.Errorf("a running container not of this root: %s, runtime state kept %v", st.Status, r.runtimeHas(other))
	}
	if _, err := os.Stat(r.removedDir(id)); !os.IsNotExist(err) {
		t.Errorf("the moved-aside directory is left: %v", err)
	}
}
