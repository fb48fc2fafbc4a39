package cni

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/internal/flock"
	"github.com/berth-dev/berth/network/netns"
)

// Cleanup removes what containers that no longer exist left behind, as
// after a kill -9 in the middle of Attach or Detach or a container removed
// without Detach: their CNI attachments (DEL releases leases, veths and
// port rules), their namespaces under netnsDir, stray host-local leases,
// lease directories of removed networks, and rules of networks whose record
// is gone.
//
// exists must report true for every container whose record exists, from
// before its namespace is made until after it is removed; the runtime's
// container list is the natural source. Run Cleanup at the start of
// commands that create or remove containers or networks (berth does it in
// `network prune`, `network ls` and before a container starts). It is
// idempotent and safe to run concurrently with Attach and Detach.
func (m *Manager) Cleanup(ctx context.Context, netnsDir string, exists func(containerID string) bool) error {
	lk, err := flock.Acquire(ctx, m.attachLock())
	if err != nil {
		return fmt.Errorf("network cleanup: %w", err)
	}
	atts, err := m.attachments()
	lk.Unlock()
	if err != nil {
		return fmt.Errorf("network cleanup: %w", err)
	}
	var errs []error
	attached := map[string]bool{}
	for _, a := range atts {
		if exists(a.ContainerID) {
			attached[a.ContainerID] = true
			continue
		}
		if err := m.detach(ctx, a); err != nil {
			errs = append(errs, err)
			attached[a.ContainerID] = true // keep its namespace for the next try
			continue
		}
		if netnsDir != "" && filepath.Dir(a.NetNSPath) == filepath.Clean(netnsDir) {
			if err := netns.Remove(a.NetNSPath); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if netnsDir != "" {
		names, err := netns.List(netnsDir)
		if err != nil {
			errs = append(errs, err)
		}
		for _, n := range names {
			if !attached[n] && !exists(n) {
				if err := netns.Remove(netns.Path(netnsDir, n)); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	records, err := m.records.list()
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	if err := m.pruneLeases(records, func(id string) bool { return attached[id] || exists(id) }); err != nil {
		errs = append(errs, err)
	}
	if err := m.opts.Host.Prune(ctx, records); err != nil {
		errs = append(errs, fmt.Errorf("prune rules: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("network cleanup: %w", err)
	}
	return nil
}

// pruneLeases removes host-local lease files (named by the IP, holding the
// container ID on the first line) of containers that are gone, and lease
// directories of networks that are gone.
func (m *Manager) pruneLeases(records []Record, keep func(id string) bool) error {
	dirs, err := os.ReadDir(m.ipamDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, r := range records {
		known[r.Name] = true
	}
	var errs []error
	for _, d := range dirs {
		dir := filepath.Join(m.ipamDir(), d.Name())
		if !d.IsDir() {
			continue
		}
		if !known[d.Name()] {
			errs = append(errs, os.RemoveAll(dir))
			continue
		}
		leases, err := os.ReadDir(dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, l := range leases {
			if _, err := netip.ParseAddr(l.Name()); err != nil {
				continue // last_reserved_ip, lock
			}
			id, err := firstLine(filepath.Join(dir, l.Name()))
			if err != nil || id == "" || keep(id) {
				continue
			}
			errs = append(errs, os.Remove(filepath.Join(dir, l.Name())))
		}
	}
	return errors.Join(errs...)
}

func firstLine(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	return sc.Text(), sc.Err()
}
