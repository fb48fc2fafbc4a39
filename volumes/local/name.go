package local

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"

	"github.com/containerd/errdefs"
)

// AnonymousLabel marks a volume created without a name, as Docker 23+ does;
// `volume prune` without --all removes only volumes carrying it.
const AnonymousLabel = "com.docker.volume.anonymous"

// namePattern is Docker's rule for local volume names. Names start with an
// alphanumeric, so they never collide with the dot-files the manager keeps
// beside the volumes (.lock, .trash-*).
var namePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// ValidateName checks a volume name against Docker's rule; an invalid name is
// ErrInvalidArgument with Docker's message.
func ValidateName(name string) error {
	if !namePattern.MatchString(name) || len(name) > 255 {
		return fmt.Errorf("%q includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path: %w", name, errdefs.ErrInvalidArgument)
	}
	return nil
}

// anonymousName returns a random 64-hex name, as Docker gives volumes created
// without one.
func anonymousName() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("anonymous volume name: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
