package images

import (
	"fmt"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Platform is the platform the image's config declares.
func (im *Image) Platform() v1.Platform {
	return v1.Platform{OS: im.Config.OS, Architecture: im.Config.Architecture, Variant: im.Config.Variant}
}

// CheckPlatform returns nil if im is for want (os/arch[/variant], "" for
// this machine's), as `docker run --platform` checks a local image: an
// image for another platform is errdefs.ErrFailedPrecondition with
// Docker's message; a malformed want is errdefs.ErrInvalidArgument.
func CheckPlatform(im *Image, ref, want string) error {
	w, err := platform(want)
	if err != nil {
		return err
	}
	got := im.Platform()
	if platformMatches(got, *w) {
		return nil
	}
	return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("image with reference %s was found but does not match the specified platform: wanted %s, actual: %s",
		Familiar(ref), platformString(*w), platformString(got)))
}

// platformMatches is got.Satisfies(want), with arm64 and arm64/v8 the same
// platform, as Docker and containerd's platform matchers treat them.
func platformMatches(got, want v1.Platform) bool {
	if got.Satisfies(want) {
		return true
	}
	return got.OS == want.OS && got.Architecture == want.Architecture && got.Architecture == "arm64" &&
		(got.Variant == "" && want.Variant == "v8" || got.Variant == "v8" && want.Variant == "")
}

// ParsePlatform parses os/arch[/variant]; "" is this machine's platform.
// A malformed platform is errdefs.ErrInvalidArgument.
func ParsePlatform(s string) (v1.Platform, error) {
	p, err := platform(s)
	if err != nil {
		return v1.Platform{}, err
	}
	return *p, nil
}
