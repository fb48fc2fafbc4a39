package reconcile

import (
	"time"

	"github.com/compose-spec/compose-go/v2/types"
)

// Kind is what an operation does.
type Kind string

// The operation kinds. Recreate is stop, remove, create and start of one
// replica; restart is stop then start of the same container.
const (
	KindCreate   Kind = "create"
	KindRecreate Kind = "recreate"
	KindRestart  Kind = "restart"
	KindStart    Kind = "start"
	KindRemove   Kind = "remove"
)

// Resource is what an operation acts on.
type Resource string

// The resources a plan touches.
const (
	ResourceContainer Resource = "container"
	ResourceNetwork   Resource = "network"
	ResourceVolume    Resource = "volume"
)

// Op is one operation of a plan. Its fields are all Apply needs: Apply
// makes no decision of its own.
type Op struct {
	ID       int      `json:"id"`
	Kind     Kind     `json:"kind"`
	Resource Resource `json:"resource"`
	// Name is the container, network or volume name as the runtime knows it.
	Name string `json:"name"`
	// Key is a network's or volume's name in the project.
	Key string `json:"key,omitempty"`
	// Service and Number identify a container's replica.
	Service string `json:"service,omitempty"`
	Number  int    `json:"number,omitempty"`
	// ContainerID is the existing container an op acts on (not create).
	ContainerID string `json:"container_id,omitempty"`
	// Hash is the config hash a created or recreated container is labelled with.
	Hash string `json:"config_hash,omitempty"`
	// Start says whether a created or recreated container is started.
	Start bool `json:"start,omitempty"`
	// KeepVolumes says a removed container's anonymous volumes stay (down
	// without --volumes); otherwise they go with it.
	KeepVolumes bool `json:"keep_volumes,omitempty"`
	// Cause says why the op is needed, in words.
	Cause string `json:"cause"`
	// Changes are the field-level differences that force a recreate.
	Changes []Change `json:"changes,omitempty"`
	// After lists the IDs of the ops that must finish before this one.
	After []int `json:"after,omitempty"`
	// Waits are the depends_on conditions (service_healthy,
	// service_completed_successfully) to meet before this op runs, once the
	// After ops are done.
	Waits []Wait `json:"waits,omitempty"`
}

// Wait is a dependency condition an op waits on.
type Wait struct {
	Service   string `json:"service"`
	Condition string `json:"condition"`
}

// Change is one field-level difference between the configuration a
// container was created from and the desired one. Old or New is nil when
// the field is absent on that side.
type Change struct {
	Path string `json:"path"`
	Old  any    `json:"old"`
	New  any    `json:"new"`
}

// Plan is the ordered list of operations that converges a stack, with notes
// about what it deliberately leaves alone (orphans kept, for instance).
// An empty plan (no Ops) means the stack is up to date.
type Plan struct {
	Stack string   `json:"stack"`
	Ops   []Op     `json:"ops"`
	Notes []string `json:"notes,omitempty"`

	// Project is the desired project, which Apply turns into configs.
	Project *types.Project `json:"-"`
	// StopTimeout overrides the containers' stop timeout (nil: theirs).
	StopTimeout *time.Duration `json:"-"`
	// Down marks a plan that takes the stack down (MakeDownPlan); it only
	// changes the summary's words.
	Down bool `json:"-"`
}

// Empty reports whether the plan has nothing to do.
func (p *Plan) Empty() bool { return len(p.Ops) == 0 }

// Options tune a plan the way `berth up` and `docker compose up` flags do.
type Options struct {
	// Services restricts the plan to these services (and their
	// dependencies unless NoDeps); empty means all.
	Services []string
	// NoDeps leaves the dependencies of Services alone.
	NoDeps bool
	// ForceRecreate recreates the selected services' containers even when
	// their configuration is unchanged.
	ForceRecreate bool
	// NoRecreate never recreates existing containers.
	NoRecreate bool
	// AlwaysRecreateDeps recreates the dependencies pulled in by Services.
	AlwaysRecreateDeps bool
	// RemoveOrphans removes containers of services the project no longer
	// has, and the stack's networks it no longer declares.
	RemoveOrphans bool
	// RemoveOrphanVolumes also removes the stack's volumes the project no
	// longer declares (their data is lost), with RemoveOrphans.
	RemoveOrphanVolumes bool
	// Scale overrides the replica count of services.
	Scale map[string]int
	// NoStart creates containers without starting them and starts nothing.
	NoStart bool
	// Timeout overrides the containers' stop timeout.
	Timeout *time.Duration
	// OnlyDependencies plans the dependencies of Services and the networks
	// and volumes Services use, but not Services' own containers: what
	// `compose run` needs before it makes its one-off container.
	OnlyDependencies bool
}
