package monitor

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestHookNeeded(t *testing.T) {
	for _, tc := range []struct {
		name         string
		autoRemove   bool
		stopReleases bool
		removed      bool // the state dir is gone before the monitor decides
		want         bool
	}{
		{name: "release after an exit of its own", want: true},
		{name: "release after a stop that releases", stopReleases: true, want: false},
		{name: "release of a removed container", removed: true, want: false},
		{name: "rm of a container nobody removed", autoRemove: true, want: true},
		{name: "rm whatever a stop did", autoRemove: true, stopReleases: true, want: true},
		{name: "rm of a removed container", autoRemove: true, removed: true, want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "c")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if _, err := Update(context.Background(), dir, func(st *State) error {
				st.Status, st.StopReleases = Exited, tc.stopReleases
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if tc.removed {
				os.RemoveAll(dir)
			}
			m := &monitor{cfg: Config{StateDir: dir, AutoRemove: tc.autoRemove}}
			if got := m.hookNeeded(); got != tc.want {
				t.Errorf("hookNeeded = %v, want %v", got, tc.want)
			}
		})
	}
}

// An attached `run --rm` client removes the container after it hears the
// exit: the monitor waits for it and then has nothing left to do; one that
// dies without removing leaves the hook to run.
func TestHookNeededWaitsForRemovingClient(t *testing.T) {
	for _, tc := range []struct {
		name    string
		removes bool
		want    bool
	}{
		{"client removes", true, false},
		{"client dies first", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "c")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			script := "sleep 0.2"
			if tc.removes {
				script += "; rm -rf " + dir
			}
			client := exec.Command("sh", "-c", script)
			if err := client.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { _ = client.Wait(); close(done) }()
			start, _ := StartTime(client.Process.Pid)
			m := &monitor{cfg: Config{StateDir: dir, AutoRemove: true}, exitClients: []proc{{client.Process.Pid, start}}}
			began := time.Now()
			// The client is our child: reap it while hookNeeded polls, as
			// the real client (another process) is reaped by its parent.
			got := m.hookNeeded()
			<-done
			if got != tc.want {
				t.Errorf("hookNeeded = %v, want %v", got, tc.want)
			}
			if d := time.Since(began); d < 150*time.Millisecond {
				t.Errorf("decided after %v, before the client was done", d)
			}
		})
	}
}
