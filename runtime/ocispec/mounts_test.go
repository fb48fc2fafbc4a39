package ocispec

import (
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/runtime"
)

func TestTmpfsOptions(t *testing.T) {
	tests := []struct {
		data    string
		want    []string
		wantErr bool
	}{
		{data: "", want: []string{"noexec", "nosuid", "nodev", "rprivate"}},
		{data: "size=64m", want: []string{"noexec", "nosuid", "nodev", "rprivate", "size=64m"}},
		{data: "exec", want: []string{"nosuid", "nodev", "rprivate", "exec"}},
		{data: "rw,noexec,mode=1770", want: []string{"nosuid", "nodev", "rprivate", "rw", "noexec", "mode=1770"}},
		{data: "ro,rw", want: []string{"noexec", "nosuid", "nodev", "rprivate", "rw"}},
		{data: "shared", want: []string{"noexec", "nosuid", "nodev", "shared"}},
		{data: "size=1m,size=2m", want: []string{"noexec", "nosuid", "nodev", "rprivate", "size=2m"}},
		{data: "defaults,suid,dev", want: []string{"noexec", "rprivate", "suid", "dev"}},
		{data: "uid=1000,gid=1000,nr_inodes=1k", want: []string{"noexec", "nosuid", "nodev", "rprivate", "uid=1000", "gid=1000", "nr_inodes=1k"}},
		{data: "bogus", wantErr: true},
		{data: "size", wantErr: true},
		{data: "color=blue", wantErr: true},
	}
	for _, tt := range tests {
		got, err := TmpfsOptions(tt.data)
		if tt.wantErr {
			if !errdefs.IsInvalidArgument(err) {
				t.Errorf("%q: err = %v, want invalid argument", tt.data, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.data, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.data, diff)
		}
	}
}

func TestParseTmpfs(t *testing.T) {
	tests := []struct {
		arg, target, options string
		wantErr              bool
	}{
		{arg: "/run", target: "/run"},
		{arg: "/run/:rw,size=64m", target: "/run", options: "rw,size=64m"},
		{arg: "run", wantErr: true},
		{arg: "/run:bogus", wantErr: true},
	}
	for _, tt := range tests {
		target, options, err := ParseTmpfs(tt.arg)
		if tt.wantErr {
			if !errdefs.IsInvalidArgument(err) {
				t.Errorf("%q: err = %v, want invalid argument", tt.arg, err)
			}
			continue
		}
		if err != nil || target != tt.target || options != tt.options {
			t.Errorf("%q = %q, %q, %v; want %q, %q", tt.arg, target, options, err, tt.target, tt.options)
		}
	}
}

func TestTmpfsData(t *testing.T) {
	tests := []struct {
		m    runtime.Mount
		want string
	}{
		{m: runtime.Mount{}, want: ""},
		{m: runtime.Mount{ReadOnly: true}, want: "ro"},
		{m: runtime.Mount{TmpfsMode: 0o1777}, want: "mode=1777"},
		{m: runtime.Mount{TmpfsSize: 2 << 30}, want: "size=2g"},
		{m: runtime.Mount{TmpfsSize: 3 << 20}, want: "size=3m"},
		{m: runtime.Mount{TmpfsSize: 1536}, want: "size=1536"},
		{m: runtime.Mount{TmpfsSize: 3072}, want: "size=3k"},
		{m: runtime.Mount{ReadOnly: true, TmpfsMode: 0o700, TmpfsSize: 1 << 20}, want: "ro,mode=700,size=1m"},
	}
	for _, tt := range tests {
		if got := tmpfsData(tt.m); got != tt.want {
			t.Errorf("tmpfsData(%+v) = %q, want %q", tt.m, got, tt.want)
		}
	}
}

func TestImageVolumes(t *testing.T) {
	img := v1.ImageConfig{Volumes: map[string]struct{}{"/data": {}, "/logs/": {}, "/cache": {}, "/tmpfs": {}}}
	cfg := runtime.Config{
		Mounts: []runtime.Mount{{Type: "bind", Source: "/srv", Target: "/data/"}},
		Tmpfs:  map[string]string{"/tmpfs": ""},
	}
	if diff := cmp.Diff([]string{"/cache", "/logs"}, ImageVolumes(cfg, img)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestMountErrors(t *testing.T) {
	tests := []struct {
		name string
		m    runtime.Mount
	}{
		{name: "relative bind source", m: runtime.Mount{Type: "bind", Source: "srv", Target: "/srv"}},
		{name: "relative target", m: runtime.Mount{Type: "bind", Source: "/srv", Target: "srv"}},
		{name: "root target", m: runtime.Mount{Type: "bind", Source: "/srv", Target: "/"}},
		{name: "unknown type", m: runtime.Mount{Type: "nfs", Source: "/srv", Target: "/srv"}},
		{name: "no type", m: runtime.Mount{Source: "/srv", Target: "/srv"}},
		{name: "bad propagation", m: runtime.Mount{Type: "bind", Source: "/srv", Target: "/srv", Propagation: "both"}},
		{name: "volume without directory", m: runtime.Mount{Type: "volume", Source: "v", Target: "/v"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := runtime.Config{Cmd: []string{"sh"}, Mounts: []runtime.Mount{tt.m}}
			if _, err := Generate(cfg, v1.ImageConfig{}, Options{}); !errdefs.IsInvalidArgument(err) {
				t.Fatalf("err = %v, want invalid argument", err)
			}
		})
	}
}

func TestRootPropagation(t *testing.T) {
	bind := func(p string) specs.Mount { return bindMount("/s", "/d", false, p) }
	tests := []struct {
		ms   []specs.Mount
		want string
	}{
		{ms: nil, want: ""},
		{ms: []specs.Mount{bind("")}, want: ""},
		{ms: []specs.Mount{bind("rslave")}, want: "rslave"},
		{ms: []specs.Mount{bind("slave"), bind("shared")}, want: "shared"},
		{ms: []specs.Mount{bind("rshared"), bind("rslave")}, want: "shared"},
	}
	for _, tt := range tests {
		if got := rootPropagation(tt.ms); got != tt.want {
			t.Errorf("rootPropagation(%v) = %q, want %q", tt.ms, got, tt.want)
		}
	}
}
