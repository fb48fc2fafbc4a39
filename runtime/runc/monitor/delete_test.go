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
