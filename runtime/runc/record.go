package runc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/internal/flock"
	"github.com/berth-dev/berth/internal/overlay"
	"github.com/berth-dev/berth/runtime"
)

const recordFile = "container.json"

// Record is a container's configuration as created: what it was asked for
// (Config), what was resolved from its image, and where its files are. It is
// written once by Create and changed only by rename and update, under the
// container's operation lock.
type Record struct {
	ID          string               `json:"id"`
	Name        string               `json:"name"`
	Created     time.Time            `json:"created"`
	Image       string               `json:"image"`
	ImageID     string               `json:"imageId"`
	Config      runtime.Config       `json:"config"`
	ImageConfig v1.ImageConfig       `json:"imageConfig"`
	Path        string               `json:"path"` // the process, after entrypoint/cmd rules
	Args        []string             `json:"args"`
	Layers      []string             `json:"layers"` // bottom first
	Healthcheck *runtime.Healthcheck `json:"healthcheck,omitempty"`
	StopSignal  string               `json:"stopSignal"`
	StopTimeout time.Duration        `json:"stopTimeout"`
	AutoRemove  bool                 `json:"autoRemove,omitempty"`
	StdinOnce   bool                 `json:"stdinOnce,omitempty"`
	// NetNSPath is the network namespace the container joins: its own
	// berth namespace under <run-root>/netns (made at each start, removed
	// when its process ends for good), another container's for
	// container:X; empty means a new one (loopback only, --network none)
	// or the host's.
	NetNSPath string `json:"netnsPath,omitempty"`
	// Volumes are the named and anonymous volumes it mounts.
	Volumes []VolumeMount `json:"volumes,omitempty"`
	// NoNetworks: `network disconnect` took it off its last network. It
	// keeps its network mode, so `network connect` can join it again (as
	// Docker allows), and starts attached to no network.
	NoNetworks bool `json:"noNetworks,omitempty"`
	// PublishAll is -P: Config.Ports then has a binding added for each
	// port the image exposes, and PortBindings are the ports asked with
	// -p alone (Docker's HostConfig.PortBindings), which without -P are
	// Config.Ports.
	PublishAll   bool                  `json:"publishAll,omitempty"`
	PortBindings []runtime.PortBinding `json:"portBindings,omitempty"`
}

// networks are the networks the container is on.
func (rec *Record) networks() []runtime.NetworkAttachment {
	if rec.NoNetworks {
		return nil
	}
	return attachments(rec.Config)
}

// LogPath is the container's JSON log file.
func (r *Runtime) LogPath(id string) string {
	return filepath.Join(r.containerDir(id), id+"-json.log")
}

func (r *Runtime) readRecord(id string) (*Record, error) {
	data, err := os.ReadFile(filepath.Join(r.containerDir(id), recordFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("no such container: %s", id))
	}
	if err != nil {
		return nil, fmt.Errorf("read container %s: %w", id, err)
	}
	var rec Record
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("read container %s: %w", id, err)
	}
	return &rec, nil
}

func (r *Runtime) writeRecord(rec *Record) error {
	data, err := rec.json()
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(r.containerDir(rec.ID), recordFile), data, 0o600)
}

// json is the record as container.json holds it.
func (rec *Record) json() ([]byte, error) {
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", rec.ID, err)
	}
	return append(data, '\n'), nil
}

// opLock serialises lifecycle operations (start, stop, remove, rename,
// update) on one container across berth processes. The monitor never takes
// it, so holding it while waiting for the monitor cannot deadlock.
func (r *Runtime) opLock(ctx context.Context, id string) (*flock.Lock, error) {
	// AcquireIn: a container removed meanwhile is not made again by its
	// lock file; it is gone.
	l, err := flock.AcquireIn(ctx, filepath.Join(r.containerDir(id), "op.lock"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("No such container: %s", id))
	}
	if err != nil {
		return nil, fmt.Errorf("lock container %s: %w", id, err)
	}
	return l, nil
}

// NewID returns a new container ID: 64 random hex digits, as Docker's.
func NewID() string { return newID() }

func newID() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b[:])
}

func isID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// validName is Docker's rule for container names.
func validName(n string) bool {
	if n == "" {
		return false
	}
	for i, c := range n {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if i > 0 {
			ok = ok || c == '_' || c == '.' || c == '-'
		}
		if !ok {
			return false
		}
	}
	return true
}

// reserveName claims name for id. O_EXCL on the index file makes names
// unique across concurrent berth processes without a global lock.
func (r *Runtime) reserveName(name, id string) error {
	if !validName(name) {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name))
	}
	if err := os.MkdirAll(r.namesDir(), 0o700); err != nil {
		return fmt.Errorf("reserve name: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(r.namesDir(), name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		owner, _ := os.ReadFile(filepath.Join(r.namesDir(), name))
		if o := string(owner); o != "" && !r.exists(o) {
			// The owner vanished without releasing its name (a crash between
			// steps of create or remove): reclaim it.
			_ = os.Remove(filepath.Join(r.namesDir(), name))
			return r.reserveName(name, id)
		}
		return errdefs.ErrAlreadyExists.WithMessage(fmt.Sprintf("Conflict. The container name \"/%s\" is already in use by container %q. You have to remove (or rename) that container to be able to reuse that name", name, string(owner)))
	}
	if err != nil {
		return fmt.Errorf("reserve name: %w", err)
	}
	_, err = f.WriteString(id)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("reserve name: %w", err)
	}
	return nil
}

func (r *Runtime) releaseName(name, id string) {
	p := filepath.Join(r.namesDir(), name)
	if owner, err := os.ReadFile(p); err == nil && string(owner) == id {
		_ = os.Remove(p)
	}
}

func (r *Runtime) exists(id string) bool {
	_, err := os.Stat(filepath.Join(r.containerDir(id), recordFile))
	return err == nil
}

// Resolve turns a full ID, a name (with or without Docker's leading slash)
// or a unique ID prefix into a container ID, in Docker's order. An unknown
// container is errdefs.ErrNotFound, an ambiguous prefix
// errdefs.ErrInvalidArgument.
func (r *Runtime) Resolve(ctx context.Context, ref string) (string, error) {
	ref = strings.TrimPrefix(ref, "/")
	if ref == "" {
		return "", errdefs.ErrInvalidArgument.WithMessage("no container given")
	}
	if isID(ref) && r.exists(ref) {
		return ref, nil
	}
	if validName(ref) {
		if owner, err := os.ReadFile(filepath.Join(r.namesDir(), ref)); err == nil && r.exists(string(owner)) {
			return string(owner), nil
		}
	}
	ids, err := r.ids()
	if err != nil {
		return "", err
	}
	var found []string
	for _, id := range ids {
		if strings.HasPrefix(id, ref) {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 0:
		return "", errdefs.ErrNotFound.WithMessage(fmt.Sprintf("No such container: %s", ref))
	case 1:
		return found[0], nil
	}
	return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("multiple IDs found with provided prefix: %s", ref))
}

// ids lists the IDs of every container with a record.
func (r *Runtime) ids() ([]string, error) {
	ids, err := r.dirIDs()
	return slices.DeleteFunc(ids, func(id string) bool { return !r.exists(id) }), err
}

// dirIDs lists the containers' directories, some of which may have no
// record (being created or removed): for callers that read it anyway.
func (r *Runtime) dirIDs() ([]string, error) {
	ents, err := os.ReadDir(r.containersDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() && isID(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// removedPrefix names a container directory being removed.
const removedPrefix = ".rm-"

// removeContainerDir removes a container's directory, first moving it
// aside in one rename: a process that waited for its lock then finds it
// gone (flock.AcquireIn) instead of making it again, and a crash midway
// leaves a .rm- directory that RemoveOrphans finishes.
func (r *Runtime) removeContainerDir(id string) error {
	if err := r.moveAside(id); err != nil {
		return err
	}
	return os.RemoveAll(r.removedDir(id))
}

// removedDir is where removeContainerDir moves a container's directory.
func (r *Runtime) removedDir(id string) string {
	return filepath.Join(r.containersDir(), removedPrefix+id)
}

// moveAside renames a container's directory to removedDir, in one step
// that List and Resolve see as its removal.
func (r *Runtime) moveAside(id string) error {
	dir, gone := r.containerDir(id), r.removedDir(id)
	err := os.Rename(dir, gone)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		// A crashed remove of the same container left gone: clear it.
		if err := os.RemoveAll(gone); err != nil {
			return err
		}
		if err := os.Rename(dir, gone); err != nil {
			return err
		}
	}
	// A rename keeps the directory's times: RemoveOrphans' minimum age
	// counts from now, not from the container's last change.
	now := time.Now()
	_ = os.Chtimes(gone, now, now)
	return nil
}

// ShortID is Docker's 12-character form of an ID.
func ShortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// RemoveOrphans removes what a create killed midway left: container
// directories without a record, older than minAge (so that a create in
// progress is never touched). It returns how many it removed.
func (r *Runtime) RemoveOrphans(minAge time.Duration) (int, error) {
	ents, err := os.ReadDir(r.containersDir())
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("list containers: %w", err)
	}
	n := 0
	for _, e := range ents {
		if id, ok := strings.CutPrefix(e.Name(), removedPrefix); ok && e.IsDir() && isID(id) {
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) >= minAge {
				_ = os.RemoveAll(filepath.Join(r.containersDir(), e.Name())) // a remove cut short
			}
			continue
		}
		if !e.IsDir() || !isID(e.Name()) || r.exists(e.Name()) {
			continue
		}
		fi, err := e.Info()
		if err != nil || time.Since(fi.ModTime()) < minAge {
			continue
		}
		_ = overlay.Unmount(r.rootfs(e.Name()))
		_ = os.RemoveAll(r.runDir(e.Name()))
		if err := os.RemoveAll(r.containerDir(e.Name())); err != nil {
			return n, err
		}
		n++
	}
	// The runtime's state of containers whose monitor was killed after an
	// attached run --rm removed them (it deletes that state last). Without
	// --force: the runtime refuses to delete a container that runs (one of
	// another state root sharing this run root, say).
	rtEnts, _ := os.ReadDir(r.opts.RuntimeRoot)
	for _, e := range rtEnts {
		if !e.IsDir() || !isID(e.Name()) || r.dirExists(e.Name()) || isMounted(r.rootfs(e.Name())) {
			continue
		}
		// A minute at least, whatever minAge: runc deletes a container in
		// its "created" state, which one being started is in for a moment.
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) >= max(minAge, time.Minute) {
			_, _ = r.runtime(context.Background(), deleteArgs(r.opts.RuntimeRoot, e.Name(), false)...)
		}
	}
	// Run directories of containers removed by a remove cut short.
	runEnts, _ := os.ReadDir(r.opts.RunRoot)
	for _, e := range runEnts {
		if !e.IsDir() || !isID(e.Name()) || r.dirExists(e.Name()) || isMounted(r.rootfs(e.Name())) {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) >= minAge {
			_ = os.RemoveAll(r.runDir(e.Name()))
		}
	}
	return n, nil
}
