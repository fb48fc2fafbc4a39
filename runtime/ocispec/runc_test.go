package ocispec

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/internal/testimage"
	"github.com/berth-dev/berth/runtime"
)

// TestRuncAcceptsSpec runs generated specs with the real runc on a busybox
// root, proving runc accepts them and that the process gets Docker's
// capabilities, user, mounts and limits. It needs root and runc and runs
// only with BERTH_TEST_ROOT=1. Each container runs in the foreground with
// its own runc state directory under the test's temporary directory, so
// runc removes it and its cgroup when it exits; a failed run is deleted
// with runc delete -f.
func TestRuncAcceptsSpec(t *testing.T) {
	if os.Getenv("BERTH_TEST_ROOT") != "1" {
		t.Skip("needs root and runc: set BERTH_TEST_ROOT=1")
	}
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("runc is not installed")
	}
	// runc refuses a bundle whose path goes through a symlink.
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rootfs := filepath.Join(dir, "rootfs")
	testimage.Rootfs(t, rootfs)
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })

	hosts, err := HostsFile(Hosts{Hostname: "berth-test", ExtraHosts: []string{"db:10.9.8.7"}})
	if err != nil {
		t.Fatal(err)
	}
	resolv, _, err := ResolvConf([]byte("nameserver 127.0.0.53\n"), DNS{Nameservers: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"hostname": []byte("berth-test\n"), "hosts": hosts, "resolv.conf": resolv}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	available, err := HostCapabilities()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		cfg    runtime.Config
		script string
		want   []string // lines the output must contain
	}{
		{
			name:   "defaults",
			script: "id; grep Cap /proc/self/status; hostname; grep db /etc/hosts; grep nameserver /etc/resolv.conf; cat /proc/sys/net/ipv4/ip_unprivileged_port_start; cat /proc/kcore >/dev/null 2>&1 && echo kcore-readable; df /dev/shm | tail -1",
			want: []string{
				"uid=0(root) gid=0(root)",
				"CapPrm:\t00000000a80425fb",
				"CapEff:\t00000000a80425fb",
				"CapBnd:\t00000000a80425fb",
				"CapAmb:\t0000000000000000",
				"berth-test",
				"10.9.8.7\tdb",
				"nameserver 127.0.0.1",
				"0",
				"65536",
			},
		},
		{
			name:   "user and caps",
			cfg:    runtime.Config{User: "app", CapDrop: []string{"ALL"}, CapAdd: []string{"net_bind_service"}, GroupAdd: []string{"daemon"}},
			script: "id; grep Cap /proc/self/status",
			want: []string{
				"uid=1000(app) gid=1000(app) groups=1(daemon),1000(app)",
				"CapEff:\t0000000000000000",
				"CapBnd:\t0000000000000400",
			},
		},
		{
			name: "read-only root, tmpfs, limits, no-new-privileges",
			cfg: runtime.Config{
				ReadOnly:    true,
				Tmpfs:       map[string]string{"/scratch": "size=1m"},
				Ulimits:     []runtime.Ulimit{{Name: "nofile", Soft: 1024, Hard: 2048}},
				Resources:   runtime.Resources{Memory: 64 << 20, PidsLimit: 50, NanoCPUs: 5e8},
				SecurityOpt: []string{"no-new-privileges"},
				Env:         []string{"GREETING=hello"},
				WorkingDir:  "/tmp",
			},
			script: "touch /x 2>/dev/null || echo root-ro; touch /scratch/x && echo scratch-rw; ulimit -n; ulimit -Hn; grep NoNewPrivs /proc/self/status; echo $GREETING; pwd; " +
				"echo mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null); " +
				"echo pids=$(cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null); " +
				"echo cpu=$(cat /sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu.max 2>/dev/null | head -1)",
			want: []string{"root-ro", "scratch-rw", "1024", "2048", "NoNewPrivs:\t1", "hello", "/tmp", "mem=67108864", "pids=50", "cpu=50000"},
		},
		{
			// Docker creates a missing working directory; runc does too.
			name:   "missing working directory",
			cfg:    runtime.Config{WorkingDir: "/srv/new/dir", User: "app"},
			script: "pwd",
			want:   []string{"/srv/new/dir"},
		},
		{
			name:   "privileged",
			cfg:    runtime.Config{Privileged: true},
			script: "grep CapBnd /proc/self/status; grep Seccomp: /proc/self/status",
			want:   []string{fmt.Sprintf("CapBnd:\t%016x", maskOf(available)), "Seccomp:\t0"},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bundle := filepath.Join(dir, fmt.Sprintf("bundle%d", i))
			if err := os.Mkdir(bundle, 0o700); err != nil {
				t.Fatal(err)
			}
			id := fmt.Sprintf("berth-ocispec-%d-%d", os.Getpid(), time.Now().UnixNano())
			cfg := tt.cfg
			cfg.NetworkMode = "none"
			cfg.Cmd = []string{"sh", "-c", tt.script}
			opts := Options{
				RootPath:       rootfs,
				RootFS:         root.FS(),
				Hostname:       "berth-test",
				HostnamePath:   filepath.Join(dir, "hostname"),
				HostsPath:      filepath.Join(dir, "hosts"),
				ResolvConfPath: filepath.Join(dir, "resolv.conf"),
				CgroupsPath:    "/" + id,
				Capabilities:   available,
			}
			if cfg.Privileged {
				if opts.Devices, err = HostDevices(); err != nil {
					t.Fatal(err)
				}
			}
			s, err := Generate(cfg, v1.ImageConfig{}, opts)
			if err != nil {
				t.Fatal(err)
			}
			data, err := json.MarshalIndent(s, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			state := filepath.Join(dir, "runc")
			t.Cleanup(func() {
				// Context-free: t.Context is done by now. A no-op when runc
				// already removed the container.
				exec.Command(runc, "--root", state, "delete", "-f", id).Run()
			})
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, runc, "--root", state, "run", "--bundle", bundle, id)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				t.Fatalf("runc run: %v\n%s", err, out.String())
			}
			lines := strings.Split(out.String(), "\n")
			for _, w := range tt.want {
				if !containsLine(lines, w) {
					t.Errorf("output has no line containing %q:\n%s", w, out.String())
				}
			}
			if strings.Contains(out.String(), "kcore-readable") {
				t.Errorf("/proc/kcore is readable: masked paths not applied")
			}
		})
	}
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if strings.Contains(l, want) {
			return true
		}
	}
	return false
}

func maskOf(caps []string) uint64 {
	var m uint64
	for i, c := range allCapabilities {
		if slices.Contains(caps, c) {
			m |= 1 << i
		}
	}
	return m
}
