package runc

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestArgs(t *testing.T) {
	const root = "/run/berth/runc"
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{"kill", killArgs(root, "c1", "TERM", false), []string{"--root", root, "kill", "c1", "TERM"}},
		{"kill all", killArgs(root, "c1", "KILL", true), []string{"--root", root, "kill", "--all", "c1", "KILL"}},
		{"kill default root", killArgs("", "c1", "9", false), []string{"kill", "c1", "9"}},
		{"delete", deleteArgs(root, "c1", false), []string{"--root", root, "delete", "c1"}},
		{"delete force", deleteArgs(root, "c1", true), []string{"--root", root, "delete", "--force", "c1"}},
		{"state", stateArgs(root, "c1"), []string{"--root", root, "state", "c1"}},
		{"pause", pauseArgs(root, "c1"), []string{"--root", root, "pause", "c1"}},
		{"resume", resumeArgs(root, "c1"), []string{"--root", root, "resume", "c1"}},
		{"ps default", psArgs(root, "c1", nil), []string{"--root", root, "ps", "c1"}},
		{"ps args", psArgs(root, "c1", []string{"-o", "pid,comm"}), []string{"--root", root, "ps", "c1", "-o", "pid,comm"}},
		{"exec plain", execArgs(root, execSpec{ID: "c1", Args: []string{"sh", "-c", "exit 3"}}),
			[]string{"--root", root, "exec", "c1", "sh", "-c", "exit 3"}},
		{"exec everything", execArgs(root, execSpec{
			ID: "c1", Args: []string{"id"}, Env: []string{"A=1", "B=2"}, Cwd: "/tmp", User: "1000:1000",
			Tty: true, Detach: true, PidFile: "/run/p", Caps: []string{"CAP_SYS_ADMIN"},
		}), []string{"--root", root, "exec", "--tty", "--detach", "--pid-file", "/run/p", "--cwd", "/tmp", "--user", "1000:1000",
			"--env", "A=1", "--env", "B=2", "--cap", "CAP_SYS_ADMIN", "c1", "id"}},
		{"exec args look like flags", execArgs(root, execSpec{ID: "c1", Args: []string{"ls", "--all"}}),
			[]string{"--root", root, "exec", "c1", "ls", "--all"}},
		{"update", updateArgs(root, "c1", updateSpec{Memory: 1 << 20, CPUQuota: 50000, CPUPeriod: 100000, PidsLimit: 10}),
			[]string{"--root", root, "update", "--memory", "1048576", "--cpu-quota", "50000", "--cpu-period", "100000", "--pids-limit", "10", "c1"}},
		{"update nothing", updateArgs(root, "c1", updateSpec{}), []string{"--root", root, "update", "c1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.got); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
		})
	}
}
