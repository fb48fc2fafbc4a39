package reconcile

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/spec"
)

// Labels with a container's depends_on, so that a stack can be taken down
// in reverse dependency order when its file is gone. The value is Compose's:
// "db:service_healthy:false,cache:service_started:true" (service, condition,
// restart).
const (
	LabelDependsOn   = "io.berth.depends-on"
	ComposeDependsOn = "com.docker.compose.depends_on"
)

// DownOptions tune a down plan the way `docker compose down` flags do.
type DownOptions struct {
	// RemoveOrphans also removes the stack's containers of services the
	// project does not have (and one-off containers), and the stack's
	// networks (volumes, with Volumes) it no longer declares.
	RemoveOrphans bool
	// Volumes removes the stack's named volumes and the containers'
	// anonymous volumes; their data is lost.
	Volumes bool
	// Timeout overrides the containers' stop timeout.
	Timeout *time.Duration
}

// MakeDownPlan computes the operations that take a stack down: stop and
// remove its containers, dependents before their dependencies, then remove
// its networks and, with Volumes, its volumes. Like MakePlan it is pure and
// only ever touches objects with the stack's label.
//
// desired may be nil when the stack's files are gone: then everything with
// the stack's label goes, ordered by the depends_on labels the containers
// carry.
func MakeDownPlan(stack string, desired *types.Project, obs Observed, opts DownOptions) (*Plan, error) {
	plan := &Plan{Stack: stack, Ops: []Op{}, Project: desired, StopTimeout: opts.Timeout, Down: true}
	add := func(op Op) int {
		op.ID = len(plan.Ops)
		slices.Sort(op.After)
		op.After = slices.Compact(op.After)
		plan.Ops = append(plan.Ops, op)
		return op.ID
	}

	// Which containers go, grouped by service; orphans only with
	// RemoveOrphans.
	bySvc := map[string][]runtime.Container{}
	orphan := map[string]bool{}
	for _, c := range obs.Containers {
		if c.Labels[spec.LabelStack] != stack {
			continue
		}
		svc := c.Labels[spec.LabelService]
		oneoff := strings.EqualFold(c.Labels[spec.LabelOneoff], "true")
		known := desired == nil
		if desired != nil {
			_, active := desired.Services[svc]
			_, disabled := desired.DisabledServices[svc]
			known = active || disabled
		}
		if !known || oneoff {
			if !opts.RemoveOrphans {
				plan.Notes = append(plan.Notes, fmt.Sprintf("orphan container %s (service %s) kept; --remove-orphans removes it", c.Name, svc))
				continue
			}
			orphan[c.ID] = true
		}
		bySvc[svc] = append(bySvc[svc], c)
	}
	for _, cs := range bySvc {
		slices.SortFunc(cs, func(x, y runtime.Container) int { return strings.Compare(x.Name, y.Name) })
	}
	slices.Sort(plan.Notes)

	deps := downDependencies(desired, bySvc)
	order, err := reverseOrder(deps)
	if err != nil {
		return nil, fmt.Errorf("down %s: %w", stack, err)
	}
	// A service's containers go after the containers of every service that
	// depends on it.
	dependents := map[string][]string{}
	for svc, ds := range deps {
		for _, d := range ds {
			dependents[d] = append(dependents[d], svc)
		}
	}
	svcOps := map[string][]int{}
	var containerOps []int
	for _, svc := range order {
		var after []int
		for _, d := range dependents[svc] {
			after = append(after, svcOps[d]...)
		}
		for _, c := range bySvc[svc] {
			cause := "down"
			if orphan[c.ID] {
				cause = "orphan"
			}
			id := add(Op{
				Kind: KindRemove, Resource: ResourceContainer, Name: c.Name, Service: svc,
				Number: number(c), ContainerID: c.ID, Cause: cause, After: after, KeepVolumes: !opts.Volumes,
			})
			svcOps[svc] = append(svcOps[svc], id)
			containerOps = append(containerOps, id)
		}
	}

	// Networks and volumes: the project's own (never external ones, which
	// do not carry the label anyway), and with RemoveOrphans those it no
	// longer declares. Without a project, all of the stack's.
	declaredNets, declaredVols := map[string]bool{}, map[string]bool{}
	if desired != nil {
		for key, n := range desired.Networks {
			declaredNets[networkName(stack, key, n)] = true
		}
		for key, v := range desired.Volumes {
			declaredVols[volumeName(stack, key, v)] = true
		}
	}
	for _, n := range obs.Networks {
		if n.Config.Labels[spec.LabelStack] != stack {
			continue
		}
		if desired != nil && !declaredNets[n.Name] && !opts.RemoveOrphans {
			plan.Notes = append(plan.Notes, fmt.Sprintf("network %s is no longer declared; --remove-orphans removes it", n.Name))
			continue
		}
		add(Op{Kind: KindRemove, Resource: ResourceNetwork, Name: n.Name, Key: n.Config.Labels[spec.LabelNetwork],
			Cause: "down", After: containerOps})
	}
	if opts.Volumes {
		for _, v := range obs.Volumes {
			if v.Config.Labels[spec.LabelStack] != stack {
				continue
			}
			if desired != nil && !declaredVols[v.Name] && !opts.RemoveOrphans {
				plan.Notes = append(plan.Notes, fmt.Sprintf("volume %s is no longer declared; kept with its data", v.Name))
				continue
			}
			add(Op{Kind: KindRemove, Resource: ResourceVolume, Name: v.Name, Key: v.Config.Labels[spec.LabelVolume],
				Cause: "down (--volumes)", After: containerOps})
		}
	}
	return plan, nil
}

// downDependencies returns, for every service with containers, the services
// it depends on: from the project for the services it has, else from the
// containers' depends_on labels.
func downDependencies(desired *types.Project, bySvc map[string][]runtime.Container) map[string][]string {
	deps := map[string][]string{}
	for svc, cs := range bySvc {
		set := map[string]bool{}
		s, ok := types.ServiceConfig{}, false
		if desired != nil {
			if s, ok = desired.Services[svc]; !ok {
				s, ok = desired.DisabledServices[svc]
			}
		}
		if ok {
			for d := range s.DependsOn {
				set[d] = true
			}
		} else {
			for _, c := range cs {
				for d := range parseDependsOn(c.Labels[LabelDependsOn]) {
					set[d] = true
				}
			}
		}
		for d := range set {
			if _, ok := bySvc[d]; ok && d != svc {
				deps[svc] = append(deps[svc], d)
			}
		}
		slices.Sort(deps[svc])
		if deps[svc] == nil {
			deps[svc] = []string{}
		}
	}
	return deps
}

// reverseOrder returns the services of deps with every service before the
// services it depends on, ties broken by name. A cycle is an error.
func reverseOrder(deps map[string][]string) ([]string, error) {
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var order []string
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		switch state[name] {
		case done:
			return nil
		case visiting:
			return fmt.Errorf("dependency cycle: %s", strings.Join(append(path, name), " -> "))
		}
		state[name] = visiting
		for _, d := range deps[name] {
			if err := visit(d, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = done
		order = append(order, name)
		return nil
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(deps)) {
		if err := visit(name, nil); err != nil {
			errs = append(errs, err)
			break
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.Reverse(order)
	return order, nil
}

// dependsOnLabel renders a service's depends_on in Compose's label form.
func dependsOnLabel(s types.ServiceConfig) string {
	var parts []string
	for _, d := range slices.Sorted(maps.Keys(s.DependsOn)) {
		dep := s.DependsOn[d]
		cond := dep.Condition
		if cond == "" {
			cond = types.ServiceConditionStarted
		}
		parts = append(parts, fmt.Sprintf("%s:%s:%t", d, cond, dep.Restart))
	}
	return strings.Join(parts, ",")
}

// parseDependsOn reads a depends_on label: service -> condition.
func parseDependsOn(label string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(label, ",") {
		svc, rest, _ := strings.Cut(strings.TrimSpace(part), ":")
		if svc == "" {
			continue
		}
		cond, _, _ := strings.Cut(rest, ":")
		out[svc] = cond
	}
	return out
}
