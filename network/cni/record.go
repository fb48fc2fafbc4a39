package cni

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/network"
)

type networkConfig = network.Config

// Record is a network as berth keeps it on disk, one JSON file per network
// under <root>/networks/<name>.json. Config holds the resolved subnets (the
// pool's choice, the gateway filled in), so the conflist can always be
// generated again from the record alone.
type Record struct {
	ID      string         `json:"id"`
	Name    string         `json:"name"`
	Created time.Time      `json:"created"`
	Config  network.Config `json:"config"`
	// Bridge is the host bridge of a bridge network.
	Bridge string `json:"bridge,omitempty"`
	// Default marks the predefined "bridge" network; it cannot be removed.
	Default bool `json:"default,omitempty"`
	// Ready is set once the host side (bridge, rules) is set up; a record
	// left without it by a crash is set up again on first use.
	Ready bool `json:"ready"`
}

// Network returns the record as the concept type.
func (r Record) Network() network.Network {
	return network.Network{ID: r.ID, Name: r.Name, Config: r.Config}
}

// store reads and writes network records in one directory.
type store struct{ dir string }

func (s store) path(name string) string { return filepath.Join(s.dir, name+".json") }

func (s store) get(name string) (Record, error) {
	data, err := os.ReadFile(s.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return Record{}, fmt.Errorf("network %s: %w", name, errdefs.ErrNotFound)
	}
	if err != nil {
		return Record{}, err
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return Record{}, fmt.Errorf("read network %s: %w", name, err)
	}
	return r, nil
}

func (s store) put(r Record) error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	return atomicfile.WriteJSON(s.path(r.Name), r, 0o600)
}

func (s store) remove(name string) error {
	err := os.Remove(s.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// list returns every record sorted by name.
func (s store) list() ([]Record, error) {
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		r, err := s.get(name)
		if errdefs.IsNotFound(err) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Record) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// find resolves a name, a full ID or a unique ID prefix, as Docker does.
func (s store) find(ref string) (Record, error) {
	if !validName.MatchString(ref) {
		return Record{}, fmt.Errorf("network %q: %w", ref, errdefs.ErrNotFound)
	}
	if r, err := s.get(ref); err == nil || !errdefs.IsNotFound(err) {
		return r, err
	}
	all, err := s.list()
	if err != nil {
		return Record{}, err
	}
	var hits []Record
	for _, r := range all {
		if r.ID == ref {
			return r, nil
		}
		if ref != "" && strings.HasPrefix(r.ID, ref) {
			hits = append(hits, r)
		}
	}
	switch len(hits) {
	case 1:
		return hits[0], nil
	case 0:
		return Record{}, fmt.Errorf("network %s: %w", ref, errdefs.ErrNotFound)
	default:
		return Record{}, fmt.Errorf("network %s: ambiguous ID prefix: %w", ref, errdefs.ErrInvalidArgument)
	}
}
