package build

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"

	"github.com/berth-dev/berth/images"
	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// hostPlatform is the platform of this machine, as the build runs it.
func hostPlatform() v1.Platform {
	return v1.Platform{OS: "linux", Architecture: goruntime.GOARCH}
}

// buildPlatform parses a platform to build for (--platform, FROM
// --platform), default this machine's. One platform a build: a list is
// refused.
func buildPlatform(s string) (v1.Platform, error) {
	if s == "" {
		return hostPlatform(), nil
	}
	if strings.Contains(s, ",") {
		return v1.Platform{}, fmt.Errorf("--platform %s: multi-platform builds are not supported, build one platform at a time: %w", s, errdefs.ErrNotImplemented)
	}
	p, err := images.ParsePlatform(s)
	if err != nil {
		return v1.Platform{}, fmt.Errorf("--platform %s: %w", s, err)
	}
	return normalizePlatform(p), nil
}

// normalizePlatform spells a platform as BuildKit's TARGETPLATFORM does
// (containerd's platforms.Normalize): arm64/v8 is arm64, arm is arm/v7,
// the kernel's names for architectures are Go's.
func normalizePlatform(p v1.Platform) v1.Platform {
	p.OS = strings.ToLower(p.OS)
	switch a := strings.ToLower(p.Architecture); a {
	case "aarch64":
		p.Architecture = "arm64"
	case "x86_64", "x86-64":
		p.Architecture, p.Variant = "amd64", ""
	case "i386", "i686":
		p.Architecture, p.Variant = "386", ""
	case "armhf":
		p.Architecture, p.Variant = "arm", "v7"
	case "armel":
		p.Architecture, p.Variant = "arm", "v6"
	default:
		p.Architecture = a
	}
	switch {
	case p.Architecture == "arm64" && (p.Variant == "v8" || p.Variant == "8"):
		p.Variant = ""
	case p.Architecture == "arm" && p.Variant == "":
		p.Variant = "v7"
	case p.Architecture == "arm" && len(p.Variant) == 1:
		p.Variant = "v" + p.Variant
	}
	return p
}

// platformString is os/arch[/variant].
func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// binfmtDir is where the kernel lists the interpreters it runs foreign
// binaries with.
const binfmtDir = "/proc/sys/fs/binfmt_misc"

// qemuNames are QEMU's names of Go's architectures, as binfmt entries
// (qemu-user-static, tonistiigi/binfmt) are named.
var qemuNames = map[string]string{
	"amd64": "x86_64", "386": "i386", "arm64": "aarch64", "arm": "arm",
	"ppc64le": "ppc64le", "ppc64": "ppc64", "s390x": "s390x", "riscv64": "riscv64",
	"mips64le": "mips64el", "mips64": "mips64", "mipsle": "mipsel", "mips": "mips",
	"loong64": "loongarch64",
}

// canRun reports whether this machine (architecture host) can run the
// binaries of p: natively, or through an enabled qemu entry in binfmt (the
// binfmt_misc directory). Otherwise the error says so,
// errdefs.ErrFailedPrecondition.
func canRun(p v1.Platform, host, binfmt string) error {
	if p.Architecture == "" || p.Architecture == host || host == "amd64" && p.Architecture == "386" {
		return nil
	}
	q, ok := qemuNames[p.Architecture]
	if ok && enabled(filepath.Join(binfmt, "status")) {
		for _, name := range []string{"qemu-" + q, "qemu-" + q + "-static"} {
			if enabled(filepath.Join(binfmt, name)) {
				return nil
			}
		}
	}
	want := "enabled qemu-" + q + " entry"
	if !ok {
		want = "emulator for " + p.Architecture
	}
	return fmt.Errorf("cannot run %s binaries on this linux/%s machine: no emulator is registered (%s has no %s; qemu-user-static or tonistiigi/binfmt install one): %w",
		platformString(p), host, binfmt, want, errdefs.ErrFailedPrecondition)
}

// enabled reports whether a binfmt_misc file starts with "enabled".
func enabled(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	return s.Scan() && strings.TrimSpace(s.Text()) == "enabled"
}
