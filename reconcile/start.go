package reconcile

import (
	"maps"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/spec"
)

// MakeStartPlan plans `compose start`: start the stack's existing stopped
// containers of the services (all when none), each service after the
// services it depends on and once their depends_on conditions hold
// (service_healthy, service_completed_successfully), as up would start
// them. It creates nothing and recreates nothing. It is pure.
func MakeStartPlan(p *types.Project, obs Observed, services []string) (*Plan, error) {
	order, err := serviceOrder(p)
	if err != nil {
		return nil, err
	}
	plan := &Plan{Stack: p.Name, Ops: []Op{}, Project: p}
	bySvc := map[string][]runtime.Container{}
	for _, c := range obs.Containers {
		if c.Labels[spec.LabelStack] == p.Name && !strings.EqualFold(c.Labels[spec.LabelOneoff], "true") {
			bySvc[c.Labels[spec.LabelService]] = append(bySvc[c.Labels[spec.LabelService]], c)
		}
	}
	svcOps := map[string][]int{}
	for _, name := range order {
		if len(services) > 0 && !slices.Contains(services, name) {
			continue
		}
		s := p.Services[name]
		var after []int
		var waits []Wait
		for _, dep := range slices.Sorted(maps.Keys(s.DependsOn)) {
			after = append(after, svcOps[dep]...)
			switch cond := s.DependsOn[dep].Condition; cond {
			case types.ServiceConditionHealthy, types.ServiceConditionCompletedSuccessfully:
				if len(bySvc[dep]) > 0 {
					waits = append(waits, Wait{Service: dep, Condition: cond})
				}
			}
		}
		cs := bySvc[name]
		slices.SortFunc(cs, func(x, y runtime.Container) int { return number(x) - number(y) })
		for _, c := range cs {
			if running(c) {
				continue
			}
			op := Op{
				ID: len(plan.Ops), Kind: KindStart, Resource: ResourceContainer, Name: c.Name, Service: name,
				Number: number(c), ContainerID: c.ID, Cause: statusCause(c), After: slices.Clone(after), Waits: waits,
			}
			plan.Ops = append(plan.Ops, op)
			svcOps[name] = append(svcOps[name], op.ID)
		}
	}
	return plan, nil
}
