// Package runc runs containers with an OCI runtime binary (runc by default,
// any runtime with runc's command line such as crun), daemonless: each
// running container has one small monitor process (package monitor) that
// survives the CLI. This package is the CLI side: it keeps the per-container
// records on disk, makes the overlay root filesystem and the bundle, starts
// and signals monitors, observes state truthfully and repairs what a killed
// process left behind.
//
// It implements runtime.Runtime plus the operations Docker's container
// commands need (Kill, Pause, Exec, Logs, Inspect...). Every call of the
// runtime binary goes through Runtime.runtime; its argument lists are built
// by the pure functions in args.go.
//
// State layout (see docs/runtime.md):
//
//	<root>/containers/<id>/         container.json (record), state.json,
//	                                config.json (OCI spec), upper/, work/,
//	                                hostname, hosts, resolv.conf, <id>-json.log
//	<root>/containers/.names/<name> the name index (file holding the ID)
//	<run-root>/<id>/                the bundle: config.json, rootfs/ (the
//	                                overlay mount), monitor.json, attach.sock
//	<run-root>/runc/                the OCI runtime's own --root
//	<run-root>/ia32                 the ia32 probe's answer (ia32.go)
package runc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/containerd/errdefs"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/runtime"
)

// Image is what a container needs of an image: its ID, its config and its
// unpacked layer directories, bottom first (the overlay lower dirs).
type Image struct {
	ID          string
	Config      v1.ImageConfig
	Layers      []string
	Healthcheck *runtime.Healthcheck // Docker's HEALTHCHECK, nil if none
}

// Images finds a local image by reference or ID. An unknown image is
// errdefs.ErrNotFound.
type Images interface {
	Image(ctx context.Context, ref string) (Image, error)
}

// Options configure a Runtime.
type Options struct {
	Root        string // persistent state, e.g. /var/lib/berth
	RunRoot     string // run state, e.g. /run/berth
	Runtime     string // OCI runtime binary name or path, default "runc"
	RuntimeRoot string // the runtime's --root, default <RunRoot>/runc
	Monitor     string // the berth-shim binary
	Images      Images
	LogMaxSize  int64 // bytes per log file, default 10 MiB
	LogMaxFiles int   // log files kept, default 2
	// AutoRemove returns the command the monitor runs (detached) after the
	// final exit of a container created with AutoRemove (--rm -d).
	AutoRemove func(id string) []string
	// Networks attaches containers to CNI networks (network/cni's Manager);
	// nil allows only the none and host network modes.
	Networks Networks
	// Volumes mounts named and anonymous volumes (volumes/local's
	// Manager); nil refuses them.
	Volumes Volumes
	// Release returns the command the monitor runs (detached) after the
	// final exit of a container on networks, to release its address, ports
	// and names at once (it calls Runtime.Release with the token the
	// runtime appends). nil: they are released by the next stop, start, rm
	// or port clash.
	Release func(id string) []string
	// Attached tells whether a network attachment that is not a container's
	// belongs to something alive (a build's RUN step): the clean-up of
	// vanished containers' attachments leaves those alone. nil: none.
	Attached func(id string) bool
}

// Runtime runs containers with an OCI runtime binary. It is safe for
// concurrent use, also by several processes on the same state directories.
type Runtime struct {
	opts Options

	ia32Once sync.Once
	ia32     bool // ia32Refused's answer

	mu          sync.Mutex
	runtimePath string   // CheckRuntime's answer
	standby     *standby // PrepareMonitor's, until a start takes it
	// The containers whose exit this process heard attached as their
	// remover (an attached run --rm): their monitors delete what a remove
	// moves aside once this process has ended.
	removerOf map[string]bool
}

var _ runtime.Runtime = (*Runtime)(nil)

// New returns a Runtime; it creates no directories until first used.
func New(opts Options) *Runtime {
	if opts.Runtime == "" {
		opts.Runtime = "runc"
	}
	if opts.RuntimeRoot == "" {
		opts.RuntimeRoot = filepath.Join(opts.RunRoot, "runc")
	}
	if opts.LogMaxSize == 0 {
		opts.LogMaxSize = 10 << 20
	}
	if opts.LogMaxFiles == 0 {
		opts.LogMaxFiles = 2
	}
	return &Runtime{opts: opts}
}

func (r *Runtime) containersDir() string         { return filepath.Join(r.opts.Root, "containers") }
func (r *Runtime) namesDir() string              { return filepath.Join(r.containersDir(), ".names") }
func (r *Runtime) containerDir(id string) string { return filepath.Join(r.containersDir(), id) }
func (r *Runtime) runDir(id string) string       { return filepath.Join(r.opts.RunRoot, id) }
func (r *Runtime) rootfs(id string) string       { return filepath.Join(r.runDir(id), "rootfs") }

// CheckRuntime reports whether the OCI runtime binary can be found, with a
// message that says what to install.
// The path found is kept: a run looks for it three times, and each
// search of a long PATH is a dozen stats.
func (r *Runtime) CheckRuntime() (string, error) {
	r.mu.Lock()
	p := r.runtimePath
	r.mu.Unlock()
	if p != "" {
		return p, nil
	}
	p, err := exec.LookPath(r.opts.Runtime)
	if err != nil {
		return "", errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("OCI runtime %q not found: install it (apt-get install runc) or pass --runtime", r.opts.Runtime))
	}
	r.mu.Lock()
	r.runtimePath = p
	r.mu.Unlock()
	return p, nil
}

func (r *Runtime) monitorPath() (string, error) {
	if r.opts.Monitor != "" {
		if _, err := os.Stat(r.opts.Monitor); err == nil {
			return r.opts.Monitor, nil
		}
	}
	if p, err := exec.LookPath("berth-shim"); err == nil {
		return p, nil
	}
	return "", errdefs.ErrFailedPrecondition.WithMessage("monitor binary berth-shim not found next to berth or in PATH")
}
