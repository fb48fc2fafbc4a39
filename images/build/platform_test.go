package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestBuildPlatform(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      error
	}{
		{in: "linux/arm64", want: "linux/arm64"},
		{in: "linux/arm64/v8", want: "linux/arm64"},
		{in: "linux/aarch64", want: "linux/arm64"},
		{in: "linux/arm", want: "linux/arm/v7"},
		{in: "linux/arm/6", want: "linux/arm/v6"},
		{in: "linux/x86_64", want: "linux/amd64"},
		{in: "Linux/AMD64", want: "linux/amd64"},
		{in: "linux/riscv64", want: "linux/riscv64"},
		{in: "linux/amd64,linux/arm64", err: errdefs.ErrNotImplemented},
		{in: "linux", err: errdefs.ErrInvalidArgument},
	} {
		p, err := buildPlatform(tc.in)
		if tc.err != nil {
			if !errorsIs(err, tc.err) {
				t.Errorf("%s: error %v, want %v", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || platformString(p) != tc.want {
			t.Errorf("%s: %s %v, want %s", tc.in, platformString(p), err, tc.want)
		}
	}
}

func errorsIs(err, class error) bool {
	switch class {
	case errdefs.ErrNotImplemented:
		return errdefs.IsNotImplemented(err)
	case errdefs.ErrInvalidArgument:
		return errdefs.IsInvalidArgument(err)
	}
	return false
}

func TestCanRun(t *testing.T) {
	none := t.TempDir()
	qemu := t.TempDir()
	for name, content := range map[string]string{
		"status":       "enabled\n",
		"qemu-aarch64": "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\n",
		"qemu-riscv64": "disabled\ninterpreter /usr/bin/qemu-riscv64-static\n",
	} {
		if err := os.WriteFile(filepath.Join(qemu, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		arch, host, binfmt string
		ok                 bool
	}{
		{arch: "amd64", host: "amd64", binfmt: none, ok: true},
		{arch: "", host: "amd64", binfmt: none, ok: true}, // an image that does not say
		{arch: "386", host: "amd64", binfmt: none, ok: true},
		{arch: "arm64", host: "amd64", binfmt: none},
		{arch: "arm64", host: "amd64", binfmt: qemu, ok: true},
		{arch: "riscv64", host: "amd64", binfmt: qemu}, // disabled entry
		{arch: "s390x", host: "amd64", binfmt: qemu},
		{arch: "amd64", host: "arm64", binfmt: qemu},
	} {
		err := canRun(v1.Platform{OS: "linux", Architecture: tc.arch}, tc.host, tc.binfmt)
		if tc.ok != (err == nil) {
			t.Errorf("%s on %s (%s): %v", tc.arch, tc.host, filepath.Base(tc.binfmt), err)
		}
		if err != nil && (!errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "no emulator is registered")) {
			t.Errorf("%s on %s: error %v", tc.arch, tc.host, err)
		}
	}
}
