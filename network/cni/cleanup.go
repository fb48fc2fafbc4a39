package cni

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/network/netns"
)

// Cleanup removes what containers that no longer exist left behind, as
// after a kill -9 in the middle of Attach or Detach or a container removed
// without Detach: their CNI attachments (DEL releases leases, veths and
// port rules), their namespaces under netnsDir, stray host-local leases,
// and lease directories of removed networks.
//
// It is cheap when nothing is stale: it reads the names of the attachment
// records, namespaces and leases (and only the records of containers that
// are gone), and execs nothing. The host's iptables rules are listed only
// when something says a network's rules may have outlived its record: a
// Create that failed and could not take its rules back, or a lease
// directory of a network that is gone; PruneRules does it always.
//
// exists must report true for every container whose record exists, from
// before its namespace is made until after it is removed; the runtime's
// container list is the natural source. It is idempotent and safe to run
// concurrently with Attach and Detach.
func (m *Manager) Cleanup(ctx context.Context, netnsDir string, exists func(containerID string) bool) error {
	ids, err := m.attachmentIDs()
	if err != nil {
		return fmt.Errorf("network cleanup: %w", err)
	}
	var errs []error
	attached := map[string]bool{}
	for _, id := range ids {
		if exists(id) {
			attached[id] = true
			continue
		}
		a, err := m.attachment(id)
		if errdefs.IsNotFound(err) {
			continue // detached meanwhile
		}
		if err != nil {
			errs = append(errs, err)
			attached[id] = true
			continue
		}
		if err := m.detach(ctx, a); err != nil {
			errs = append(errs, err)
			attached[id] = true // keep its namespace for the next try
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
	goneNetworks, err := m.pruneLeases(records, func(id string) bool { return attached[id] || exists(id) })
	if err != nil {
		errs = append(errs, err)
	}
	if goneNetworks || m.rulesMaybeStale() {
		if err := m.pruneRules(ctx, records); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("network cleanup: %w", err)
	}
	return nil
}

// PruneRules removes the host's iptables rules of this root's networks
// whose record is gone, whatever Cleanup's cheap check says (`network
// prune` runs it). It lists berth's chains: a few iptables execs.
func (m *Manager) PruneRules(ctx context.Context) error {
	records, err := m.records.list()
	if err != nil {
		return fmt.Errorf("prune rules: %w", err)
	}
	return m.pruneRules(ctx, records)
}

// staleMark is a file that says rules of a network may have outlived its
// record; Cleanup then prunes rules and removes it.
func (m *Manager) staleMark() string { return filepath.Join(m.records.dir, ".stale-rules") }

func (m *Manager) rulesMaybeStale() bool {
	_, err := os.Stat(m.staleMark())
	return err == nil
}

func (m *Manager) markRulesStale() {
	if err := os.MkdirAll(m.records.dir, 0o700); err == nil {
		_ = atomicfile.Write(m.staleMark(), nil, 0o600)
	}
}

// pruneRules runs Host.Prune; the mark goes first, so a mark set by a
// Create failing meanwhile is kept for the next Cleanup, and comes back if
// the prune fails.
func (m *Manager) pruneRules(ctx context.Context, records []Record) error {
	_ = os.Remove(m.staleMark())
	if err := m.opts.Host.Prune(ctx, records); err != nil {
		m.markRulesStale()
		return fmt.Errorf("prune rules: %w", err)
	}
	return nil
}

// attachmentIDs lists the containers with an attachment record, without
// reading the records.
func (m *Manager) attachmentIDs() ([]string, error) {
	entries, err := os.ReadDir(m.runDir("attachments"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), ".json"); ok && !strings.HasPrefix(id, ".") {
			out = append(out, id)
		}
	}
	return out, nil
}

// pruneLeases removes host-local lease files (named by the IP, holding the
// container ID on the first line) of containers that are gone, and lease
// directories of networks that are gone, reporting whether there were any
// of the latter.
func (m *Manager) pruneLeases(records []Record, keep func(id string) bool) (bool, error) {
	dirs, err := os.ReadDir(m.ipamDir())
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	gone := false
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
			gone = true
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
	return gone, errors.Join(errs...)
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
