package main

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"
)

// pushPlatformIndex pushes a two-platform index (this machine's
// architecture and another) to ref.
func pushPlatformIndex(t *testing.T, ref, here, other string) {
	t.Helper()
	idx := v1.ImageIndex(empty.Index)
	for _, arch := range []string{here, other} {
		img, err := random.Image(512, 1)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = "linux", arch
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
}

// TestRunPlatform: run and create --platform pull the missing image for
// that platform and refuse a local image for another, as Docker does.
func TestRunPlatform(t *testing.T) {
	host := loopbackRegistry(t, nil)
	here, other := runtime.GOARCH, "arm64"
	if here == "arm64" {
		other = "amd64"
	}
	ref := host + "/plat/app:1"
	pushPlatformIndex(t, ref, here, other)
	root := t.TempDir()
	g := &globals{root: root}
	cmd := &cobra.Command{}
	cmd.SetContext(t.Context())
	var stderr strings.Builder
	cmd.SetErr(&stderr)
	arch := func() string {
		t.Helper()
		return strings.TrimSpace(mustCLI(t, root, "image", "inspect", "-f", "{{.Os}}/{{.Architecture}}", ref))
	}

	steps := []struct {
		pull, platform string
		wantErr        string // "" for success
		wantArch       string
	}{
		{pull: "missing", platform: "linux/" + other, wantArch: "linux/" + other},
		// The local image is for other: refused, whatever the pull policy
		// short of always.
		{pull: "missing", platform: "linux/" + here, wantErr: "image with reference " + ref + " was found but does not match the specified platform: wanted linux/" + here + ", actual: linux/" + other},
		{pull: "never", platform: "linux/" + here, wantErr: "does not match the specified platform"},
		{pull: "missing", platform: "linux/" + other, wantArch: "linux/" + other},
		// always pulls the asked platform's image over the name.
		{pull: "always", platform: "linux/" + here, wantArch: "linux/" + here},
		{pull: "missing", platform: "", wantArch: "linux/" + here},
		{pull: "missing", platform: "linux", wantErr: "invalid platform"},
	}
	for i, st := range steps {
		f := &containerFlags{pull: st.pull, platform: st.platform, quiet: true}
		err := f.pullImage(cmd, g, ref)
		if st.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), st.wantErr) {
				t.Fatalf("step %d (--pull %s --platform %s): %v, want %q", i, st.pull, st.platform, err, st.wantErr)
			}
			if strings.Contains(st.wantErr, "match") && !errdefs.IsFailedPrecondition(err) {
				t.Errorf("step %d: %v is not a failed precondition", i, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("step %d (--pull %s --platform %s): %v", i, st.pull, st.platform, err)
		}
		if got := arch(); got != st.wantArch {
			t.Errorf("step %d: local image is %s, want %s", i, got, st.wantArch)
		}
	}

	// The flag is there on both commands; a platform mismatch stops them
	// before any container is made.
	for _, c := range []string{"run", "create"} {
		_, _, err := berthCLI(t, root, "", c, "--pull", "never", "--platform", "linux/"+other, ref, "true")
		var ee *exitError
		if err == nil || !strings.Contains(err.Error(), "does not match the specified platform") || !errors.As(err, &ee) || ee.code != exitEngine {
			t.Errorf("%s --platform linux/%s = %v, want a platform mismatch with status 125", c, other, err)
		}
	}
}
