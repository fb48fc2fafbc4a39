// Package local is berth's local volume driver, Docker's "local": each
// volume is a directory <root>/volumes/<name>/_data with its record beside it
// (volume.json), optionally backed by a filesystem mounted there (tmpfs, a
// bind of a host path, nfs, a block device) from Docker's type/device/o
// options.
//
// Besides volumes.Manager (Create, Remove, List) it serves the container
// runtime: Mount records a container as a user of a volume (creating the
// volume on first use and mounting its filesystem for the first user),
// Unmount drops it (unmounting after the last), CopyUp fills a new volume
// from the image. The users are kept in the record on disk, so any berth
// process sees them and Remove refuses a volume in use.
//
// Every mutation holds one lock, <root>/volumes/.lock (internal/flock), and
// writes the record through internal/atomicfile; reads take no lock. The
// package never removes anything outside <root>/volumes, never deletes
// through a mount (a volume's data is unmounted and checked before its
// directory is removed), and never follows a symlink out of a copy-up source.
package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/internal/flock"
	"github.com/berth-dev/berth/volumes"
)

// DriverName is the only driver this package implements.
const DriverName = "local"

const (
	recordFile = "volume.json"
	dataDir    = "_data"
	lockFile   = ".lock"
)

// Record is a volume's on-disk record, <root>/volumes/<name>/volume.json,
// with its mount point filled in when read.
type Record struct {
	Name      string            `json:"name"`
	Driver    string            `json:"driver"`
	Labels    map[string]string `json:"labels,omitempty"`
	Options   map[string]string `json:"options,omitempty"`
	CreatedAt time.Time         `json:"createdAt"`
	// Users are the IDs of the containers that have the volume mounted,
	// sorted; Mount adds, Unmount removes.
	Users []string `json:"users,omitempty"`
	// CopiedUp is set by the first CopyUp, whether or not it copied
	// anything; later ones copy nothing.
	CopiedUp bool `json:"copiedUp,omitempty"`

	// Mountpoint is <root>/volumes/<name>/_data; not stored.
	Mountpoint string `json:"-"`
}

// Anonymous reports whether the volume was created without a name.
func (r Record) Anonymous() bool {
	_, ok := r.Labels[AnonymousLabel]
	return ok
}

// Volume returns the record as the concept package's type.
func (r Record) Volume() volumes.Volume {
	return volumes.Volume{
		Name:       r.Name,
		Mountpoint: r.Mountpoint,
		Config: volumes.Config{
			Name:    r.Name,
			Driver:  r.Driver,
			Labels:  maps.Clone(r.Labels),
			Options: maps.Clone(r.Options),
		},
	}
}

// InUseError is the error of removing a volume that containers use. It
// matches errdefs.ErrFailedPrecondition.
type InUseError struct {
	Name  string
	Users []string
}

// Error reads like Docker's: "remove NAME: volume is in use - [ID, ...]".
func (e *InUseError) Error() string {
	return fmt.Sprintf("remove %s: volume is in use - [%s]", e.Name, strings.Join(e.Users, ", "))
}

// Unwrap classifies the error.
func (e *InUseError) Unwrap() error { return errdefs.ErrFailedPrecondition }

// Manager is the local driver rooted at <root>/volumes. It is safe for
// concurrent use by goroutines and by processes.
type Manager struct {
	dir string
	sys system
}

// system is the manager's access to mounts, replaceable in tests.
type system struct {
	mount   func(ctx context.Context, s mountSpec, target string) error
	unmount func(target string) error
	mounted func(path string) (bool, error)
	// mountsUnder lists the mount points at or below dir.
	mountsUnder func(dir string) ([]string, error)
}

// New returns the manager of the volumes under root (berth's --root),
// creating <root>/volumes if needed.
func New(root string) (*Manager, error) {
	dir := filepath.Join(root, "volumes")
	if err := os.MkdirAll(dir, 0o701); err != nil {
		return nil, fmt.Errorf("volumes: %w", err)
	}
	// Mount points are compared with /proc/self/mountinfo, which shows
	// resolved paths.
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("volumes: %w", err)
	}
	return &Manager{dir: real, sys: hostSystem(net.DefaultResolver.LookupIPAddr)}, nil
}

func (m *Manager) volumeDir(name string) string { return filepath.Join(m.dir, name) }
func (m *Manager) dataPath(name string) string  { return filepath.Join(m.dir, name, dataDir) }

func (m *Manager) lock(ctx context.Context) (*flock.Lock, error) {
	return flock.Acquire(ctx, filepath.Join(m.dir, lockFile))
}

// notFoundError is an unknown volume; it matches errdefs.ErrNotFound.
type notFoundError struct{ name string }

func (e notFoundError) Error() string { return "no such volume: " + e.name }
func (notFoundError) Unwrap() error   { return errdefs.ErrNotFound }

// read loads a volume's record; an unknown or invalid name is ErrNotFound.
func (m *Manager) read(name string) (Record, error) {
	if ValidateName(name) != nil {
		return Record{}, notFoundError{name}
	}
	data, err := os.ReadFile(filepath.Join(m.volumeDir(name), recordFile))
	if errors.Is(err, fs.ErrNotExist) {
		return Record{}, notFoundError{name}
	}
	if err != nil {
		return Record{}, fmt.Errorf("read volume %s: %w", name, err)
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return Record{}, fmt.Errorf("read volume %s: %w", name, err)
	}
	if r.Name != name {
		return Record{}, fmt.Errorf("read volume %s: record names %q", name, r.Name)
	}
	r.Mountpoint = m.dataPath(name)
	return r, nil
}

func (m *Manager) write(r Record) error {
	return atomicfile.WriteJSON(filepath.Join(m.volumeDir(r.Name), recordFile), r, 0o600)
}

// Create creates a volume. An empty name creates an anonymous volume: a
// random 64-hex name and the label com.docker.volume.anonymous. Creating a
// name that exists with the same driver and options returns the existing
// volume unchanged (its labels stay as they were), as Docker does; with a
// different driver or options it is ErrAlreadyExists. An invalid name,
// driver or option is ErrInvalidArgument.
func (m *Manager) Create(ctx context.Context, cfg volumes.Config) (volumes.Volume, error) {
	l, err := m.lock(ctx)
	if err != nil {
		return volumes.Volume{}, err
	}
	defer l.Unlock()
	r, err := m.create(cfg)
	if err != nil {
		return volumes.Volume{}, err
	}
	return r.Volume(), nil
}

// create does Create's work with the lock held.
func (m *Manager) create(cfg volumes.Config) (Record, error) {
	labels := maps.Clone(cfg.Labels)
	name := cfg.Name
	if name == "" {
		n, err := anonymousName()
		if err != nil {
			return Record{}, err
		}
		name = n
		if labels == nil {
			labels = map[string]string{}
		}
		labels[AnonymousLabel] = ""
	}
	if err := ValidateName(name); err != nil {
		return Record{}, fmt.Errorf("create volume: %w", err)
	}
	driver := cfg.Driver
	if driver == "" {
		driver = DriverName
	}
	if driver != DriverName {
		return Record{}, fmt.Errorf("create volume %s: driver %q not supported, only %q: %w", name, driver, DriverName, errdefs.ErrInvalidArgument)
	}
	if _, err := parseOptions(cfg.Options); err != nil {
		return Record{}, fmt.Errorf("create volume %s: %w", name, err)
	}

	existing, err := m.read(name)
	switch {
	case err == nil:
		if existing.Driver == driver && maps.Equal(existing.Options, cfg.Options) {
			return existing, nil
		}
		return Record{}, fmt.Errorf("create volume %s: a volume with this name exists with other options: %w", name, errdefs.ErrAlreadyExists)
	case !errdefs.IsNotFound(err):
		return Record{}, fmt.Errorf("create volume %s: %w", name, err)
	}

	// A directory without a record is a create that crashed half-way:
	// reuse it.
	if err := os.MkdirAll(m.dataPath(name), 0o755); err != nil {
		return Record{}, fmt.Errorf("create volume %s: %w", name, err)
	}
	r := Record{
		Name:      name,
		Driver:    driver,
		Labels:    labels,
		Options:   maps.Clone(cfg.Options),
		CreatedAt: time.Now().UTC().Truncate(time.Second),
	}
	if len(r.Labels) == 0 {
		r.Labels = nil
	}
	if len(r.Options) == 0 {
		r.Options = nil
	}
	if err := m.write(r); err != nil {
		return Record{}, fmt.Errorf("create volume %s: %w", name, err)
	}
	r.Mountpoint = m.dataPath(name)
	return r, nil
}

// Inspect returns a volume's record; an unknown name is ErrNotFound.
func (m *Manager) Inspect(_ context.Context, name string) (Record, error) {
	return m.read(name)
}

// Records returns every volume's record, sorted by name. It takes no lock:
// records are replaced atomically.
func (m *Manager) Records(_ context.Context) ([]Record, error) {
	entries, err := os.ReadDir(m.dir)
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	var out []Record
	for _, e := range entries {
		if !e.IsDir() || ValidateName(e.Name()) != nil {
			continue // .lock, .trash-*
		}
		r, err := m.read(e.Name())
		if errdefs.IsNotFound(err) {
			continue // being created or removed
		}
		if err != nil {
			return nil, fmt.Errorf("list volumes: %w", err)
		}
		out = append(out, r)
	}
	return out, nil
}

// List returns every volume, sorted by name.
func (m *Manager) List(ctx context.Context) ([]volumes.Volume, error) {
	rs, err := m.Records(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]volumes.Volume, len(rs))
	for i, r := range rs {
		out[i] = r.Volume()
	}
	return out, nil
}

// Remove removes a volume and its data, as `docker volume rm`: a volume
// that containers use is refused with an *InUseError (ErrFailedPrecondition)
// even with force; an unknown name is ErrNotFound, or nil with force. With
// force a volume whose data cannot be removed is still forgotten (Docker's
// purge on error), leaving its directory behind.
func (m *Manager) Remove(ctx context.Context, name string, force bool) error {
	l, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer l.Unlock()
	return m.remove(name, force)
}

func (m *Manager) remove(name string, force bool) error {
	r, err := m.read(name)
	if err != nil {
		if force && errdefs.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("remove volume: %w", err)
	}
	if len(r.Users) > 0 {
		return &InUseError{Name: name, Users: slices.Clone(r.Users)}
	}
	if err := m.removeData(name); err != nil {
		if !force {
			return fmt.Errorf("remove volume %s: %w", name, err)
		}
		if err := os.Remove(filepath.Join(m.volumeDir(name), recordFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove volume %s: %w", name, err)
		}
	}
	return nil
}

// removeData unmounts whatever is mounted in the volume's directory, checks
// that nothing is, moves the directory aside (so the volume disappears at
// once) and deletes it.
func (m *Manager) removeData(name string) error {
	dir := m.volumeDir(name)
	if err := m.unmountAll(dir); err != nil {
		return err
	}
	trash, err := os.MkdirTemp(m.dir, ".trash-")
	if err != nil {
		return err
	}
	target := filepath.Join(trash, name)
	if err := os.Rename(dir, target); err != nil {
		os.Remove(trash)
		return err
	}
	return os.RemoveAll(trash)
}

// unmountAll unmounts every mount at or below dir, deepest first, and fails
// if any remains: deleting through a mount would delete a bind mount's
// source or a mounted device's files.
func (m *Manager) unmountAll(dir string) error {
	mounts, err := m.sys.mountsUnder(dir)
	if err != nil {
		return err
	}
	slices.SortFunc(mounts, func(a, b string) int { return len(b) - len(a) })
	for _, mp := range mounts {
		if err := m.sys.unmount(mp); err != nil {
			return err
		}
	}
	left, err := m.sys.mountsUnder(dir)
	if err != nil {
		return err
	}
	if len(left) > 0 {
		return fmt.Errorf("still mounted: %s", strings.Join(left, ", "))
	}
	return nil
}

// Prune removes the volumes that no container uses and for which match
// returns true, and returns their names and the bytes their data took.
// A volume that becomes used meanwhile is skipped, not an error.
func (m *Manager) Prune(ctx context.Context, match func(Record) bool) ([]string, uint64, error) {
	rs, err := m.Records(ctx)
	if err != nil {
		return nil, 0, err
	}
	l, err := m.lock(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer l.Unlock()
	var removed []string
	var reclaimed uint64
	var errs []error
	for _, r := range rs {
		if len(r.Users) > 0 || !match(r) {
			continue
		}
		size := diskUsage(r.Mountpoint)
		err := m.remove(r.Name, false)
		var inUse *InUseError
		switch {
		case errors.As(err, &inUse), errdefs.IsNotFound(err):
			continue
		case err != nil:
			errs = append(errs, err)
			continue
		}
		removed = append(removed, r.Name)
		reclaimed += size
	}
	return removed, reclaimed, errors.Join(errs...)
}

// diskUsage sums the sizes of the files below dir, each inode once, as
// Docker's reclaimed-space report does. Errors count as nothing.
func diskUsage(dir string) uint64 {
	var total uint64
	seen := map[uint64]bool{}
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if ino, ok := inode(fi); ok {
			if seen[ino] {
				return nil
			}
			seen[ino] = true
		}
		total += uint64(fi.Size())
		return nil
	})
	return total
}

var _ volumes.Manager = (*Manager)(nil)
