package build

import (
	goruntime "runtime"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// A build for another platform: COPY-only stages need no emulation, the
// image's config says the target platform, the platform ARGs are Docker's,
// a stage FROM --platform=$BUILDPLATFORM runs natively; a RUN of the
// target's binaries fails naming the step (no emulator is registered here
// unless binfmt_misc has one).
func TestBuildCrossPlatform(t *testing.T) {
	e := newRootEnv(t)
	base := e.baseImage()
	target := "linux/arm64"
	if goruntime.GOARCH == "arm64" {
		target = "linux/amd64"
	}
	df := "FROM --platform=$BUILDPLATFORM " + base + ` AS native
ARG TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT BUILDPLATFORM
RUN echo "$TARGETPLATFORM $TARGETOS $TARGETARCH [$TARGETVARIANT] $BUILDPLATFORM" > /args
FROM scratch
ARG TARGETPLATFORM
LABEL target=$TARGETPLATFORM
COPY --from=native /args /args
COPY file /file
`
	dir := e.context(df, map[string]string{"file": "data"})
	id := e.mustBuild(Options{ContextDir: dir, Platform: target})
	im, err := e.store.Image(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	arch := strings.TrimPrefix(target, "linux/")
	if c := im.Config; c.OS != "linux" || c.Architecture != arch || c.Config.Labels["target"] != target {
		t.Errorf("config: %s/%s labels %v, want %s", c.OS, c.Architecture, c.Config.Labels, target)
	}
	// Read the files from the layers: the image cannot run here.
	lower := newLayered(im.LayerDirs())
	if got := readLayered(t, lower, "/args"); got != target+" linux "+arch+" [] linux/"+goruntime.GOARCH+"\n" {
		t.Errorf("/args = %q", got)
	}
	if got := readLayered(t, lower, "/file"); got != "data" {
		t.Errorf("/file = %q", got)
	}

	// A RUN of the target platform's binaries.
	if err := canRun(mustPlatform(t, target), goruntime.GOARCH, binfmtDir); err == nil {
		t.Skipf("this machine runs %s binaries (binfmt_misc)", target)
	}
	runs := e.b.runs.Load()
	_, _, err = e.build(Options{ContextDir: dir, Platform: target, DockerfileInline: []byte("FROM scratch\nCOPY rootfs/ /\nRUN true\n")})
	if err == nil || !strings.Contains(err.Error(), "Dockerfile:3: RUN true: cannot run "+target+" binaries") || !strings.Contains(err.Error(), "no emulator is registered") || e.b.runs.Load() != runs {
		t.Errorf("foreign RUN: %v", err)
	}
}

func readLayered(t *testing.T, l *layered, p string) string {
	t.Helper()
	b, err := l.readFile(p)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return string(b)
}

func mustPlatform(t *testing.T, s string) v1.Platform {
	t.Helper()
	p, err := buildPlatform(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
