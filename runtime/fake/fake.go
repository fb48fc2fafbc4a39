// Package fake is an in-memory runtime.Runtime for tests. It keeps real state
// (IDs, unique names, statuses, labels, configs) so tests assert on the
// resulting containers rather than on call sequences, and it can inject a
// failure into a chosen call, like controller-runtime's fake client.
//
// It never runs a process: Start marks a container running, Stop marks it
// exited. It is safe for concurrent use.
package fake

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/runtime"
)

// Call names a Runtime method, for Hook.
type Call string

// The calls a Hook can intercept.
const (
	CallCreate Call = "create"
	CallStart  Call = "start"
	CallStop   Call = "stop"
	CallRemove Call = "remove"
	CallList   Call = "list"
)

// Hook runs before every call, outside the runtime's lock; a non-nil error fails the call with that
// error and leaves the state unchanged. key is the container name for
// create, the ID for start, stop and remove, and "" for list.
type Hook func(call Call, key string) error

// Images maps image references to image IDs. It is also an images.Resolver.
type Images map[string]string

// Resolve returns the ID of ref, or an error classified as ErrNotFound.
func (im Images) Resolve(_ context.Context, ref string) (string, error) {
	id, ok := im[ref]
	if !ok {
		return "", fmt.Errorf("image %s: %w", ref, errdefs.ErrNotFound)
	}
	return id, nil
}

// Runtime is the in-memory runtime. The zero value is not usable; call New.
type Runtime struct {
	mu         sync.Mutex
	next       int
	containers map[string]*runtime.Container // by ID
	names      map[string]string             // name -> ID
	hook       Hook
	images     Images
	health     string
	now        func() time.Time
}

// Option configures a Runtime.
type Option func(*Runtime)

// WithImages makes Create record the image ID of known references.
func WithImages(im Images) Option { return func(r *Runtime) { r.images = im } }

// WithHook installs a hook that can fail any call.
func WithHook(h Hook) Option { return func(r *Runtime) { r.hook = h } }

// WithHealthOnStart sets the health a started container with a healthcheck
// reports ("healthy" by default; "starting" to test health gates).
func WithHealthOnStart(health string) Option { return func(r *Runtime) { r.health = health } }

// New returns an empty runtime.
func New(opts ...Option) *Runtime {
	r := &Runtime{
		containers: map[string]*runtime.Container{},
		names:      map[string]string{},
		health:     "healthy",
		now:        time.Now,
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// SetHook replaces the hook (nil removes it).
func (r *Runtime) SetHook(h Hook) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hook = h
}

// intercept runs the hook outside the lock, so a hook may block (to test
// concurrency) or call the runtime itself.
func (r *Runtime) intercept(call Call, key string) error {
	r.mu.Lock()
	h := r.hook
	r.mu.Unlock()
	if h == nil {
		return nil
	}
	return h(call, key)
}

// Create records a container in state "created".
func (r *Runtime) Create(_ context.Context, cfg runtime.Config) (string, error) {
	if err := r.intercept(CallCreate, cfg.Name); err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if cfg.Name == "" {
		return "", fmt.Errorf("create: empty name: %w", errdefs.ErrInvalidArgument)
	}
	if cfg.Image == "" {
		return "", fmt.Errorf("create %s: empty image: %w", cfg.Name, errdefs.ErrInvalidArgument)
	}
	if _, ok := r.names[cfg.Name]; ok {
		return "", fmt.Errorf("create %s: name in use: %w", cfg.Name, errdefs.ErrAlreadyExists)
	}
	r.next++
	id := fmt.Sprintf("%064s", strconv.Itoa(r.next))
	cfg = cloneConfig(cfg)
	c := &runtime.Container{
		ID:      id,
		Name:    cfg.Name,
		Image:   cfg.Image,
		ImageID: r.images[cfg.Image],
		Labels:  maps.Clone(cfg.Labels),
		Status:  runtime.StatusCreated,
		Created: r.now(),
		Config:  cfg,
	}
	r.containers[id] = c
	r.names[cfg.Name] = id
	return id, nil
}

func (r *Runtime) get(id string) (*runtime.Container, error) {
	c, ok := r.containers[id]
	if !ok {
		return nil, fmt.Errorf("container %s: %w", id, errdefs.ErrNotFound)
	}
	return c, nil
}

// Start marks a container running; starting a running one is a no-op.
func (r *Runtime) Start(_ context.Context, id string) error {
	if err := r.intercept(CallStart, id); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.get(id)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	if c.Status == runtime.StatusRunning {
		return nil
	}
	c.Status = runtime.StatusRunning
	c.ExitCode = 0
	c.Health = ""
	if hc := c.Config.Healthcheck; hc != nil && len(hc.Test) > 0 && hc.Test[0] != "NONE" {
		c.Health = r.health
	}
	return nil
}

// Stop marks a running container exited with code 143 (SIGTERM); stopping a
// stopped one is a no-op.
func (r *Runtime) Stop(_ context.Context, id string, _ *time.Duration) error {
	if err := r.intercept(CallStop, id); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.get(id)
	if err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	if c.Status == runtime.StatusRunning || c.Status == runtime.StatusPaused || c.Status == runtime.StatusRestarting {
		c.Status = runtime.StatusExited
		c.ExitCode = 143
		c.Health = ""
	}
	return nil
}

// Remove deletes a container; a running one needs Force
// (ErrFailedPrecondition otherwise).
func (r *Runtime) Remove(_ context.Context, id string, opts runtime.RemoveOptions) error {
	if err := r.intercept(CallRemove, id); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.get(id)
	if err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	if c.Status == runtime.StatusRunning && !opts.Force {
		return fmt.Errorf("remove %s: container is running: %w", id, errdefs.ErrFailedPrecondition)
	}
	delete(r.containers, id)
	delete(r.names, c.Name)
	return nil
}

// List returns copies of every container, sorted by name.
func (r *Runtime) List(_ context.Context) ([]runtime.Container, error) {
	if err := r.intercept(CallList, ""); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]runtime.Container, 0, len(r.containers))
	for _, c := range r.containers {
		cc := *c
		cc.Labels = maps.Clone(c.Labels)
		cc.Config = cloneConfig(c.Config)
		out = append(out, cc)
	}
	slices.SortFunc(out, func(a, b runtime.Container) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// Put inserts or replaces a container as is, for setting up observed state
// in tests. An empty ID gets a fresh one; the name must not belong to
// another container.
func (r *Runtime) Put(c runtime.Container) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.ID == "" {
		r.next++
		c.ID = fmt.Sprintf("%064s", strconv.Itoa(r.next))
	}
	if other, ok := r.names[c.Name]; ok && other != c.ID {
		return "", fmt.Errorf("put %s: name in use: %w", c.Name, errdefs.ErrAlreadyExists)
	}
	if old, ok := r.containers[c.ID]; ok {
		delete(r.names, old.Name)
	}
	if c.Status == "" {
		c.Status = runtime.StatusCreated
	}
	c.Labels = maps.Clone(c.Labels)
	c.Config = cloneConfig(c.Config)
	r.containers[c.ID] = &c
	r.names[c.Name] = c.ID
	return c.ID, nil
}

// Update changes a container's observed state in place (status, exit code,
// health), as the monitor would. It returns ErrNotFound for an unknown ID.
func (r *Runtime) Update(id string, fn func(*runtime.Container)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.get(id)
	if err != nil {
		return err
	}
	fn(c)
	return nil
}

func cloneConfig(c runtime.Config) runtime.Config {
	c.Labels = maps.Clone(c.Labels)
	c.Env = slices.Clone(c.Env)
	c.Entrypoint = slices.Clone(c.Entrypoint)
	c.Cmd = slices.Clone(c.Cmd)
	c.Mounts = slices.Clone(c.Mounts)
	c.Networks = slices.Clone(c.Networks)
	c.Ports = slices.Clone(c.Ports)
	c.Sysctls = maps.Clone(c.Sysctls)
	c.Tmpfs = maps.Clone(c.Tmpfs)
	return c
}

var _ runtime.Runtime = (*Runtime)(nil)
