package ocispec

import (
	"slices"
	"syscall"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/runtime"
)

func TestResources(t *testing.T) {
	const mb = 1 << 20
	tests := []struct {
		name    string
		r       runtime.Resources
		mem     *specs.LinuxMemory
		cpu     *specs.LinuxCPU
		pids    *specs.LinuxPids
		wantErr bool
	}{
		{name: "none", mem: &specs.LinuxMemory{}, cpu: &specs.LinuxCPU{}},
		{name: "memory: swap twice", r: runtime.Resources{Memory: 100 * mb}, mem: &specs.LinuxMemory{Limit: ptr[int64](100 * mb), Swap: ptr[int64](200 * mb)}, cpu: &specs.LinuxCPU{}},
		{name: "memory, swap equal: no swap", r: runtime.Resources{Memory: 100 * mb, MemorySwap: 100 * mb}, mem: &specs.LinuxMemory{Limit: ptr[int64](100 * mb), Swap: ptr[int64](100 * mb)}, cpu: &specs.LinuxCPU{}},
		{name: "swap unlimited", r: runtime.Resources{Memory: 100 * mb, MemorySwap: -1}, mem: &specs.LinuxMemory{Limit: ptr[int64](100 * mb)}, cpu: &specs.LinuxCPU{}},
		{name: "reservation alone", r: runtime.Resources{MemoryReservation: 64 * mb}, mem: &specs.LinuxMemory{Reservation: ptr[int64](64 * mb)}, cpu: &specs.LinuxCPU{}},
		{name: "cpus 0.5", r: runtime.Resources{NanoCPUs: 5e8}, mem: &specs.LinuxMemory{}, cpu: &specs.LinuxCPU{Quota: ptr[int64](50000), Period: ptr[uint64](100000)}},
		{name: "cpus 2", r: runtime.Resources{NanoCPUs: 2e9}, mem: &specs.LinuxMemory{}, cpu: &specs.LinuxCPU{Quota: ptr[int64](200000), Period: ptr[uint64](100000)}},
		{name: "cpus 0.01", r: runtime.Resources{NanoCPUs: 1e7}, mem: &specs.LinuxMemory{}, cpu: &specs.LinuxCPU{Quota: ptr[int64](1000), Period: ptr[uint64](100000)}},
		{name: "shares and cpuset", r: runtime.Resources{CPUShares: 512, CpusetCpus: "0,2-3"}, mem: &specs.LinuxMemory{}, cpu: &specs.LinuxCPU{Shares: ptr[uint64](512), Cpus: "0,2-3"}},
		{name: "pids", r: runtime.Resources{PidsLimit: 50}, mem: &specs.LinuxMemory{}, cpu: &specs.LinuxCPU{}, pids: &specs.LinuxPids{Limit: ptr[int64](50)}},
		{name: "pids -1 is unlimited", r: runtime.Resources{PidsLimit: -1}, mem: &specs.LinuxMemory{}, cpu: &specs.LinuxCPU{}},
		{name: "memory under 6MB", r: runtime.Resources{Memory: 5 * mb}, wantErr: true},
		{name: "negative memory", r: runtime.Resources{Memory: -1}, wantErr: true},
		{name: "reservation above memory", r: runtime.Resources{Memory: 64 * mb, MemoryReservation: 128 * mb}, wantErr: true},
		{name: "reservation under 6MB", r: runtime.Resources{MemoryReservation: mb}, wantErr: true},
		{name: "swap without memory", r: runtime.Resources{MemorySwap: 64 * mb}, wantErr: true},
		{name: "swap under memory", r: runtime.Resources{Memory: 64 * mb, MemorySwap: 32 * mb}, wantErr: true},
		{name: "swap -2", r: runtime.Resources{Memory: 64 * mb, MemorySwap: -2}, wantErr: true},
		{name: "cpus too small", r: runtime.Resources{NanoCPUs: 1e6}, wantErr: true},
		{name: "negative cpus", r: runtime.Resources{NanoCPUs: -1}, wantErr: true},
		{name: "negative shares", r: runtime.Resources{CPUShares: -2}, wantErr: true},
		{name: "bad cpuset", r: runtime.Resources{CpusetCpus: "1-0"}, wantErr: true},
		{name: "cpuset words", r: runtime.Resources{CpusetCpus: "all"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Generate(runtime.Config{Cmd: []string{"sh"}, Resources: tt.r}, v1.ImageConfig{}, Options{})
			if !checkErr(t, err, tt.wantErr) {
				return
			}
			got := s.Linux.Resources
			if diff := cmp.Diff(tt.mem, got.Memory); diff != "" {
				t.Errorf("memory (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.cpu, got.CPU); diff != "" {
				t.Errorf("cpu (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.pids, got.Pids); diff != "" {
				t.Errorf("pids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseUlimit(t *testing.T) {
	tests := []struct {
		in      string
		want    runtime.Ulimit
		wantErr bool
	}{
		{in: "nofile=1024:2048", want: runtime.Ulimit{Name: "nofile", Soft: 1024, Hard: 2048}},
		{in: "nofile=1024", want: runtime.Ulimit{Name: "nofile", Soft: 1024, Hard: 1024}},
		{in: "core=-1", want: runtime.Ulimit{Name: "core", Soft: -1, Hard: -1}},
		{in: "core=0:-1", want: runtime.Ulimit{Name: "core", Soft: 0, Hard: -1}},
		{in: "nproc=10:5", wantErr: true},
		{in: "nofile=-1:10", wantErr: true},
		{in: "nofile", wantErr: true},
		{in: "nofile=a", wantErr: true},
		{in: "nofile=1:2:3", wantErr: true},
		{in: "as=1", wantErr: true},
		{in: "files=1", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseUlimit(tt.in)
		if tt.wantErr {
			if !errdefs.IsInvalidArgument(err) {
				t.Errorf("%q: err = %v, want invalid argument", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestRlimits(t *testing.T) {
	tests := []struct {
		name    string
		u       []runtime.Ulimit
		want    []specs.POSIXRlimit
		wantErr bool
	}{
		{name: "none by default"},
		{name: "nofile", u: []runtime.Ulimit{{Name: "nofile", Soft: 1024, Hard: 4096}}, want: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 4096}}},
		{name: "unlimited", u: []runtime.Ulimit{{Name: "memlock", Soft: -1, Hard: -1}}, want: []specs.POSIXRlimit{{Type: "RLIMIT_MEMLOCK", Soft: ^uint64(0), Hard: ^uint64(0)}}},
		{name: "unknown", u: []runtime.Ulimit{{Name: "files", Soft: 1, Hard: 1}}, wantErr: true},
		{name: "soft above hard", u: []runtime.Ulimit{{Name: "nofile", Soft: 10, Hard: 1}}, wantErr: true},
		{name: "soft unlimited, hard not", u: []runtime.Ulimit{{Name: "nofile", Soft: -1, Hard: 1}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Generate(runtime.Config{Cmd: []string{"sh"}, Ulimits: tt.u}, v1.ImageConfig{}, Options{})
			if !checkErr(t, err, tt.wantErr) {
				return
			}
			if diff := cmp.Diff(tt.want, s.Process.Rlimits); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateSysctl(t *testing.T) {
	tests := []struct {
		name        string
		hostNetwork bool
		ok          bool
	}{
		{name: "kernel.msgmax", ok: true},
		{name: "kernel.msgmnb", ok: true},
		{name: "kernel.msgmni", ok: true},
		{name: "kernel.sem", ok: true},
		{name: "kernel.shmall", ok: true},
		{name: "kernel.shmmax", ok: true},
		{name: "kernel.shmmni", ok: true},
		{name: "kernel.shm_rmid_forced", ok: true},
		{name: "fs.mqueue.msg_max", ok: true},
		{name: "net.core.somaxconn", ok: true},
		{name: "net.ipv4.ip_forward", ok: true},
		{name: "net.core.somaxconn", hostNetwork: true, ok: false},
		{name: "fs.mqueue.queues_max", hostNetwork: true, ok: true},
		{name: "kernel.pid_max"},
		{name: "kernel.shm_next_id_typo"},
		{name: "vm.swappiness"},
		{name: "fs.file-max"},
		{name: "kernel.domainname"},
	}
	for _, tt := range tests {
		err := ValidateSysctl(tt.name, tt.hostNetwork)
		if tt.ok && err != nil {
			t.Errorf("%s (host network %v): %v", tt.name, tt.hostNetwork, err)
		}
		if !tt.ok && !errdefs.IsInvalidArgument(err) {
			t.Errorf("%s (host network %v): err = %v, want invalid argument", tt.name, tt.hostNetwork, err)
		}
	}
}

func TestParseSignal(t *testing.T) {
	tests := []struct {
		in      string
		want    syscall.Signal
		wantErr bool
	}{
		{in: "SIGTERM", want: syscall.SIGTERM},
		{in: "TERM", want: syscall.SIGTERM},
		{in: "term", want: syscall.SIGTERM},
		{in: "sigkill", want: syscall.SIGKILL},
		{in: "15", want: syscall.SIGTERM},
		{in: "9", want: syscall.SIGKILL},
		{in: "SIGQUIT", want: syscall.SIGQUIT},
		{in: "USR1", want: syscall.SIGUSR1},
		{in: "SIGWINCH", want: syscall.SIGWINCH},
		{in: "RTMIN", want: 34},
		{in: "SIGRTMIN+3", want: 37},
		{in: "RTMAX", want: 64},
		{in: "rtmax-2", want: 62},
		{in: "64", want: 64},
		{in: "0", wantErr: true},
		{in: "65", wantErr: true},
		{in: "-1", wantErr: true},
		{in: "SIGFOO", wantErr: true},
		{in: "RTMIN-1", wantErr: true},
		{in: "RTMAX+1", wantErr: true},
		{in: "RTMIN+x", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseSignal(tt.in)
		if tt.wantErr {
			if !errdefs.IsInvalidArgument(err) {
				t.Errorf("%q: got %d, err %v, want invalid argument", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestStopSignal(t *testing.T) {
	tests := []struct {
		cfg, img string
		want     syscall.Signal
	}{
		{want: syscall.SIGTERM},
		{img: "SIGQUIT", want: syscall.SIGQUIT},
		{cfg: "SIGINT", img: "SIGQUIT", want: syscall.SIGINT},
		{cfg: "9", want: syscall.SIGKILL},
	}
	for _, tt := range tests {
		got, err := StopSignal(runtime.Config{StopSignal: tt.cfg}, v1.ImageConfig{StopSignal: tt.img})
		if err != nil || got != tt.want {
			t.Errorf("StopSignal(%q, %q) = %d, %v; want %d", tt.cfg, tt.img, got, err, tt.want)
		}
	}
	if _, err := StopSignal(runtime.Config{StopSignal: "NOPE"}, v1.ImageConfig{}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("err = %v, want invalid argument", err)
	}
}

func TestHostDevices(t *testing.T) {
	devs, err := HostDevices()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if d.Path == "/dev/null" {
			if d.Type != "c" || d.Major != 1 || d.Minor != 3 {
				t.Errorf("/dev/null = %+v", d)
			}
			return
		}
		if d.Path == "/dev/console" {
			t.Error("/dev/console listed")
		}
	}
	t.Error("/dev/null not listed")
}

func TestCapsOfMask(t *testing.T) {
	if diff := cmp.Diff(defaultCapabilitiesSorted(), capsOfMask(0xa80425fb)); diff != "" {
		t.Errorf("Docker's default set (-want +got):\n%s", diff)
	}
	if got := capsOfMask(0x1ffffffffff); len(got) != len(allCapabilities) {
		t.Errorf("full mask gives %d capabilities, want %d", len(got), len(allCapabilities))
	}
	if _, err := HostCapabilities(); err != nil {
		t.Fatal(err)
	}
}

// defaultCapabilitiesSorted is DefaultCapabilities() in number order.
func defaultCapabilitiesSorted() []string {
	var out []string
	for _, c := range allCapabilities {
		if slices.Contains(DefaultCapabilities(), c) {
			out = append(out, c)
		}
	}
	return out
}
