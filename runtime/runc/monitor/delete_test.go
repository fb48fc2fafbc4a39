package monitor

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestDeleteRuncState(t *testing.T) {
	tests := []struct {
		name      string
		runtime   string
		busy      bool // a cgroup still has something in it
		noState   bool
		want      bool
		stateLeft bool
	}{
		{name: "runc", runtime: "/usr/sbin/runc", want: true},
		{name: "already deleted", runtime: "runc", noState: true, want: true},
		{name: "another runtime", runtime: "/usr/bin/crun", want: false, stateLeft: true},
		{name: "cgroup not empty", runtime: "runc", busy: true, want: false, stateLeft: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			root, id := filepath.Join(tmp, "runc"), "c1"
			cg := []string{filepath.Join(tmp, "memory", "c1"), filepath.Join(tmp, "pids", "c1")}
			for _, d := range cg {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if tt.busy {
				if err := os.WriteFile(filepath.Join(cg[1], "x"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if !tt.noState {
				state, _ := json.Marshal(map[string]any{"id": id, "cgroup_paths": map[string]string{"memory": cg[0], "pids": cg[1]}})
				if err := os.MkdirAll(filepath.Join(root, id), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(root, id, "state.json"), state, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			m := &monitor{cfg: Config{ID: id, Runtime: tt.runtime, RuntimeRoot: root}}
			if got := m.deleteRuncState(); got != tt.want {
				t.Fatalf("deleteRuncState = %v, want %v", got, tt.want)
			}
			if left := exists(filepath.Join(root, id)); left != tt.stateLeft && !tt.noState {
				t.Errorf("state dir left = %v, want %v", left, tt.stateLeft)
			}
			if tt.want && !tt.noState {
				for _, d := range cg {
					if exists(d) {
						t.Errorf("cgroup %s left", d)
					}
				}
			}
		})
	}
}

// The exit of a run --rm goes out before its cgroups are deleted only when
// they hold no process; unknown is not empty.
func TestCgroupsEmpty(t *testing.T) {
	dir := t.TempDir()
	memory, unified := filepath.Join(dir, "memory"), filepath.Join(dir, "unified")
	for _, d := range []string{memory, unified} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	m := &monitor{cfg: Config{OOMFiles: []string{filepath.Join(memory, "memory.oom_control"), filepath.Join(unified, "memory.events")}}}
	if m.cgroupsEmpty() {
		t.Error("no cgroup.procs to read: empty")
	}
	write := func(d, procs string) {
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(procs), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(memory, "")
	if !m.cgroupsEmpty() {
		t.Error("an empty cgroup.procs: not empty")
	}
	write(unified, "4321\n")
	if m.cgroupsEmpty() {
		t.Error("a process left in one of them: empty")
	}
}
