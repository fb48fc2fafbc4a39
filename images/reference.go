package images

import (
	"fmt"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
)

// Normalize turns a user's image reference into the full form berth stores,
// the way Docker does: "busybox" -> "docker.io/library/busybox:latest",
// "localhost/x" -> "localhost/x:latest", "ghcr.io/o/r@sha256:..." unchanged.
// A reference with a digest keeps the digest and drops any tag. The error is
// classified as errdefs.ErrInvalidArgument.
func Normalize(ref string) (string, error) {
	if full, ok := normalizeShort(ref); ok {
		return full, nil
	}
	named, err := parseNamed(ref)
	if err != nil {
		return "", err
	}
	return named.String(), nil
}

// NormalizeTag is Normalize for the destination of tag, import and commit:
// it refuses a reference with a digest, which only a registry can give.
func NormalizeTag(ref string) (string, error) {
	if full, ok := normalizeShort(ref); ok {
		return full, nil
	}
	named, err := parseNamed(ref)
	if err != nil {
		return "", err
	}
	if _, ok := named.(reference.Digested); ok {
		return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("refusing to create a tag with a digest reference: %s", ref))
	}
	return named.String(), nil
}

// normalizeShort normalises the commonest references, an official image
// with or without a tag ("busybox", "alpine:3.20"), without the reference
// grammar's regular expressions (their compilation was ~2 ms of every
// `berth run busybox`). Anything else is not ok, for parseNamed; for what it
// takes, the answer is parseNamed's (TestNormalizeShort).
func normalizeShort(ref string) (string, bool) {
	name, tag, tagged := strings.Cut(ref, ":")
	if name == "" || len(name) > 200 || (tagged && (tag == "" || len(tag) > 128)) {
		return "", false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return "", false
		}
	}
	if len(name) == 64 && isHexPrefix(name) {
		return "", false // refused as an image ID look-alike
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		word := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		if !word && (i == 0 || (c != '.' && c != '-')) {
			return "", false
		}
	}
	if !tagged {
		tag = "latest"
	}
	return "docker.io/library/" + name + ":" + tag, true
}

// newImageNames is what a new image is named: nothing for "" (dangling),
// else the normalised tag NAME[:TAG].
func newImageNames(name string) ([]string, error) {
	if name == "" {
		return nil, nil
	}
	n, err := NormalizeTag(name)
	if err != nil {
		return nil, err
	}
	return []string{n}, nil
}

func parseNamed(ref string) (reference.Named, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid reference format: %s: %v", ref, err))
	}
	if c, ok := named.(reference.Canonical); ok {
		// name:tag@digest: the digest decides, as for Docker.
		named, err = reference.WithDigest(reference.TrimNamed(named), c.Digest())
		if err != nil {
			return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid reference format: %s: %v", ref, err))
		}
		return named, nil
	}
	return reference.TagNameOnly(named), nil
}

// Familiar shortens a stored reference for display, as Docker does:
// "docker.io/library/busybox:latest" -> "busybox:latest".
func Familiar(full string) string {
	if rest, ok := strings.CutPrefix(full, "docker.io/library/"); ok {
		if n, ok := normalizeShort(rest); ok && n == full {
			return rest
		}
	}
	named, err := reference.ParseNormalizedNamed(full)
	if err != nil {
		return full
	}
	return reference.FamiliarString(named)
}

// SplitName splits a stored reference into its familiar repository and its
// tag or digest; the one not present is "".
func SplitName(full string) (repo, tag, digest string) {
	named, err := reference.ParseNormalizedNamed(full)
	if err != nil {
		return full, "", ""
	}
	repo = reference.FamiliarName(named)
	if t, ok := named.(reference.Tagged); ok {
		tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		digest = d.Digest().String()
	}
	return repo, tag, digest
}

// idOrPrefix reports whether s names an image by ID: "sha256:<64 hex>",
// a bare 64-hex ID, or a short hex prefix. It returns the hex part.
func idOrPrefix(s string) (hex string, full bool, ok bool) {
	if h, found := strings.CutPrefix(s, "sha256:"); found {
		return h, len(h) == 64, isHexPrefix(h)
	}
	return s, len(s) == 64, isHexPrefix(s)
}

// isHexPrefix reports whether s is 1 to 64 lower-case hex digits (a
// regular expression here cost a compile in every command that resolves
// an image).
func isHexPrefix(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// repoOf returns the repository part of a stored reference.
func repoOf(full string) string {
	named, err := reference.ParseNormalizedNamed(full)
	if err != nil {
		return full
	}
	return named.Name()
}
