package runc

import (
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/runc/monitor"
)

// A standby monitor becomes the container's monitor; one left unused ends
// when dropped; one killed before its container was ready is replaced.
func TestRootStandbyMonitor(t *testing.T) {
	r := rootRuntime(t)

	r.PrepareMonitor()
	sb := r.standby
	if sb == nil {
		t.Fatal("no standby monitor")
	}
	id := create(t, r, runtime.Config{Cmd: sh("echo hi; exit 4")})
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

	r.PrepareMonitor()
	unused := r.standby
	r.DropMonitor()
	waitGoneOrFail(t, "the dropped standby", unused.pid, unused.pidStart)

	r.PrepareMonitor()
	dead := r.standby
	_ = syscall.Kill(dead.pid, syscall.SIGKILL)
	waitGoneOrFail(t, "the killed standby", dead.pid, dead.pidStart)
	id = create(t, r, runtime.Config{Cmd: sh("exit 5")})
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
