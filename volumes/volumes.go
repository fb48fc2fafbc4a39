// Package volumes owns the volume concept: named volumes that outlive
// containers, what they are created from, and the interface that manages
// them. Implementations (volumes/local, volumes/fake) live in their own
// packages.
package volumes

import "context"

// Config is what a volume is created from, following Compose's volume
// definition and Docker's local driver options.
type Config struct {
	Name    string
	Driver  string // "local"
	Labels  map[string]string
	Options map[string]string // local driver: type, device, o
}

// Volume is a volume as observed.
type Volume struct {
	Name       string
	Mountpoint string
	Config     Config
}

// Manager creates, removes and lists volumes.
//
// Errors are classified with containerd/errdefs: ErrNotFound for an unknown
// volume, ErrAlreadyExists for a name taken, ErrFailedPrecondition for a
// volume in use.
type Manager interface {
	Create(ctx context.Context, cfg Config) (Volume, error)
	Remove(ctx context.Context, name string, force bool) error
	List(ctx context.Context) ([]Volume, error)
}
