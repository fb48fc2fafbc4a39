package ocispec

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/runtime"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenInput is one case's input.json.
type goldenInput struct {
	Description string         `json:"description"`
	Config      runtime.Config `json:"config"`
	Image       v1.ImageConfig `json:"image"`
	Options     Options        `json:"options"`
}

// TestGolden runs every testdata/golden/CASE/input.json through Generate
// and compares the result with CASE/config.json, or the error with
// CASE/error.txt. The users and groups come from testdata/rootfs, a
// seccomp=FILE profile from the case's directory. The default seccomp
// profile's syscall rules are left out of config.json: they depend on the
// kernel version, and TestDefaultSeccomp checks them.
func TestGolden(t *testing.T) {
	// The golden profiles list moby's architectures, whatever this
	// kernel refuses (TestDefaultSeccompArches).
	refused := x32Refused
	x32Refused = func() bool { return false }
	t.Cleanup(func() { x32Refused = refused })
	dirs, err := filepath.Glob("testdata/golden/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	root, err := os.OpenRoot("testdata/rootfs")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, "input.json"))
			if err != nil {
				t.Fatal(err)
			}
			var in goldenInput
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&in); err != nil {
				t.Fatalf("input.json: %v", err)
			}
			in.Options.RootFS = root.FS()
			in.Options.ReadFile = func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, name)) }

			var got []byte
			name := "config.json"
			s, err := Generate(in.Config, in.Image, in.Options)
			if err != nil {
				name, got = "error.txt", []byte(err.Error()+"\n")
			} else {
				if sec, _ := ParseSecurityOpts(in.Config.SecurityOpt); sec.Seccomp == "" && s.Linux.Seccomp != nil {
					if len(s.Linux.Seccomp.Syscalls) == 0 {
						t.Error("the default seccomp profile has no syscall rules")
					}
					s.Linux.Seccomp.Syscalls = nil
				}
				if got, err = json.MarshalIndent(s, "", "  "); err != nil {
					t.Fatal(err)
				}
				got = append(got, '\n')
			}
			compareGolden(t, dir, name, got)
		})
	}
}

// compareGolden compares got with dir/name, or with -update writes it
// there and removes the other outcome's file.
func compareGolden(t *testing.T, dir, name string, got []byte) {
	t.Helper()
	path := filepath.Join(dir, name)
	if *update {
		for _, other := range []string{"config.json", "error.txt"} {
			if other != name {
				os.Remove(filepath.Join(dir, other))
			}
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}
