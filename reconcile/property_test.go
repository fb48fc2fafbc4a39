package reconcile

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/spec"
	"github.com/berth-dev/berth/volumes"
)

var (
	propImages = []string{"nginx:1.27", "postgres:16", "redis:7", "busybox"}
	propValues = []string{"a", "b", "c"}
)

// randomProject builds a random stack of up to six services whose
// dependencies only point at earlier services (no cycles), and whose
// service_healthy conditions only name services with a healthcheck.
func randomProject(r *rand.Rand) *types.Project {
	n := 1 + r.IntN(6)
	var services []types.ServiceConfig
	healthy := map[string]bool{}
	for i := range n {
		name := fmt.Sprintf("s%d", i)
		var mods []func(*types.ServiceConfig)
		var kv []string
		for k := range r.IntN(3) {
			kv = append(kv, fmt.Sprintf("K%d", k), propValues[r.IntN(len(propValues))])
		}
		mods = append(mods, withEnv(kv...))
		if r.IntN(3) == 0 {
			mods = append(mods, withCommand("sleep", propValues[r.IntN(len(propValues))]))
		}
		if r.IntN(2) == 0 {
			mods = append(mods, withHealthcheck("CMD", "true"))
			healthy[name] = true
		}
		var nets []string
		for _, net := range []string{"n0", "n1", "n2"} {
			if r.IntN(3) == 0 {
				nets = append(nets, net)
			}
		}
		if len(nets) > 0 {
			mods = append(mods, withNetworks(nets...))
		}
		if r.IntN(3) == 0 {
			mods = append(mods, withVolume(fmt.Sprintf("v%d", r.IntN(3)), "/data"))
		}
		scale := r.IntN(4)
		if scale <= 1 && r.IntN(5) == 0 {
			mods = append(mods, func(s *types.ServiceConfig) { s.ContainerName = "custom-" + name })
		} else {
			mods = append(mods, withScale(scale))
		}
		for j := range i {
			if r.IntN(3) != 0 {
				continue
			}
			dep := fmt.Sprintf("s%d", j)
			cond := types.ServiceConditionStarted
			if healthy[dep] && r.IntN(2) == 0 {
				cond = types.ServiceConditionHealthy
			}
			mods = append(mods, withDependsOn(dep, cond, r.IntN(2) == 0))
		}
		services = append(services, service(name, propImages[r.IntN(len(propImages))], mods...))
	}
	return project("demo", services...)
}

func randomOptions(r *rand.Rand, p *types.Project) Options {
	var o Options
	if r.IntN(3) == 0 {
		for _, name := range p.ServiceNames() {
			if r.IntN(2) == 0 {
				o.Services = append(o.Services, name)
			}
		}
	}
	o.NoDeps = r.IntN(4) == 0
	switch r.IntN(6) {
	case 0:
		o.ForceRecreate = true
	case 1:
		o.NoRecreate = true
	case 2:
		o.AlwaysRecreateDeps = true
	}
	o.RemoveOrphans = r.IntN(2) == 0
	o.RemoveOrphanVolumes = r.IntN(2) == 0
	o.NoStart = r.IntN(8) == 0
	if r.IntN(4) == 0 {
		names := p.ServiceNames()
		name := names[r.IntN(len(names))]
		if p.Services[name].ContainerName == "" {
			o.Scale = map[string]int{name: r.IntN(4)}
		}
	}
	return o
}

// perturb changes the world behind the stack's back: containers stopped,
// removed or drifted, images updated, and foreign objects added.
func perturb(t *testing.T, r *rand.Rand, e *env) {
	cs, _ := e.rt.List(t.Context())
	for _, c := range cs {
		switch r.IntN(8) {
		case 0:
			e.rt.Stop(t.Context(), c.ID, nil)
		case 1:
			e.rt.Remove(t.Context(), c.ID, runtime.RemoveOptions{Force: true})
		case 2:
			e.rt.Update(c.ID, func(c *runtime.Container) { c.Labels[spec.LabelConfigHash] = "drifted" })
		}
	}
	if r.IntN(3) == 0 {
		ref := propImages[r.IntN(len(propImages))]
		e.images[ref] = fmt.Sprintf("sha256:%064d", r.IntN(1000))
	}
	foreign := []runtime.Container{
		{Name: "other-s0-1", Status: runtime.StatusRunning, Labels: map[string]string{spec.LabelStack: "other", spec.LabelService: "s0", spec.LabelNumber: "1"}},
		{Name: "loose", Status: runtime.StatusExited, Labels: map[string]string{"x": "y"}},
	}
	for _, c := range foreign {
		if _, err := e.rt.Put(c); err != nil {
			t.Fatal(err)
		}
	}
	e.nets.Create(t.Context(), network.Config{Name: "other_n0", Labels: map[string]string{spec.LabelStack: "other"}})
	e.nets.Create(t.Context(), network.Config{Name: "bridge"})
	e.vols.Create(t.Context(), volumes.Config{Name: "other_v0", Labels: map[string]string{spec.LabelStack: "other"}})
}

// TestPropertyConverges: for random desired and observed states, applying
// the plan and planning again gives an empty plan, and no operation ever
// targets an object without the stack's label.
func TestPropertyConverges(t *testing.T) {
	const iterations = 200
	for i := range iterations {
		r := rand.New(rand.NewPCG(20261127, uint64(i)))
		e := newEnv()
		before := randomProject(r)
		e.up(t, before, Options{})
		perturb(t, r, e)

		desired := before
		if r.IntN(4) != 0 {
			desired = randomProject(r)
		}
		opts := randomOptions(r, desired)
		obs := e.observe(t, desired)
		plan, err := MakePlan(desired, obs, opts)
		if err != nil {
			t.Fatalf("iteration %d: plan: %v", i, err)
		}
		checkLabels(t, i, plan, obs)
		checkGraph(t, plan)
		foreignBefore := foreignState(t, e)
		if err := Apply(t.Context(), plan, e.deps(), ApplyOptions{Clock: instant{}}); err != nil {
			if opts.NoRecreate && errdefs.IsFailedPrecondition(err) {
				// A kept container predates the healthcheck a dependent
				// waits on: docker compose fails the same way.
				continue
			}
			t.Fatalf("iteration %d: apply: %v\nplan:\n%s", i, err, text(plan))
		}
		if got := foreignState(t, e); got != foreignBefore {
			t.Fatalf("iteration %d: foreign objects changed:\n%s\n=>\n%s", i, foreignBefore, got)
		}
		opts.ForceRecreate, opts.AlwaysRecreateDeps = false, false
		again, err := MakePlan(desired, e.observe(t, desired), opts)
		if err != nil {
			t.Fatalf("iteration %d: plan again: %v", i, err)
		}
		if !again.Empty() {
			t.Fatalf("iteration %d (options %+v): plan after apply is not empty:\n%s\nfirst plan:\n%s", i, opts, text(again), text(plan))
		}
	}
}

// checkLabels fails if an op acts on an existing object that does not
// carry the stack's label.
func checkLabels(t *testing.T, i int, p *Plan, obs Observed) {
	t.Helper()
	for _, op := range p.Ops {
		var labels map[string]string
		switch {
		case op.Resource == ResourceContainer && op.ContainerID != "":
			idx := slices.IndexFunc(obs.Containers, func(c runtime.Container) bool { return c.ID == op.ContainerID })
			if idx < 0 {
				t.Fatalf("iteration %d: op %s %s on unobserved container %s", i, op.Kind, op.Name, op.ContainerID)
			}
			labels = obs.Containers[idx].Labels
		case op.Resource == ResourceNetwork && op.Kind == KindRemove:
			idx := slices.IndexFunc(obs.Networks, func(n network.Network) bool { return n.Name == op.Name })
			labels = obs.Networks[idx].Config.Labels
		case op.Resource == ResourceVolume && op.Kind == KindRemove:
			idx := slices.IndexFunc(obs.Volumes, func(v volumes.Volume) bool { return v.Name == op.Name })
			labels = obs.Volumes[idx].Config.Labels
		default:
			continue
		}
		if labels[spec.LabelStack] != p.Stack {
			t.Fatalf("iteration %d: op %s %s %s targets an object of stack %q", i, op.Kind, op.Resource, op.Name, labels[spec.LabelStack])
		}
	}
}

// foreignState renders every object that is not the stack's.
func foreignState(t *testing.T, e *env) string {
	var b strings.Builder
	cs, _ := e.rt.List(t.Context())
	for _, c := range cs {
		if c.Labels[spec.LabelStack] != "demo" {
			fmt.Fprintf(&b, "container %s %s %s\n", c.ID, c.Name, c.Status)
		}
	}
	ns, _ := e.nets.List(t.Context())
	for _, n := range ns {
		if n.Config.Labels[spec.LabelStack] != "demo" {
			fmt.Fprintf(&b, "network %s\n", n.Name)
		}
	}
	vs, _ := e.vols.List(t.Context())
	for _, v := range vs {
		if v.Config.Labels[spec.LabelStack] != "demo" {
			fmt.Fprintf(&b, "volume %s\n", v.Name)
		}
	}
	return b.String()
}

func text(p *Plan) string {
	var b strings.Builder
	p.WriteText(&b)
	return b.String()
}
