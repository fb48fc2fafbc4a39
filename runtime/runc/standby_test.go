package runc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/runc/monitor"
)

// A standby monitor becomes the container's monitor; one left unused ends
// when dropped; one killed before its container was ready is replaced.
func TestRootStandbyMonitor(t *testing.T) {
	r := rootRuntime(t)

	id := NewID()
	r.PrepareMonitor(id)
	sb := r.standby
	if sb == nil {
		t.Fatal("no standby monitor")
	}
	// Start returns once the exec has closed the pipe it watches, which
	// is before the new program's arguments are in place: until then the
	// command line reads empty.
	args := cmdline(sb.pid)
	for deadline := time.Now().Add(time.Second); args[0] == "" && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		args = cmdline(sb.pid)
	}
	if len(args) != 2 || args[1] != r.runDir(id) {
		t.Errorf("standby's command line %q, want the monitor's (naming %s)", args, r.runDir(id))
	}
	// Another container's start leaves it alone.
	other := create(t, r, runtime.Config{Cmd: sh("exit 0")})
	if err := r.Start(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	if r.standby != sb {
		t.Fatal("another container's start took the standby")
	}
	createWithID(t, r, id, runtime.Config{Cmd: sh("echo hi; exit 4")})
	if err := r.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if r.standby != nil {
		t.Error("the start left the standby in place")
	}
	if code, err := r.Wait(t.Context(), id); err != nil || code != 4 {
		t.Fatalf("wait = %d, %v; want 4", code, err)
	}
	if st := status(t, r, id); st.MonitorPid != sb.pid {
		t.Errorf("monitor pid %d, the standby was %d", st.MonitorPid, sb.pid)
	}
	if out, _ := logs(t, r, id); out != "hi\n" {
		t.Errorf("logs = %q", out)
	}

	r.PrepareMonitor(NewID())
	unused := r.standby
	r.DropMonitor()
	waitGoneOrFail(t, "the dropped standby", unused.pid, unused.pidStart)

	id = NewID()
	r.PrepareMonitor(id)
	dead := r.standby
	_ = syscall.Kill(dead.pid, syscall.SIGKILL)
	waitGoneOrFail(t, "the killed standby", dead.pid, dead.pidStart)
	createWithID(t, r, id, runtime.Config{Cmd: sh("exit 5")})
	if err := r.Start(t.Context(), id); err != nil {
		t.Fatalf("start after the standby was killed: %v", err)
	}
	if code, err := r.Wait(t.Context(), id); err != nil || code != 5 {
		t.Fatalf("wait = %d, %v; want 5", code, err)
	}
	if st := status(t, r, id); st.MonitorPid == dead.pid {
		t.Error("the killed standby is recorded as the monitor")
	}
}

// createWithID is create with a given ID.
func createWithID(t *testing.T, r *Runtime, id string, cfg runtime.Config) {
	t.Helper()
	cfg.Image = "busybox"
	if _, err := r.CreateContainer(t.Context(), cfg, CreateOptions{ID: id}); err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Cleanup(func() {
		st, _ := monitor.ReadState(r.containerDir(id))
		_ = r.Remove(context.Background(), id, runtime.RemoveOptions{Force: true})
		if monitor.Alive(st.MonitorPid, st.MonitorStart) {
			_ = syscall.Kill(st.MonitorPid, syscall.SIGKILL)
		}
	})
	if _, err := r.CreateContainer(t.Context(), cfg, CreateOptions{ID: id}); !errdefs.IsAlreadyExists(err) {
		t.Errorf("a second create with ID %s: %v, want already exists", id, err)
	}
}

func cmdline(pid int) []string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

func waitGoneOrFail(t *testing.T, what string, pid int, start uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for monitor.Alive(pid, start) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("%s (pid %d) still runs", what, pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A remover attached to a monitor that does not say it sweeps (here: no
// AutoRemove hook wired, so no RemovedDir; or an older berth-shim) removes
// everything itself.
func TestRootRemoverWithoutSweepsRemovesAll(t *testing.T) {
	r := rootRuntime(t)
	id, err := r.CreateContainer(t.Context(), runtime.Config{Image: "busybox", Cmd: sh("echo hi")}, CreateOptions{AutoRemove: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.StartContainer(t.Context(), id, StartOptions{Attach: true}); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	code, exited, err := r.Attach(t.Context(), id, AttachOptions{Stdout: &out, Removes: true})
	if err != nil || !exited || code != 0 || out.String() != "hi\n" {
		t.Fatalf("attach = %d, %v, %v, %q", code, exited, err, out.String())
	}
	if err := r.Remove(t.Context(), id, runtime.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{r.removedDir(id), r.containerDir(id), r.runDir(id)} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s left after the remove: %v", d, err)
		}
	}
}

// A --rm container's rootfs is an ephemeral (volatile) overlay, a plain
// container's is not; the volatile mark its work directory keeps after the
// mount does not stop it being mounted again (cp or diff before its
// removal, here after a stop with no removal hook wired).
func TestRootAutoRemoveRootfsIsEphemeral(t *testing.T) {
	r := rootRuntime(t)
	plain := create(t, r, runtime.Config{Cmd: sh("sleep 30")})
	rm, err := r.CreateContainer(t.Context(), runtime.Config{Image: "busybox", Cmd: sh("echo x >/made.tmp && mv /made.tmp /made; sleep 30")}, CreateOptions{AutoRemove: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Remove(context.Background(), rm, runtime.RemoveOptions{Force: true}) })
	for _, id := range []string{plain, rm} {
		if err := r.Start(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	// overlayfs marks the work directory of a volatile mount (and only
	// of one) with work/incompat/volatile.
	volatile := func(id string) bool {
		_, err := os.Stat(filepath.Join(r.containerDir(id), "work", "work", "incompat", "volatile"))
		return err == nil
	}
	if volatile(plain) {
		t.Error("plain container's rootfs is volatile")
	}
	if !volatile(rm) {
		t.Error("--rm container's rootfs is not volatile")
	}
	made := filepath.Join(r.UpperDir(rm), "made")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(made); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the container wrote no /made: %v", err)
		}
	}
	zero := time.Duration(0)
	if err := r.Stop(t.Context(), rm, &zero); err != nil {
		t.Fatal(err)
	}
	err = r.WithRootfs(t.Context(), rm, func(_ *Record, dir string) error {
		b, err := os.ReadFile(filepath.Join(dir, "made"))
		if err == nil && string(b) != "x\n" {
			err = fmt.Errorf("/made reads %q", b)
		}
		return err
	})
	if err != nil {
		t.Errorf("the stopped --rm container's rootfs: %v", err)
	}
}
