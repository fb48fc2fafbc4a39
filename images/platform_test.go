package images

import (
	"testing"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestCheckPlatform(t *testing.T) {
	tests := []struct {
		os, arch, variant string
		want              string
		wantErr           func(error) bool
	}{
		{os: "linux", arch: "amd64", want: "linux/amd64"},
		{os: "linux", arch: "amd64", want: "linux/arm64", wantErr: errdefs.IsFailedPrecondition},
		{os: "linux", arch: "arm64", want: "linux/arm64/v8"},
		{os: "linux", arch: "arm64", variant: "v8", want: "linux/arm64"},
		{os: "linux", arch: "arm", variant: "v7", want: "linux/arm"},
		{os: "linux", arch: "arm", variant: "v6", want: "linux/arm/v7", wantErr: errdefs.IsFailedPrecondition},
		{os: "windows", arch: "amd64", want: "linux/amd64", wantErr: errdefs.IsFailedPrecondition},
		{os: "linux", arch: "amd64", want: "amd64", wantErr: errdefs.IsInvalidArgument},
	}
	for _, tt := range tests {
		im := &Image{Config: &v1.ConfigFile{OS: tt.os, Architecture: tt.arch, Variant: tt.variant}}
		err := CheckPlatform(im, "docker.io/library/busybox:latest", tt.want)
		switch {
		case tt.wantErr == nil && err != nil:
			t.Errorf("%s/%s/%s for %s: %v", tt.os, tt.arch, tt.variant, tt.want, err)
		case tt.wantErr != nil && (err == nil || !tt.wantErr(err)):
			t.Errorf("%s/%s/%s for %s: %v, want another error class", tt.os, tt.arch, tt.variant, tt.want, err)
		}
	}
	im := &Image{Config: &v1.ConfigFile{OS: "linux", Architecture: "amd64"}}
	err := CheckPlatform(im, "docker.io/library/busybox:latest", "linux/arm64")
	if want := "image with reference busybox:latest was found but does not match the specified platform: wanted linux/arm64, actual: linux/amd64"; err == nil || err.Error() != want {
		t.Errorf("message %v, want %q", err, want)
	}
}
