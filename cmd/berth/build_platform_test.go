package main

import (
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
)

// TestBuildPlatformPull: a cross build pulls its base for the target
// platform from a loopback registry, and the base's name stays with the
// local image of this machine's platform (a later `run` of it must not get
// the foreign one). Config-only steps: no root needed.
func TestBuildPlatformPull(t *testing.T) {
	host := loopbackRegistry(t, nil)
	a, b := t.TempDir(), t.TempDir()
	file := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := os.WriteFile(file, rootfsTar(t, "base", false), 0o644); err != nil {
		t.Fatal(err)
	}
	foreign := "linux/arm64"
	if goruntime.GOARCH == "arm64" {
		foreign = "linux/amd64"
	}
	ref := host + "/plat/base:1"
	mustCLI(t, a, "import", "--platform", foreign, file, ref)
	mustCLI(t, a, "push", "-q", ref)
	mustCLI(t, b, "import", file, ref)
	native := mustCLI(t, b, "image", "inspect", "-f", "{{.ID}} {{.Architecture}}", ref)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+ref+"\nLABEL built=yes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(mustCLI(t, b, "build", "-q", "--platform", foreign, dir))
	if got := mustCLI(t, b, "image", "inspect", "-f", "{{.Os}}/{{.Architecture}}", id); got != foreign+"\n" {
		t.Errorf("built image is %q, want %s", got, foreign)
	}
	if got := mustCLI(t, b, "image", "inspect", "-f", "{{.ID}} {{.Architecture}}", ref); got != native {
		t.Errorf("%s after the cross build: %q, want the local %q", ref, got, native)
	}
}
