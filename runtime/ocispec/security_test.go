package ocispec

import (
	"encoding/json"
	goruntime "runtime"
	"slices"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/runtime"
)

func TestCapabilities(t *testing.T) {
	without := func(drop ...string) []string {
		return slices.DeleteFunc(DefaultCapabilities(), func(c string) bool { return slices.Contains(drop, c) })
	}
	allBut := func(drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(allCapabilities), func(c string) bool { return slices.Contains(drop, c) })
	}
	tests := []struct {
		name       string
		add, drop  []string
		privileged bool
		available  []string
		want       []string
		wantErr    bool
	}{
		{name: "default", want: DefaultCapabilities()},
		{name: "add with prefix", add: []string{"CAP_NET_ADMIN"}, want: append(DefaultCapabilities(), "CAP_NET_ADMIN")},
		{name: "add without prefix, lower case", add: []string{"sys_ptrace"}, want: append(DefaultCapabilities(), "CAP_SYS_PTRACE")},
		{name: "add mixed case", add: []string{"Cap_Sys_Admin"}, want: append(DefaultCapabilities(), "CAP_SYS_ADMIN")},
		{name: "add a default is a no-op", add: []string{"chown"}, want: DefaultCapabilities()},
		{name: "drop", drop: []string{"net_raw", "CAP_MKNOD"}, want: without("CAP_NET_RAW", "CAP_MKNOD")},
		{name: "drop then add the same", add: []string{"kill"}, drop: []string{"kill"}, want: append(without("CAP_KILL"), "CAP_KILL")},
		{name: "drop all", drop: []string{"ALL"}, want: []string{}},
		{name: "drop all lower case, add some", drop: []string{"all"}, add: []string{"setuid", "CAP_SETGID"}, want: []string{"CAP_SETUID", "CAP_SETGID"}},
		{name: "add all", add: []string{"ALL"}, want: allCapabilities},
		{name: "add all but dropped", add: []string{"all"}, drop: []string{"sys_admin", "CAP_NET_ADMIN"}, want: allBut("CAP_SYS_ADMIN", "CAP_NET_ADMIN")},
		{name: "privileged ignores drops", privileged: true, drop: []string{"ALL"}, want: allCapabilities},
		{name: "privileged, restricted host", privileged: true, available: allBut("CAP_SYS_RESOURCE"), want: allBut("CAP_SYS_RESOURCE")},
		{name: "add all, restricted host", add: []string{"ALL"}, drop: []string{"kill"}, available: allBut("CAP_SYS_RESOURCE"), want: allBut("CAP_SYS_RESOURCE", "CAP_KILL")},
		{name: "add unavailable", add: []string{"sys_resource"}, available: allBut("CAP_SYS_RESOURCE"), wantErr: true},
		{name: "default, restricted host", available: allBut("CAP_AUDIT_WRITE"), want: without("CAP_AUDIT_WRITE")},
		{name: "drop unavailable is fine", drop: []string{"sys_resource"}, available: allBut("CAP_SYS_RESOURCE"), want: DefaultCapabilities()},
		{name: "unknown add", add: []string{"fly"}, wantErr: true},
		{name: "unknown drop", drop: []string{"CAP_FLY"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Capabilities(tt.add, tt.drop, tt.privileged, tt.available)
			if !checkErr(t, err, tt.wantErr) {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseSecurityOpts(t *testing.T) {
	tests := []struct {
		opts    []string
		want    Security
		wantErr bool
	}{
		{opts: nil, want: Security{}},
		{opts: []string{"no-new-privileges"}, want: Security{NoNewPrivileges: true}},
		{opts: []string{"no-new-privileges=true"}, want: Security{NoNewPrivileges: true}},
		{opts: []string{"no-new-privileges:true"}, want: Security{NoNewPrivileges: true}},
		{opts: []string{"no-new-privileges", "no-new-privileges=false"}, want: Security{}},
		{opts: []string{"no-new-privileges=maybe"}, wantErr: true},
		{opts: []string{"seccomp=unconfined"}, want: Security{Seccomp: "unconfined"}},
		{opts: []string{"seccomp:unconfined"}, want: Security{Seccomp: "unconfined"}},
		{opts: []string{`seccomp={"defaultAction":"SCMP_ACT_ALLOW"}`}, want: Security{Seccomp: `{"defaultAction":"SCMP_ACT_ALLOW"}`}},
		{opts: []string{"seccomp=/etc/profile.json"}, want: Security{Seccomp: "/etc/profile.json"}},
		{opts: []string{"seccomp="}, wantErr: true},
		{opts: []string{"seccomp"}, wantErr: true},
		{opts: []string{"apparmor=unconfined"}, want: Security{}},
		{opts: []string{"apparmor=my-profile"}, want: Security{AppArmor: "my-profile"}},
		{opts: []string{"systempaths=unconfined"}, want: Security{SystemPaths: "unconfined"}},
		{opts: []string{"systempaths=confined"}, wantErr: true},
		{opts: []string{"writable-cgroups=true"}, want: Security{WritableCgroups: true}},
		{opts: []string{"label=disable"}, want: Security{}},
		{opts: []string{"label:disable"}, want: Security{}},
		{opts: []string{"disable"}, want: Security{}},
		{opts: []string{"label=type:svirt_t"}, wantErr: true},
		{opts: []string{"flying=yes"}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseSecurityOpts(tt.opts)
		if tt.wantErr {
			if !errdefs.IsInvalidArgument(err) {
				t.Errorf("%q: err = %v, want invalid argument", tt.opts, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.opts, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%q = %+v, want %+v", tt.opts, got, tt.want)
		}
	}
}

// TestDefaultSeccomp checks moby's default profile is applied with its
// capability-dependent rules: a rule that allows mount, umount2 and the
// like is there only with CAP_SYS_ADMIN.
func TestDefaultSeccomp(t *testing.T) {
	allows := func(t *testing.T, cfg runtime.Config, syscall string) bool {
		t.Helper()
		cfg.Cmd = []string{"sh"}
		s, err := Generate(cfg, v1.ImageConfig{}, Options{RootPath: "rootfs"})
		if err != nil {
			t.Fatal(err)
		}
		if s.Linux.Seccomp == nil {
			t.Fatal("no seccomp profile")
		}
		if s.Linux.Seccomp.DefaultAction != "SCMP_ACT_ERRNO" {
			t.Errorf("default action %s", s.Linux.Seccomp.DefaultAction)
		}
		for _, rule := range s.Linux.Seccomp.Syscalls {
			if rule.Action == "SCMP_ACT_ALLOW" && len(rule.Args) == 0 && slices.Contains(rule.Names, syscall) {
				return true
			}
		}
		return false
	}
	if !allows(t, runtime.Config{}, "read") {
		t.Error("default profile does not allow read")
	}
	if allows(t, runtime.Config{}, "mount") {
		t.Error("default profile allows mount without CAP_SYS_ADMIN")
	}
	if !allows(t, runtime.Config{CapAdd: []string{"SYS_ADMIN"}}, "mount") {
		t.Error("default profile does not allow mount with CAP_SYS_ADMIN")
	}
}

func TestSeccompProfileSources(t *testing.T) {
	const profile = `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["chmod"],"action":"SCMP_ACT_ERRNO"}]}`
	cfg := runtime.Config{Cmd: []string{"sh"}}
	tests := []struct {
		name     string
		opt      string
		readFile func(string) ([]byte, error)
		wantErr  bool
		wantNil  bool
	}{
		{name: "inline", opt: "seccomp=" + profile},
		{name: "file", opt: "seccomp=/p.json", readFile: func(string) ([]byte, error) { return []byte(profile), nil }},
		{name: "file without reader", opt: "seccomp=/p.json", wantErr: true},
		{name: "bad json", opt: "seccomp={nope", wantErr: true},
		{name: "unconfined", opt: "seccomp=unconfined", wantNil: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg.SecurityOpt = []string{tt.opt}
			s, err := Generate(cfg, v1.ImageConfig{}, Options{RootPath: "rootfs", ReadFile: tt.readFile})
			if !checkErr(t, err, tt.wantErr) {
				return
			}
			if tt.wantNil {
				if s.Linux.Seccomp != nil {
					t.Fatal("seccomp profile set")
				}
				return
			}
			if s.Linux.Seccomp == nil || s.Linux.Seccomp.DefaultAction != "SCMP_ACT_ALLOW" || len(s.Linux.Seccomp.Syscalls) != 1 {
				t.Fatalf("profile not applied: %+v", s.Linux.Seccomp)
			}
		})
	}
}

// TestDefaultSeccompArches: the default profile leaves out x32 when the
// kernel refuses x32 calls, and only then; a given profile is kept as it is.
func TestDefaultSeccompArches(t *testing.T) {
	if goruntime.GOARCH != "amd64" {
		t.Skip("moby's profile lists x86 and x32 only on amd64")
	}
	refused := x32Refused
	t.Cleanup(func() { x32Refused = refused })
	arches := func(t *testing.T, ia32Refused bool, secOpt ...string) []specs.Arch {
		t.Helper()
		s, err := Generate(runtime.Config{Cmd: []string{"sh"}, SecurityOpt: secOpt}, v1.ImageConfig{}, Options{RootPath: "rootfs", IA32Refused: ia32Refused})
		if err != nil {
			t.Fatal(err)
		}
		return s.Linux.Seccomp.Architectures
	}
	given := `seccomp={"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"]}`
	for _, x32 := range []bool{false, true} {
		for _, ia32 := range []bool{false, true} {
			x32Refused = func() bool { return x32 }
			got := arches(t, ia32)
			if slices.Contains(got, specs.ArchX32) == x32 || slices.Contains(got, specs.ArchX86) == ia32 {
				t.Errorf("x32 refused %v, ia32 refused %v: default profile architectures %v", x32, ia32, got)
			}
			if !slices.Contains(got, specs.ArchX86_64) {
				t.Errorf("x32 refused %v, ia32 refused %v: default profile lost the native architecture: %v", x32, ia32, got)
			}
			if got := arches(t, ia32, given); len(got) != 3 {
				t.Errorf("x32 refused %v, ia32 refused %v: a given profile lost an architecture: %v", x32, ia32, got)
			}
		}
	}
}

// A spec whose profile left x86 out says so, and RestoreX86 makes its
// profile Docker's again (for a start on a kernel that runs 32-bit code).
func TestRestoreX86(t *testing.T) {
	if goruntime.GOARCH != "amd64" {
		t.Skip("x86 is amd64's companion architecture")
	}
	full, err := Generate(runtime.Config{Cmd: []string{"sh"}}, v1.ImageConfig{}, Options{RootPath: "rootfs"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := full.Annotations[AnnotationX86LeftOut]; ok {
		t.Fatal("a profile with x86 is marked as without")
	}
	cut, err := Generate(runtime.Config{Cmd: []string{"sh"}}, v1.ImageConfig{}, Options{RootPath: "rootfs", IA32Refused: true})
	if err != nil {
		t.Fatal(err)
	}
	if cut.Annotations[AnnotationX86LeftOut] != "true" || slices.Contains(cut.Linux.Seccomp.Architectures, specs.ArchX86) {
		t.Fatalf("profile without x86: annotations %v, architectures %v", cut.Annotations, cut.Linux.Seccomp.Architectures)
	}
	data, _ := json.Marshal(cut)
	restored, err := RestoreX86(data)
	if err != nil {
		t.Fatal(err)
	}
	var got specs.Spec
	if err := json.Unmarshal(restored, &got); err != nil {
		t.Fatal(err)
	}
	if _, ok := got.Annotations[AnnotationX86LeftOut]; ok || !slices.Contains(got.Linux.Seccomp.Architectures, specs.ArchX86) {
		t.Errorf("restored: annotations %v, architectures %v", got.Annotations, got.Linux.Seccomp.Architectures)
	}
	// Docker's profile again: the same architectures and rules as one made
	// with x86 (x32 follows this kernel in both).
	if !slices.Equal(got.Linux.Seccomp.Architectures, full.Linux.Seccomp.Architectures) || len(got.Linux.Seccomp.Syscalls) != len(full.Linux.Seccomp.Syscalls) {
		t.Errorf("restored %v, %d rules; made with x86 %v, %d rules", got.Linux.Seccomp.Architectures, len(got.Linux.Seccomp.Syscalls), full.Linux.Seccomp.Architectures, len(full.Linux.Seccomp.Syscalls))
	}
	// A spec without the mark is left as it is.
	plain, _ := json.Marshal(full)
	if out, err := RestoreX86(plain); err != nil || string(out) != string(plain) {
		t.Errorf("RestoreX86 changed an unmarked spec: %v", err)
	}
}
