package cni

import (
	"context"
	"errors"

	"github.com/berth-dev/berth/internal/flock"
)

// HostLockPath is the host-wide network lock every berth root shares
// (Options.HostLock's default).
const HostLockPath = "/run/lock/berth-network.lock"

// TeardownHost takes net's host side down (its bridge and rules) and keeps
// its record: for the default network, which berth never removes, when a
// root is reset or a test that made one ends.
func (m *Manager) TeardownHost(ctx context.Context, net Record) error {
	return m.opts.Host.Teardown(ctx, net)
}

// allChainsPruner is a Host whose global chains, of every address family,
// can go when empty (LinuxHost).
type allChainsPruner interface {
	PruneChains(ctx context.Context) error
}

// PruneChains removes berth's global chains when no root has a rule left in
// them, under the host lock so that no network is being set up meanwhile.
// A host without global chains (the tests' fake) has nothing to prune.
func (m *Manager) PruneChains(ctx context.Context) error {
	p, ok := m.opts.Host.(allChainsPruner)
	if !ok {
		return nil
	}
	lk, err := flock.Acquire(ctx, m.opts.HostLock)
	if err != nil {
		return err
	}
	return errors.Join(p.PruneChains(ctx), lk.Unlock())
}
