// Package runtime owns the container concept: the configuration a container
// is created from, the state it is observed in, and the small interface that
// creates, starts, stops, removes and lists containers.
//
// It holds types and interfaces only. Implementations live in their own
// packages (runtime/runc for an OCI runtime binary, runtime/fake in memory);
// this package must not import any of them, nor spec or reconcile.
package runtime

import (
	"context"
	"time"
)

// Status is a container's lifecycle state, with Docker's names.
type Status string

// Docker's container states.
const (
	StatusCreated    Status = "created"
	StatusRunning    Status = "running"
	StatusPaused     Status = "paused"
	StatusRestarting Status = "restarting"
	StatusExited     Status = "exited"
	StatusDead       Status = "dead"
)

// Container is a container as observed: its identity, the labels it was
// created with, and its current state. Observation never trusts a cached
// record alone: implementations check the OCI runtime and the monitor.
type Container struct {
	ID       string
	Name     string
	Image    string // the reference the container was created from
	ImageID  string // the resolved image ID (sha256:...)
	Labels   map[string]string
	Status   Status
	ExitCode int
	Health   string // "", "starting", "healthy", "unhealthy"
	// HealthOutput is the output of the last healthcheck probe, what an
	// unhealthy dependency's error shows.
	HealthOutput string
	Created      time.Time
	Config       Config
}

// Config is everything a container is created from. Field names follow
// Docker's container create API where Docker has the field.
type Config struct {
	Name       string
	Image      string
	Labels     map[string]string
	Env        []string
	Entrypoint []string // nil: the image's; empty non-nil: none
	Cmd        []string // nil: the image's
	WorkingDir string
	User       string
	Hostname   string
	Domainname string
	Tty        bool
	OpenStdin  bool

	Mounts      []Mount
	NetworkMode string // "" (default bridge), "none", "host", "container:ID", or a network name
	Networks    []NetworkAttachment
	Ports       []PortBinding
	ExtraHosts  []string
	DNS         []string
	DNSSearch   []string
	DNSOptions  []string

	Restart     RestartPolicy
	Healthcheck *Healthcheck
	StopSignal  string
	StopTimeout *time.Duration

	Resources   Resources
	CapAdd      []string
	CapDrop     []string
	Privileged  bool
	ReadOnly    bool
	Init        bool
	SecurityOpt []string
	Sysctls     map[string]string
	Ulimits     []Ulimit
	Tmpfs       map[string]string // path -> options
	ShmSize     int64
	GroupAdd    []string
}

// Mount is a bind mount, a named or anonymous volume, or a tmpfs.
type Mount struct {
	Type        string // "bind", "volume", "tmpfs"
	Source      string // host path for bind, volume name for volume (empty: anonymous)
	Target      string
	ReadOnly    bool
	Propagation string
	NoCopy      bool   // volume: do not copy up the image's content
	TmpfsSize   int64  // bytes, 0 for unlimited
	TmpfsMode   uint32 // 0 for the default 1777
}

// NetworkAttachment joins a container to a network.
type NetworkAttachment struct {
	Network string
	Aliases []string
	IPv4    string
	IPv6    string
}

// PortBinding publishes a container port on the host.
type PortBinding struct {
	HostIP   string
	HostPort uint16 // 0: any free port
	// HostPortEnd, when above HostPort, makes [HostPort, HostPortEnd] a
	// range to pick a free port from (`-p 8000-8010:80`), as Docker does.
	HostPortEnd   uint16
	ContainerPort uint16
	Protocol      string // "tcp" or "udp"
}

// RestartPolicy is Docker's: "no", "always", "on-failure", "unless-stopped".
type RestartPolicy struct {
	Name              string
	MaximumRetryCount int
}

// Healthcheck is Docker's healthcheck; Test is ["CMD", ...], ["CMD-SHELL", cmd] or ["NONE"].
type Healthcheck struct {
	Test          []string
	Interval      time.Duration
	Timeout       time.Duration
	Retries       int
	StartPeriod   time.Duration
	StartInterval time.Duration
}

// Resources are the cgroup limits of a container; zero means unlimited.
type Resources struct {
	Memory            int64 // bytes
	MemoryReservation int64
	MemorySwap        int64
	NanoCPUs          int64 // CPUs * 1e9
	CPUShares         int64
	PidsLimit         int64
	CpusetCpus        string
}

// Ulimit is an rlimit set in the container.
type Ulimit struct {
	Name string
	Soft int64
	Hard int64
}

// RemoveOptions say how Remove treats a running container and its volumes.
type RemoveOptions struct {
	Force         bool // kill a running container first
	RemoveVolumes bool // remove anonymous volumes
}

// Runtime creates and runs containers.
//
// Errors are classified with containerd/errdefs: an unknown container is
// ErrNotFound, a name already taken ErrAlreadyExists, removing a running
// container without Force ErrFailedPrecondition. Implementations are safe for
// concurrent use on different containers.
type Runtime interface {
	// Create makes a container from cfg without starting it and returns its ID.
	Create(ctx context.Context, cfg Config) (string, error)
	// Start starts a created or stopped container. Starting a running one is a no-op.
	Start(ctx context.Context, id string) error
	// Stop sends the stop signal, then SIGKILL after timeout (nil: the
	// container's own stop timeout). Stopping a stopped container is a no-op.
	Stop(ctx context.Context, id string, timeout *time.Duration) error
	// Remove deletes a container and everything it owns.
	Remove(ctx context.Context, id string, opts RemoveOptions) error
	// List returns every container, in no particular order.
	List(ctx context.Context) ([]Container, error)
}
