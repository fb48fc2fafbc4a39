package reconcile

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/spec"
	"github.com/berth-dev/berth/volumes"
)

// MakePlan computes the operations that converge the observed state to the
// desired project. It is pure: same inputs, same plan; it reads nothing and
// changes nothing. It only ever plans operations on existing containers,
// networks and volumes that carry the stack's label.
//
// Errors are about the inputs (an unknown selected service, a dependency
// cycle, a missing external network, a name taken by something that is not
// the stack's) and are all reported together.
func MakePlan(desired *types.Project, obs Observed, opts Options) (*Plan, error) {
	b := &builder{
		p:        desired,
		stack:    desired.Name,
		obs:      obs,
		opts:     opts,
		plan:     &Plan{Stack: desired.Name, Ops: []Op{}, Project: desired, StopTimeout: opts.Timeout},
		netOps:   map[string]int{},
		volOps:   map[string]int{},
		svcOps:   map[string][]int{},
		recreate: map[string]bool{},
		gone:     map[string]bool{},
		hashes:   map[string]string{},
		records:  map[string]map[string]any{},
	}
	b.build()
	if err := errors.Join(b.errs...); err != nil {
		return nil, fmt.Errorf("plan %s: %w", desired.Name, err)
	}
	return b.plan, nil
}

// builder holds the state of one Plan call.
type builder struct {
	p     *types.Project
	stack string
	obs   Observed
	opts  Options
	plan  *Plan
	errs  []error

	selected map[string]bool // named by the user (all when none named)
	targeted map[string]bool // selected plus their dependencies
	bySvc    map[string][]runtime.Container
	orphans  []runtime.Container

	netOps   map[string]int   // network key -> its create op
	volOps   map[string]int   // volume key -> its create op
	svcOps   map[string][]int // service -> its container ops, which dependents wait for
	recreate map[string]bool  // services with a recreated container
	gone     map[string]bool  // IDs of containers removed or recreated
	hashes   map[string]string
	records  map[string]map[string]any
}

func (b *builder) fail(format string, args ...any) {
	b.errs = append(b.errs, fmt.Errorf(format, args...))
}

func (b *builder) add(op Op) int {
	op.ID = len(b.plan.Ops)
	slices.Sort(op.After)
	op.After = slices.Compact(op.After)
	b.plan.Ops = append(b.plan.Ops, op)
	return op.ID
}

func (b *builder) build() {
	order, err := serviceOrder(b.p)
	if err != nil {
		b.errs = append(b.errs, err)
		return
	}
	b.selectServices()
	if len(b.errs) > 0 {
		return
	}
	b.groupContainers()
	b.planNetworks()
	b.planVolumes()
	for _, name := range order {
		b.planService(name)
	}
	b.planOrphans()
	b.planNetworkRemovals()
	b.planVolumeRemovals()
}

// selectServices fills selected and targeted from Options.Services.
func (b *builder) selectServices() {
	b.selected, b.targeted = map[string]bool{}, map[string]bool{}
	for name := range b.opts.Scale {
		if _, ok := b.p.Services[name]; !ok {
			b.fail("scale: no such service: %s", name)
		}
	}
	if len(b.opts.Services) == 0 {
		for name := range b.p.Services {
			b.selected[name], b.targeted[name] = true, true
		}
		return
	}
	var visit func(string)
	visit = func(name string) {
		if b.targeted[name] {
			return
		}
		b.targeted[name] = true
		if b.opts.NoDeps {
			return
		}
		for dep := range b.p.Services[name].DependsOn {
			if _, ok := b.p.Services[dep]; ok {
				visit(dep)
			}
		}
	}
	for _, name := range b.opts.Services {
		if _, ok := b.p.Services[name]; !ok {
			b.fail("no such service: %s", name)
			continue
		}
		b.selected[name] = true
		visit(name)
	}
}

// groupContainers sorts the stack's containers into replicas of known
// services and orphans. One-off containers (berth run) are left alone, and
// so are containers of services disabled by a profile.
func (b *builder) groupContainers() {
	b.bySvc = map[string][]runtime.Container{}
	for _, c := range b.obs.Containers {
		if c.Labels[spec.LabelStack] != b.stack || strings.EqualFold(c.Labels[spec.LabelOneoff], "true") {
			continue
		}
		svc := c.Labels[spec.LabelService]
		if _, ok := b.p.Services[svc]; ok {
			b.bySvc[svc] = append(b.bySvc[svc], c)
			continue
		}
		if _, ok := b.p.DisabledServices[svc]; ok {
			continue
		}
		b.orphans = append(b.orphans, c)
	}
	for _, cs := range b.bySvc {
		slices.SortStableFunc(cs, func(x, y runtime.Container) int {
			if d := number(x) - number(y); d != 0 {
				return d
			}
			return strings.Compare(x.Name, y.Name)
		})
	}
	slices.SortFunc(b.orphans, func(x, y runtime.Container) int { return strings.Compare(x.Name, y.Name) })
}

// number is a container's replica number, 0 if its label is unusable.
func number(c runtime.Container) int {
	n, err := strconv.Atoi(c.Labels[spec.LabelNumber])
	if err != nil || n < 1 {
		return 0
	}
	return n
}

// scale is the number of replicas a service should have.
func (b *builder) scale(name string, s types.ServiceConfig) int {
	if n, ok := b.opts.Scale[name]; ok {
		return n
	}
	return s.GetScale()
}

// strategy says how the replicas of a service are recreated, following
// docker compose: --force-recreate applies to the selected services,
// --always-recreate-deps to the dependencies they pull in, --no-recreate to
// all.
type strategy int

const (
	recreateDiverged strategy = iota
	recreateForce
	recreateNever
)

func (b *builder) strategy(name string) (strategy, string) {
	switch {
	case b.opts.NoRecreate:
		return recreateNever, ""
	case b.selected[name] && b.opts.ForceRecreate:
		return recreateForce, "forced (--force-recreate)"
	case !b.selected[name] && b.opts.AlwaysRecreateDeps:
		return recreateForce, "dependency of a selected service (--always-recreate-deps)"
	}
	return recreateDiverged, ""
}

func (b *builder) planService(name string) {
	s := b.p.Services[name]
	if !b.targeted[name] {
		b.planDependentRestart(name, s)
		return
	}
	if b.opts.OnlyDependencies && b.selected[name] && len(b.opts.Services) > 0 {
		return
	}
	want := b.scale(name, s)
	if want < 0 {
		b.fail("service %s: negative scale %d", name, want)
		return
	}
	if s.ContainerName != "" && want > 1 {
		b.fail("service %s: container_name %s allows one replica, not %d", name, s.ContainerName, want)
		return
	}
	existing := b.bySvc[name]
	imgID := b.obs.Images[imageRef(b.stack, name, s)]
	after, waits := b.dependencies(name, s)
	restartCause, restartAfter := b.restartCause(s)
	strat, forceCause := b.strategy(name)
	start := !b.opts.NoStart
	if !start {
		waits = nil // nothing starts, so nothing waits
	}

	kept := existing[:min(want, len(existing))]
	used := map[int]bool{}
	for _, c := range kept {
		used[number(c)] = true
		id := imgID
		if id == "" {
			// The image is not known locally: as far as Plan can tell, the
			// container still runs the image it should.
			id = c.ImageID
		}
		hash, ok := b.hash(name, id)
		if !ok {
			return
		}
		op := Op{
			Resource: ResourceContainer, Name: c.Name, Service: name, Number: number(c),
			ContainerID: c.ID, After: after, Waits: waits,
		}
		switch {
		case strat == recreateForce:
			op.Kind, op.Hash, op.Start, op.Cause = KindRecreate, hash, start, forceCause
		case c.Labels[spec.LabelConfigHash] != hash && strat != recreateNever:
			op.Kind, op.Hash, op.Start = KindRecreate, hash, start
			op.Cause, op.Changes = b.changes(c, name, s, imgID)
		case restartCause != "" && running(c) && start:
			op.Kind, op.Cause = KindRestart, restartCause
			op.After = append(slices.Clone(after), restartAfter...)
		case !running(c) && start:
			op.Kind, op.Cause = KindStart, statusCause(c)
		default:
			continue
		}
		if op.Kind == KindRecreate {
			b.recreate[name] = true
			b.gone[c.ID] = true
		}
		b.svcOps[name] = append(b.svcOps[name], b.add(op))
	}
	for _, c := range existing[len(kept):] {
		b.gone[c.ID] = true
		// Dependents wait for scale-down too: their conditions are about
		// the replicas that stay.
		b.svcOps[name] = append(b.svcOps[name], b.add(Op{
			Kind: KindRemove, Resource: ResourceContainer, Name: c.Name, Service: name, Number: number(c),
			ContainerID: c.ID, Cause: fmt.Sprintf("scale %d => %d", len(existing), want),
		}))
	}
	if len(kept) == want {
		return
	}
	hash, ok := b.hash(name, imgID)
	if !ok {
		return
	}
	cause := "new service"
	if len(existing) > 0 {
		cause = fmt.Sprintf("scale %d => %d", len(existing), want)
	}
	for n, missing := 1, want-len(kept); missing > 0; n++ {
		if used[n] {
			continue
		}
		missing--
		b.svcOps[name] = append(b.svcOps[name], b.add(Op{
			Kind: KindCreate, Resource: ResourceContainer, Name: containerName(b.stack, name, n, s),
			Service: name, Number: n, Hash: hash, Start: start, Cause: cause, After: after, Waits: waits,
		}))
	}
}

// planDependentRestart restarts the running replicas of a service outside
// the selection when a dependency it declares `restart: true` on was
// recreated, as docker compose does.
func (b *builder) planDependentRestart(name string, s types.ServiceConfig) {
	cause, after := b.restartCause(s)
	if cause == "" || b.opts.NoStart {
		return
	}
	for _, c := range b.bySvc[name] {
		if !running(c) {
			continue
		}
		b.svcOps[name] = append(b.svcOps[name], b.add(Op{
			Kind: KindRestart, Resource: ResourceContainer, Name: c.Name, Service: name, Number: number(c),
			ContainerID: c.ID, Cause: cause, After: after,
		}))
	}
}

// restartCause says why a service's running containers must restart: a
// dependency with `restart: true` was recreated. after are that
// dependency's ops.
func (b *builder) restartCause(s types.ServiceConfig) (string, []int) {
	for _, dep := range slices.Sorted(maps.Keys(s.DependsOn)) {
		if s.DependsOn[dep].Restart && b.recreate[dep] {
			return fmt.Sprintf("dependency %s recreated (depends_on restart: true)", dep), b.svcOps[dep]
		}
	}
	return "", nil
}

// dependencies returns the ops a service's ops wait for (the networks and
// volumes it uses, the ops of its targeted dependencies) and the health or
// completion conditions it waits on.
func (b *builder) dependencies(name string, s types.ServiceConfig) ([]int, []Wait) {
	var after []int
	for key := range s.Networks {
		if id, ok := b.netOps[key]; ok {
			after = append(after, id)
		}
	}
	for _, v := range s.Volumes {
		if id, ok := b.volOps[v.Source]; ok && v.Type == types.VolumeTypeVolume {
			after = append(after, id)
		}
	}
	var waits []Wait
	for _, dep := range slices.Sorted(maps.Keys(s.DependsOn)) {
		if !b.targeted[dep] {
			continue
		}
		after = append(after, b.svcOps[dep]...)
		switch cond := s.DependsOn[dep].Condition; cond {
		case types.ServiceConditionHealthy, types.ServiceConditionCompletedSuccessfully:
			waits = append(waits, Wait{Service: dep, Condition: cond})
		}
	}
	slices.Sort(after)
	return slices.Compact(after), waits
}

// hash returns the service's config hash for an image ID, memoized.
func (b *builder) hash(name, imageID string) (string, bool) {
	key := name + "\x00" + imageID
	if h, ok := b.hashes[key]; ok {
		return h, true
	}
	h, err := spec.ServiceHash(b.p, name, imageID)
	if err != nil {
		b.errs = append(b.errs, err)
		return "", false
	}
	b.hashes[key] = h
	return h, true
}

func running(c runtime.Container) bool {
	switch c.Status {
	case runtime.StatusRunning, runtime.StatusPaused, runtime.StatusRestarting:
		return true
	}
	return false
}

func statusCause(c runtime.Container) string {
	switch c.Status {
	case runtime.StatusCreated:
		return "created, not started"
	case runtime.StatusExited:
		return fmt.Sprintf("exited (%d)", c.ExitCode)
	case "":
		return "not running"
	}
	return string(c.Status)
}

func (b *builder) planOrphans() {
	for _, c := range b.orphans {
		svc := c.Labels[spec.LabelService]
		if !b.opts.RemoveOrphans {
			b.plan.Notes = append(b.plan.Notes,
				fmt.Sprintf("orphan container %s (service %s) kept; --remove-orphans removes it", c.Name, svc))
			continue
		}
		b.gone[c.ID] = true
		b.add(Op{
			Kind: KindRemove, Resource: ResourceContainer, Name: c.Name, Service: svc, Number: number(c),
			ContainerID: c.ID, Cause: "orphan",
		})
	}
}

// containerName is Compose's name for a replica, or the service's
// container_name.
func containerName(stack, service string, n int, s types.ServiceConfig) string {
	if s.ContainerName != "" {
		return s.ContainerName
	}
	return stack + "-" + service + "-" + strconv.Itoa(n)
}

// networkName is the runtime name of a project network: its explicit name,
// else the stack-prefixed key (an external network's key is its name).
func networkName(stack, key string, n types.NetworkConfig) string {
	switch {
	case n.Name != "":
		return n.Name
	case bool(n.External):
		return key
	}
	return stack + "_" + key
}

// volumeName is networkName for volumes.
func volumeName(stack, key string, v types.VolumeConfig) string {
	switch {
	case v.Name != "":
		return v.Name
	case bool(v.External):
		return key
	}
	return stack + "_" + key
}

// users returns, per network (or volume) key, the targeted services that
// use it, sorted.
func (b *builder) users(keys func(types.ServiceConfig) []string) map[string][]string {
	out := map[string][]string{}
	for _, name := range slices.Sorted(maps.Keys(b.targeted)) {
		for _, k := range keys(b.p.Services[name]) {
			out[k] = append(out[k], name)
		}
	}
	return out
}

func usedBy(services []string) string {
	const max = 3
	if len(services) <= max {
		return "used by " + strings.Join(services, ", ")
	}
	return fmt.Sprintf("used by %s and %d more", strings.Join(services[:max], ", "), len(services)-max)
}

func (b *builder) planNetworks() {
	byName := map[string]network.Network{}
	for _, n := range b.obs.Networks {
		byName[n.Name] = n
	}
	users := b.users(func(s types.ServiceConfig) []string { return slices.Collect(maps.Keys(s.Networks)) })
	for _, key := range slices.Sorted(maps.Keys(users)) {
		if _, ok := b.p.Networks[key]; !ok {
			b.fail("network %s used by %s is not declared", key, strings.Join(users[key], ", "))
		}
	}
	for _, key := range slices.Sorted(maps.Keys(b.p.Networks)) {
		cfg := b.p.Networks[key]
		name := networkName(b.stack, key, cfg)
		n, exists := byName[name]
		switch {
		case len(users[key]) == 0:
		case bool(cfg.External):
			if !exists {
				b.fail("network %s is external but does not exist", name)
			}
		case exists && n.Config.Labels[spec.LabelStack] != b.stack:
			b.fail("network %s exists but does not belong to stack %s", name, b.stack)
		case !exists:
			b.netOps[key] = b.add(Op{Kind: KindCreate, Resource: ResourceNetwork, Name: name, Key: key, Cause: usedBy(users[key])})
		}
	}
}

func (b *builder) planVolumes() {
	byName := map[string]volumes.Volume{}
	for _, v := range b.obs.Volumes {
		byName[v.Name] = v
	}
	users := b.users(func(s types.ServiceConfig) []string {
		var keys []string
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume && v.Source != "" {
				keys = append(keys, v.Source)
			}
		}
		return keys
	})
	for _, key := range slices.Sorted(maps.Keys(users)) {
		if _, ok := b.p.Volumes[key]; !ok {
			b.fail("volume %s used by %s is not declared", key, strings.Join(users[key], ", "))
		}
	}
	for _, key := range slices.Sorted(maps.Keys(b.p.Volumes)) {
		cfg := b.p.Volumes[key]
		name := volumeName(b.stack, key, cfg)
		v, exists := byName[name]
		switch {
		case len(users[key]) == 0:
		case bool(cfg.External):
			if !exists {
				b.fail("volume %s is external but does not exist", name)
			}
		case exists && v.Config.Labels[spec.LabelStack] != b.stack:
			b.fail("volume %s exists but does not belong to stack %s", name, b.stack)
		case !exists:
			b.volOps[key] = b.add(Op{Kind: KindCreate, Resource: ResourceVolume, Name: name, Key: key, Cause: usedBy(users[key])})
		}
	}
}

// detachOps are the ops after which containers no longer use what they
// are removed or recreated from.
func (b *builder) detachOps() []int {
	var ids []int
	for _, op := range b.plan.Ops {
		if op.Resource == ResourceContainer && (op.Kind == KindRemove || op.Kind == KindRecreate) {
			ids = append(ids, op.ID)
		}
	}
	return ids
}

// kept returns the stack's containers that stay as they are.
func (b *builder) kept() []runtime.Container {
	var out []runtime.Container
	for _, c := range b.obs.Containers {
		if c.Labels[spec.LabelStack] == b.stack && !b.gone[c.ID] {
			out = append(out, c)
		}
	}
	return out
}

func (b *builder) planNetworkRemovals() {
	declared := map[string]bool{}
	for key, cfg := range b.p.Networks {
		declared[networkName(b.stack, key, cfg)] = true
	}
	for _, n := range b.obs.Networks {
		if n.Config.Labels[spec.LabelStack] != b.stack || declared[n.Name] {
			continue
		}
		if !b.opts.RemoveOrphans {
			b.plan.Notes = append(b.plan.Notes, fmt.Sprintf("network %s is no longer declared; --remove-orphans removes it", n.Name))
			continue
		}
		if c, ok := b.attached(func(c runtime.Container) bool {
			return slices.ContainsFunc(c.Config.Networks, func(a runtime.NetworkAttachment) bool { return a.Network == n.Name })
		}); ok {
			b.plan.Notes = append(b.plan.Notes, fmt.Sprintf("network %s is no longer declared but %s still uses it", n.Name, c))
			continue
		}
		b.add(Op{Kind: KindRemove, Resource: ResourceNetwork, Name: n.Name, Cause: "orphan", After: b.detachOps()})
	}
}

func (b *builder) planVolumeRemovals() {
	declared := map[string]bool{}
	for key, cfg := range b.p.Volumes {
		declared[volumeName(b.stack, key, cfg)] = true
	}
	for _, v := range b.obs.Volumes {
		if v.Config.Labels[spec.LabelStack] != b.stack || declared[v.Name] {
			continue
		}
		if !b.opts.RemoveOrphans || !b.opts.RemoveOrphanVolumes {
			b.plan.Notes = append(b.plan.Notes, fmt.Sprintf("volume %s is no longer declared; kept with its data", v.Name))
			continue
		}
		if c, ok := b.attached(func(c runtime.Container) bool {
			return slices.ContainsFunc(c.Config.Mounts, func(m runtime.Mount) bool { return m.Type == "volume" && m.Source == v.Name })
		}); ok {
			b.plan.Notes = append(b.plan.Notes, fmt.Sprintf("volume %s is no longer declared but %s still uses it", v.Name, c))
			continue
		}
		b.add(Op{Kind: KindRemove, Resource: ResourceVolume, Name: v.Name, Cause: "orphan", After: b.detachOps()})
	}
}

// attached returns the name of a kept container for which uses is true.
func (b *builder) attached(uses func(runtime.Container) bool) (string, bool) {
	for _, c := range b.kept() {
		if uses(c) {
			return c.Name, true
		}
	}
	return "", false
}

// serviceOrder returns the project's services with every service after the
// services it depends on, ties broken by name. A cycle is an error.
func serviceOrder(p *types.Project) ([]string, error) {
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	order := make([]string, 0, len(p.Services))
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		switch state[name] {
		case done:
			return nil
		case visiting:
			return fmt.Errorf("dependency cycle: %s", strings.Join(append(path, name), " -> "))
		}
		state[name] = visiting
		for _, dep := range slices.Sorted(maps.Keys(p.Services[name].DependsOn)) {
			if _, ok := p.Services[dep]; !ok {
				continue // an optional dependency that is not in the project
			}
			if err := visit(dep, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = done
		order = append(order, name)
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(p.Services)) {
		if err := visit(name, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// ServiceOrder returns the project's services with every service after the
// services it depends on, ties broken by name, for the commands that start
// (in this order) or stop (in reverse) a stack's containers. A depends_on
// cycle is an error.
func ServiceOrder(p *types.Project) ([]string, error) { return serviceOrder(p) }
