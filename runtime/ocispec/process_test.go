package ocispec

import (
	"testing"
	"testing/fstest"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/runtime"
)

func TestMergeImageCommand(t *testing.T) {
	img := v1.ImageConfig{Entrypoint: []string{"/entry"}, Cmd: []string{"serve"}}
	tests := []struct {
		name            string
		entrypoint, cmd []string
		img             v1.ImageConfig
		want            []string
		wantErr         bool
	}{
		{name: "image's", img: img, want: []string{"/entry", "serve"}},
		{name: "cmd replaces image cmd", cmd: []string{"debug"}, img: img, want: []string{"/entry", "debug"}},
		{name: "empty cmd is the image's", cmd: []string{}, img: img, want: []string{"/entry", "serve"}},
		{name: "entrypoint drops image cmd", entrypoint: []string{"/other"}, img: img, want: []string{"/other"}},
		{name: "entrypoint and cmd", entrypoint: []string{"/other"}, cmd: []string{"x"}, img: img, want: []string{"/other", "x"}},
		{name: "empty entrypoint keeps image cmd", entrypoint: []string{}, img: img, want: []string{"serve"}},
		{name: `[""] entrypoint is empty`, entrypoint: []string{""}, img: img, want: []string{"serve"}},
		{name: "empty entrypoint with cmd", entrypoint: []string{}, cmd: []string{"ls"}, img: img, want: []string{"ls"}},
		{name: "image without entrypoint", img: v1.ImageConfig{Cmd: []string{"sh"}}, want: []string{"sh"}},
		{name: "image entrypoint only", img: v1.ImageConfig{Entrypoint: []string{"/e"}}, want: []string{"/e"}},
		{name: "nothing", img: v1.ImageConfig{}, wantErr: true},
		{name: "empty entrypoint, image has no cmd", entrypoint: []string{}, img: v1.ImageConfig{Entrypoint: []string{"/e"}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			merged := MergeImage(runtime.Config{Entrypoint: tt.entrypoint, Cmd: tt.cmd}, tt.img)
			if again := MergeImage(merged, tt.img); !cmp.Equal(again, merged) {
				t.Errorf("MergeImage is not idempotent: %s", cmp.Diff(merged, again))
			}
			got, err := Command(merged)
			if !checkErr(t, err, tt.wantErr) {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestMergeImageFields(t *testing.T) {
	img := v1.ImageConfig{User: "app", WorkingDir: "/srv", StopSignal: "SIGQUIT", Env: []string{"A=img", "B=img"}}
	got := MergeImage(runtime.Config{Env: []string{"B=mine", "C=mine"}}, img)
	want := runtime.Config{User: "app", WorkingDir: "/srv", StopSignal: "SIGQUIT", Env: []string{"B=mine", "C=mine", "A=img"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	got = MergeImage(runtime.Config{User: "root", WorkingDir: "/", StopSignal: "9"}, img)
	want = runtime.Config{User: "root", WorkingDir: "/", StopSignal: "9", Env: []string{"A=img", "B=img"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestEnv(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		tty  bool
		want []string
	}{
		{name: "defaults", want: []string{"PATH=" + DefaultPathEnv, "HOSTNAME=h"}},
		{name: "tty", tty: true, want: []string{"PATH=" + DefaultPathEnv, "HOSTNAME=h", "TERM=xterm"}},
		{name: "override in place", tty: true, env: []string{"A=1", "TERM=vt100", "PATH=/bin"}, want: []string{"PATH=/bin", "HOSTNAME=h", "TERM=vt100", "A=1"}},
		{name: "unset a default", env: []string{"HOSTNAME"}, want: []string{"PATH=" + DefaultPathEnv}},
		{name: "unset an unknown is nothing", env: []string{"NOPE"}, want: []string{"PATH=" + DefaultPathEnv, "HOSTNAME=h"}},
		{name: "empty value kept", env: []string{"E="}, want: []string{"PATH=" + DefaultPathEnv, "HOSTNAME=h", "E="}},
		{name: "twice: first place, last value", env: []string{"A=1", "B=2", "A=3"}, want: []string{"PATH=" + DefaultPathEnv, "HOSTNAME=h", "A=3", "B=2"}},
		{name: "value with =", env: []string{"Q=a=b"}, want: []string{"PATH=" + DefaultPathEnv, "HOSTNAME=h", "Q=a=b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := env(runtime.Config{Env: tt.env, Tty: tt.tty}, "h")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestUser(t *testing.T) {
	rootfs := fstest.MapFS{
		"etc/passwd": {Data: []byte("root:x:0:0:root:/root:/bin/sh\nweb:x:33:33::/var/www:/bin/false\n")},
		"etc/group":  {Data: []byte("root:x:0:\nweb:x:33:\nlog:x:4:web\ndocker:x:999:web\n")},
	}
	tests := []struct {
		name     string
		fsys     fstest.MapFS
		user     string
		groupAdd []string
		want     specs.User
		wantErr  string
	}{
		{name: "default root", fsys: rootfs, want: specs.User{AdditionalGids: []uint32{0}}},
		{name: "name", fsys: rootfs, user: "web", want: specs.User{UID: 33, GID: 33, AdditionalGids: []uint32{33, 4, 999}}},
		{name: "uid of a known user", fsys: rootfs, user: "33", want: specs.User{UID: 33, GID: 33, AdditionalGids: []uint32{33, 4, 999}}},
		{name: "unknown uid", fsys: rootfs, user: "5000", want: specs.User{UID: 5000, AdditionalGids: []uint32{0}}},
		{name: "uid:gid", fsys: rootfs, user: "5000:6000", want: specs.User{UID: 5000, GID: 6000, AdditionalGids: []uint32{6000}}},
		{name: "name:group", fsys: rootfs, user: "web:log", want: specs.User{UID: 33, GID: 4, AdditionalGids: []uint32{4}}},
		{name: "name:gid", fsys: rootfs, user: "web:0", want: specs.User{UID: 33, GID: 0, AdditionalGids: []uint32{0}}},
		{name: "group-add", fsys: rootfs, user: "web", groupAdd: []string{"root", "777", "log"}, want: specs.User{UID: 33, GID: 33, AdditionalGids: []uint32{33, 4, 999, 0, 777}}},
		{name: "no files, numeric", user: "1:2", want: specs.User{UID: 1, GID: 2, AdditionalGids: []uint32{2}}},
		{name: "unknown user", fsys: rootfs, user: "nobody", wantErr: `unknown user "nobody": no matching entries in /etc/passwd`},
		{name: "unknown user, no files", user: "web", wantErr: `unknown user "web": no matching entries in /etc/passwd`},
		{name: "unknown group", fsys: rootfs, user: "web:wheel", wantErr: `unknown group "wheel": no matching entries in /etc/group`},
		{name: "unknown group-add", fsys: rootfs, groupAdd: []string{"wheel"}, wantErr: "group-add wheel: unable to find group wheel: no matching entries in group file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{RootPath: "rootfs"}
			if tt.fsys != nil {
				opts.RootFS = tt.fsys
			}
			s, err := Generate(runtime.Config{User: tt.user, GroupAdd: tt.groupAdd, Cmd: []string{"sh"}}, v1.ImageConfig{}, opts)
			if tt.wantErr != "" {
				if !errdefs.IsInvalidArgument(err) || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want invalid argument %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, s.Process.User); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestProcessErrors(t *testing.T) {
	long := "h123456789012345678901234567890123456789012345678901234567890abcd"
	tests := []struct {
		name string
		cfg  runtime.Config
		opts Options
	}{
		{name: "relative workdir", cfg: runtime.Config{WorkingDir: "srv"}},
		{name: "init without binary", cfg: runtime.Config{Init: true}},
		{name: "hostname too long", cfg: runtime.Config{Hostname: long}},
		{name: "host network with a netns path", cfg: runtime.Config{NetworkMode: "host"}, opts: Options{NetNSPath: "/run/netns/x"}},
		{name: "negative shm size", cfg: runtime.Config{ShmSize: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Cmd = []string{"sh"}
			if _, err := Generate(tt.cfg, v1.ImageConfig{}, tt.opts); !errdefs.IsInvalidArgument(err) {
				t.Fatalf("err = %v, want invalid argument", err)
			}
		})
	}
}
