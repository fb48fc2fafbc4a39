// Package fake is an in-memory network.Manager for tests. It keeps the
// networks it is told about, enforces unique names and can inject a failure
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

	"github.com/berth-dev/berth/network"
)

// Hook runs before every call with the call's name ("create", "remove",
// "list") and the network name; a non-nil error fails the call unchanged. It
// runs outside the manager's lock; set it before the manager is shared.
type Hook func(call, name string) error

// Manager is the in-memory network manager; the zero value is ready to use.
type Manager struct {
	mu       sync.Mutex
	next     int
	networks map[string]network.Network
	// InUse reports whether a network still has endpoints; Remove of such a
	// network fails with ErrFailedPrecondition. Nil means never in use.
	InUse func(name string) bool
	Hook  Hook
}

func (m *Manager) intercept(call, name string) error {
	if m.Hook == nil {
		return nil
	}
	return m.Hook(call, name)
}

// Create records a network; a taken name is ErrAlreadyExists.
func (m *Manager) Create(_ context.Context, cfg network.Config) (network.Network, error) {
	if err := m.intercept("create", cfg.Name); err != nil {
		return network.Network{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if cfg.Name == "" {
		return network.Network{}, fmt.Errorf("create network: empty name: %w", errdefs.ErrInvalidArgument)
	}
	if _, ok := m.networks[cfg.Name]; ok {
		return network.Network{}, fmt.Errorf("create network %s: %w", cfg.Name, errdefs.ErrAlreadyExists)
	}
	if m.networks == nil {
		m.networks = map[string]network.Network{}
	}
	m.next++
	cfg.Labels = maps.Clone(cfg.Labels)
	cfg.Options = maps.Clone(cfg.Options)
	cfg.Subnets = slices.Clone(cfg.Subnets)
	n := network.Network{ID: fmt.Sprintf("net%d", m.next), Name: cfg.Name, Config: cfg}
	m.networks[cfg.Name] = n
	return n, nil
}

// Remove deletes a network: ErrNotFound if unknown, ErrFailedPrecondition
// if InUse says it has endpoints.
func (m *Manager) Remove(_ context.Context, name string) error {
	if err := m.intercept("remove", name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.networks[name]; !ok {
		return fmt.Errorf("remove network %s: %w", name, errdefs.ErrNotFound)
	}
	if m.InUse != nil && m.InUse(name) {
		return fmt.Errorf("remove network %s: has endpoints: %w", name, errdefs.ErrFailedPrecondition)
	}
	delete(m.networks, name)
	return nil
}

// List returns every network sorted by name.
func (m *Manager) List(_ context.Context) ([]network.Network, error) {
	if err := m.intercept("list", ""); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]network.Network, 0, len(m.networks))
	for _, n := range m.networks {
		n.Config.Labels = maps.Clone(n.Config.Labels)
		n.Config.Options = maps.Clone(n.Config.Options)
		n.Config.Subnets = slices.Clone(n.Config.Subnets)
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b network.Network) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

var _ network.Manager = (*Manager)(nil)
