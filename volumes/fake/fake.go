// Package fake is an in-memory volumes.Manager for tests. It keeps the
// volumes it is told about, enforces unique names and can inject a failure
// into a chosen call. It is safe for concurrent use.
package fake

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/volumes"
)

// Hook runs before every call with the call's name ("create", "remove",
// "list") and the volume name; a non-nil error fails the call unchanged. It
// runs outside the manager's lock; set it before the manager is shared.
type Hook func(call, name string) error

// Manager is the in-memory volume manager; the zero value is ready to use.
type Manager struct {
	mu      sync.Mutex
	volumes map[string]volumes.Volume
	// InUse reports whether a volume is mounted by a container; Remove of
	// such a volume fails with ErrFailedPrecondition. Nil means never.
	InUse func(name string) bool
	Hook  Hook
}

func (m *Manager) intercept(call, name string) error {
	if m.Hook == nil {
		return nil
	}
	return m.Hook(call, name)
}

// Create records a volume. Creating an existing name returns the existing
// volume when driver and options match, as Docker does, and fails with
// ErrAlreadyExists otherwise.
func (m *Manager) Create(_ context.Context, cfg volumes.Config) (volumes.Volume, error) {
	if err := m.intercept("create", cfg.Name); err != nil {
		return volumes.Volume{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if cfg.Name == "" {
		return volumes.Volume{}, fmt.Errorf("create volume: empty name: %w", errdefs.ErrInvalidArgument)
	}
	if v, ok := m.volumes[cfg.Name]; ok {
		// Docker returns the existing volume when driver and options
		// match, and refuses otherwise.
		if driver(v.Config.Driver) == driver(cfg.Driver) && maps.Equal(v.Config.Options, cfg.Options) {
			return clone(v), nil
		}
		return volumes.Volume{}, fmt.Errorf("create volume %s: exists with other options: %w", cfg.Name, errdefs.ErrAlreadyExists)
	}
	if m.volumes == nil {
		m.volumes = map[string]volumes.Volume{}
	}
	cfg.Labels = maps.Clone(cfg.Labels)
	cfg.Options = maps.Clone(cfg.Options)
	v := volumes.Volume{Name: cfg.Name, Mountpoint: "/fake/volumes/" + cfg.Name, Config: cfg}
	m.volumes[cfg.Name] = v
	return clone(v), nil
}

// Remove deletes a volume, with Docker's rules: an unknown name is
// ErrNotFound (nil with force), a volume InUse says is mounted is never
// removed, force or not (ErrFailedPrecondition).
func (m *Manager) Remove(_ context.Context, name string, force bool) error {
	if err := m.intercept("remove", name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.volumes[name]; !ok {
		if force {
			return nil // as Docker: force ignores a missing volume
		}
		return fmt.Errorf("remove volume %s: %w", name, errdefs.ErrNotFound)
	}
	if m.InUse != nil && m.InUse(name) {
		return fmt.Errorf("remove volume %s: in use: %w", name, errdefs.ErrFailedPrecondition)
	}
	delete(m.volumes, name)
	return nil
}

// List returns every volume sorted by name.
func (m *Manager) List(_ context.Context) ([]volumes.Volume, error) {
	if err := m.intercept("list", ""); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]volumes.Volume, 0, len(m.volumes))
	for _, v := range m.volumes {
		out = append(out, clone(v))
	}
	slices.SortFunc(out, func(a, b volumes.Volume) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func driver(d string) string {
	if d == "" {
		return "local"
	}
	return d
}

// clone copies a volume so callers never share the fake's maps.
func clone(v volumes.Volume) volumes.Volume {
	v.Config.Labels = maps.Clone(v.Config.Labels)
	v.Config.Options = maps.Clone(v.Config.Options)
	return v
}

var _ volumes.Manager = (*Manager)(nil)
