package reconcile

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/spec"
)

func TestDownPlanGolden(t *testing.T) {
	withNets := func() *types.Project {
		return project("demo",
			service("web", "nginx:1.27", withNetworks("front", "back"), withDependsOn("api", "", false)),
			service("api", "nginx:1.27", withNetworks("back"), withDependsOn("db", types.ServiceConditionHealthy, false)),
			service("db", "postgres:16", withHealthcheck("CMD", "pg_isready"), withNetworks("back"), withVolume("data", "/data")))
	}
	tests := []struct {
		name    string
		before  *types.Project
		setup   func(*testing.T, *env)
		desired *types.Project // nil: the stack file is gone
		opts    DownOptions
		// left are the names of the stack's objects left after apply.
		left []string
	}{
		{name: "down", before: withNets(), desired: withNets(), left: []string{"volume demo_data"}},
		{name: "down_volumes", before: withNets(), desired: withNets(), opts: DownOptions{Volumes: true}},
		{name: "down_without_file", before: withNets(), opts: DownOptions{Volumes: true}},
		{name: "down_nothing", desired: withNets()},
		{
			name: "down_orphans_kept", before: withNets(),
			desired: project("demo", service("db", "postgres:16", withHealthcheck("CMD", "pg_isready"), withNetworks("back"), withVolume("data", "/data"))),
			left:    []string{"container demo-api-1", "container demo-web-1", "network demo_front", "volume demo_data"},
		},
		{
			name: "down_remove_orphans", before: withNets(),
			desired: project("demo", service("db", "postgres:16", withHealthcheck("CMD", "pg_isready"), withNetworks("back"), withVolume("data", "/data"))),
			opts:    DownOptions{RemoveOrphans: true},
			left:    []string{"volume demo_data"},
		},
		{
			name: "down_scaled", before: webDB(withScale(2), func(s *types.ServiceConfig) { s.Ports = nil }),
			desired: webDB(), left: []string{"volume demo_data"},
		},
		{
			name: "down_foreign_untouched", before: webDB(), desired: webDB(),
			setup: func(t *testing.T, e *env) {
				if _, err := e.rt.Put(runtime.Container{Name: "other-web-1", Labels: map[string]string{spec.LabelStack: "other", spec.LabelService: "web"}}); err != nil {
					t.Fatal(err)
				}
				if _, err := e.nets.Create(t.Context(), network.Config{Name: "other_default", Labels: map[string]string{spec.LabelStack: "other"}}); err != nil {
					t.Fatal(err)
				}
			},
			opts: DownOptions{RemoveOrphans: true, Volumes: true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv()
			if tc.before != nil {
				e.up(t, tc.before, Options{})
			}
			if tc.setup != nil {
				tc.setup(t, e)
			}
			refs := []string(nil)
			if tc.desired != nil {
				refs = ImageRefs(tc.desired)
			}
			obs, err := Observe(t.Context(), "demo", refs, e.deps())
			if err != nil {
				t.Fatal(err)
			}
			plan, err := MakeDownPlan("demo", tc.desired, obs, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := plan.WriteText(&buf); err != nil {
				t.Fatal(err)
			}
			golden(t, "down/"+tc.name+".txt", buf.Bytes())
			checkGraph(t, plan)
			if err := Apply(t.Context(), plan, e.deps(), ApplyOptions{Clock: instant{}}); err != nil {
				t.Fatalf("apply: %v", err)
			}
			if diff := cmp.Diff(tc.left, e.stackObjects(t, "demo")); diff != "" {
				t.Errorf("left after down (-want +got):\n%s", diff)
			}
		})
	}
}

// stackObjects names every object labelled with the stack, sorted by kind
// then name.
func (e *env) stackObjects(t *testing.T, stack string) []string {
	t.Helper()
	var out []string
	cs, _ := e.rt.List(t.Context())
	for _, c := range cs {
		if c.Labels[spec.LabelStack] == stack {
			out = append(out, "container "+c.Name)
		}
	}
	ns, _ := e.nets.List(t.Context())
	for _, n := range ns {
		if n.Config.Labels[spec.LabelStack] == stack {
			out = append(out, "network "+n.Name)
		}
	}
	vs, _ := e.vols.List(t.Context())
	for _, v := range vs {
		if v.Config.Labels[spec.LabelStack] == stack {
			out = append(out, "volume "+v.Name)
		}
	}
	return out
}

// TestDownOrder checks that dependents are removed before what they depend
// on, with and without the stack file.
func TestDownOrder(t *testing.T) {
	p := project("demo",
		service("web", "nginx:1.27", withDependsOn("api", "", false)),
		service("api", "nginx:1.27", withDependsOn("db", "", false)),
		service("db", "postgres:16"))
	for _, desired := range []*types.Project{p, nil} {
		e := newEnv()
		e.up(t, p, Options{})
		obs, err := Observe(t.Context(), "demo", nil, e.deps())
		if err != nil {
			t.Fatal(err)
		}
		plan, err := MakeDownPlan("demo", desired, obs, DownOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var removed []string
		err = Apply(t.Context(), plan, e.deps(), ApplyOptions{Clock: instant{}, Progress: func(ev Event) {
			if ev.State == StateDone && ev.Op.Resource == ResourceContainer {
				mu.Lock()
				removed = append(removed, ev.Op.Service)
				mu.Unlock()
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"web", "api", "db"}, removed); diff != "" {
			t.Errorf("removal order, project %v (-want +got):\n%s", desired != nil, diff)
		}
	}
}

// TestDownNetworkInUse: a network another container still uses is
// reported, not fatal.
func TestDownNetworkInUse(t *testing.T) {
	e := newEnv()
	e.up(t, webDB(), Options{})
	e.nets.InUse = func(name string) bool { return name == "demo_default" }
	obs, err := Observe(t.Context(), "demo", nil, e.deps())
	if err != nil {
		t.Fatal(err)
	}
	plan, err := MakeDownPlan("demo", webDB(), obs, DownOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var skipped []Event
	err = Apply(t.Context(), plan, e.deps(), ApplyOptions{Clock: instant{}, Progress: func(ev Event) {
		if ev.State == StateSkipped {
			skipped = append(skipped, ev)
		}
	}})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if len(skipped) != 1 || skipped[0].Op.Name != "demo_default" || !errdefs.IsFailedPrecondition(skipped[0].Err) {
		t.Errorf("skipped = %+v, want the in-use network demo_default", skipped)
	}
}

// TestPropertyDown: for random stacks and worlds, with or without the stack
// file, a down plan removes every container of the stack it should (all of
// them with RemoveOrphans or without a file), its networks, and its volumes
// exactly with Volumes; dependents go before what they depend on; and it
// never touches an object of another stack.
func TestPropertyDown(t *testing.T) {
	const iterations = 100
	for i := range iterations {
		r := rand.New(rand.NewPCG(20261128, uint64(i)))
		e := newEnv()
		before := randomProject(r)
		e.up(t, before, Options{})
		perturb(t, r, e)
		var desired *types.Project
		switch r.IntN(3) {
		case 0: // the stack file is gone
		case 1:
			desired = randomProject(r) // edited since
		default:
			desired = before
		}
		opts := DownOptions{RemoveOrphans: r.IntN(2) == 0, Volumes: r.IntN(2) == 0}
		obs, err := Observe(t.Context(), "demo", nil, e.deps())
		if err != nil {
			t.Fatal(err)
		}
		plan, err := MakeDownPlan("demo", desired, obs, opts)
		if err != nil {
			t.Fatalf("iteration %d: %v", i, err)
		}
		checkLabels(t, i, plan, obs)
		checkGraph(t, plan)
		foreignBefore := foreignState(t, e)
		if err := Apply(t.Context(), plan, e.deps(), ApplyOptions{Clock: instant{}}); err != nil {
			t.Fatalf("iteration %d: apply: %v\n%s", i, err, text(plan))
		}
		if got := foreignState(t, e); got != foreignBefore {
			t.Fatalf("iteration %d: foreign objects changed:\n%s\n=>\n%s", i, foreignBefore, got)
		}
		for _, left := range e.stackObjects(t, "demo") {
			kind, _, _ := strings.Cut(left, " ")
			switch {
			case kind == "volume" && !opts.Volumes:
			case desired != nil && !opts.RemoveOrphans && kind != "volume":
				// Orphan containers and undeclared networks are kept
				// without RemoveOrphans (with a note).
				if !strings.Contains(text(plan), "--remove-orphans removes it") {
					t.Fatalf("iteration %d: %s left without a note:\n%s", i, left, text(plan))
				}
			case desired != nil && !opts.RemoveOrphans && kind == "volume":
				if !strings.Contains(text(plan), "no longer declared") {
					t.Fatalf("iteration %d: %s left without a note:\n%s", i, left, text(plan))
				}
			default:
				t.Fatalf("iteration %d (file %v, %+v): %s left after down:\n%s", i, desired != nil, opts, left, text(plan))
			}
		}
		// Dependents first: the remove of a container of a dependency
		// waits (After) for the removes of its dependents.
		if desired == nil {
			continue
		}
		for _, op := range plan.Ops {
			if op.Resource != ResourceContainer {
				continue
			}
			s, ok := desired.Services[op.Service]
			if !ok {
				continue
			}
			for _, other := range plan.Ops {
				if other.Resource != ResourceContainer {
					continue
				}
				if _, dependsOnOther := s.DependsOn[other.Service]; dependsOnOther && other.Service != op.Service && !slices.Contains(other.After, op.ID) {
					t.Fatalf("iteration %d: %s is removed before or with its dependent %s", i, other.Name, op.Name)
				}
			}
		}
	}
}
