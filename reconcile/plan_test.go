package reconcile

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/spec"
	"github.com/berth-dev/berth/volumes"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// webDB is the stack most cases start from: web depends on a healthy db.
func webDB(mods ...func(*types.ServiceConfig)) *types.Project {
	return project("demo",
		service("web", "nginx:1.27", append([]func(*types.ServiceConfig){
			withEnv("LOG_LEVEL", "info"), withPorts("8080:80"),
			withDependsOn("db", types.ServiceConditionHealthy, false),
		}, mods...)...),
		service("db", "postgres:16", withHealthcheck("CMD", "pg_isready"), withVolume("data", "/var/lib/postgresql/data")),
	)
}

func TestPlanGolden(t *testing.T) {
	stop := func(names ...string) func(*testing.T, *env) {
		return func(t *testing.T, e *env) {
			for _, n := range names {
				if err := e.rt.Stop(t.Context(), e.container(t, n).ID, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	threeTier := func(webMods, dbMods, cacheMods []func(*types.ServiceConfig)) *types.Project {
		return project("demo",
			service("web", "nginx:1.27", append([]func(*types.ServiceConfig){
				withDependsOn("db", types.ServiceConditionStarted, false),
			}, webMods...)...),
			service("db", "postgres:16", dbMods...),
			service("cache", "redis:7", cacheMods...),
		)
	}
	tests := []struct {
		name    string
		before  *types.Project // applied first; nil: nothing exists
		setup   func(*testing.T, *env)
		desired *types.Project
		opts    Options
	}{
		{name: "create", desired: webDB()},
		{name: "noop", before: webDB(), desired: webDB()},
		{
			name: "scale_up", before: webDB(func(s *types.ServiceConfig) { s.Ports = nil }),
			desired: webDB(withScale(3), func(s *types.ServiceConfig) { s.Ports = nil }),
		},
		{
			name: "scale_up_option", before: webDB(func(s *types.ServiceConfig) { s.Ports = nil }),
			desired: webDB(func(s *types.ServiceConfig) { s.Ports = nil }),
			opts:    Options{Scale: map[string]int{"web": 2}},
		},
		{
			name: "scale_down", before: webDB(withScale(3), func(s *types.ServiceConfig) { s.Ports = nil }),
			desired: webDB(func(s *types.ServiceConfig) { s.Ports = nil }),
		},
		{name: "recreate_env", before: webDB(), desired: webDB(withEnv("LOG_LEVEL", "debug"))},
		{
			name: "recreate_many_changes", before: webDB(),
			desired: webDB(withEnv("LOG_LEVEL", "debug", "NEW", "1"), withCommand("nginx", "-g", "daemon off;"),
				func(s *types.ServiceConfig) { s.Ports[0].Published = "8081" }),
		},
		{
			name:   "no_recreate_depends_on_change",
			before: webDB(), desired: webDB(withDependsOn("db", types.ServiceConditionStarted, true)),
		},
		{name: "start_stopped", before: webDB(), setup: stop("demo-web-1"), desired: webDB()},
		{
			name:   "orphans_kept",
			before: threeTier(nil, nil, nil),
			desired: project("demo",
				service("web", "nginx:1.27", withDependsOn("db", types.ServiceConditionStarted, false)),
				service("db", "postgres:16")),
		},
		{
			name:   "orphans_removed",
			before: threeTier(nil, nil, nil),
			desired: project("demo",
				service("web", "nginx:1.27", withDependsOn("db", types.ServiceConditionStarted, false)),
				service("db", "postgres:16")),
			opts: Options{RemoveOrphans: true},
		},
		{name: "force_recreate", before: webDB(), desired: webDB(), opts: Options{ForceRecreate: true}},
		{
			name: "no_recreate", before: webDB(), setup: stop("demo-web-1"),
			desired: webDB(withEnv("LOG_LEVEL", "debug")), opts: Options{NoRecreate: true},
		},
		{
			name: "always_recreate_deps", before: webDB(), desired: webDB(),
			opts: Options{Services: []string{"web"}, AlwaysRecreateDeps: true},
		},
		{
			name:   "selected_with_deps",
			before: threeTier(nil, nil, nil),
			desired: threeTier([]func(*types.ServiceConfig){withEnv("A", "2")},
				[]func(*types.ServiceConfig){withEnv("B", "2")}, []func(*types.ServiceConfig){withEnv("C", "2")}),
			opts: Options{Services: []string{"web"}},
		},
		{
			name:   "selected_no_deps",
			before: threeTier(nil, nil, nil),
			desired: threeTier([]func(*types.ServiceConfig){withEnv("A", "2")},
				[]func(*types.ServiceConfig){withEnv("B", "2")}, []func(*types.ServiceConfig){withEnv("C", "2")}),
			opts: Options{Services: []string{"web"}, NoDeps: true},
		},
		{
			name: "networks_volumes",
			before: project("demo",
				service("web", "nginx:1.27", withNetworks("front", "back"), withVolume("cache", "/cache")),
				service("db", "postgres:16", withNetworks("back"), withVolume("data", "/data"))),
			desired: project("demo",
				service("web", "nginx:1.27", withNetworks("front", "edge")),
				service("db", "postgres:16", withNetworks("front"), withVolume("data", "/data"), withVolume("logs", "/logs"))),
		},
		{
			name: "networks_volumes_removed",
			before: project("demo",
				service("web", "nginx:1.27", withNetworks("front", "back"), withVolume("cache", "/cache"))),
			desired: project("demo", service("web", "nginx:1.27", withNetworks("front"))),
			opts:    Options{RemoveOrphans: true, RemoveOrphanVolumes: true},
		},
		{
			name: "external",
			setup: func(t *testing.T, e *env) {
				if _, err := e.nets.Create(t.Context(), network.Config{Name: "proxy"}); err != nil {
					t.Fatal(err)
				}
				if _, err := e.vols.Create(t.Context(), volumes.Config{Name: "shared-certs"}); err != nil {
					t.Fatal(err)
				}
			},
			desired: func() *types.Project {
				p := project("demo", service("web", "nginx:1.27", withNetworks("proxy"), withVolume("certs", "/certs")))
				p.Networks["proxy"] = types.NetworkConfig{External: true}
				p.Volumes["certs"] = types.VolumeConfig{Name: "shared-certs", External: true}
				return p
			}(),
		},
		{
			name: "external_missing",
			desired: func() *types.Project {
				p := project("demo", service("web", "nginx:1.27", withNetworks("proxy")))
				p.Networks["proxy"] = types.NetworkConfig{External: true}
				return p
			}(),
		},
		{
			name: "foreign_network_conflict",
			setup: func(t *testing.T, e *env) {
				if _, err := e.nets.Create(t.Context(), network.Config{Name: "demo_default"}); err != nil {
					t.Fatal(err)
				}
			},
			desired: webDB(),
		},
		{
			name:    "restart_dependents",
			before:  webDB(withDependsOn("db", types.ServiceConditionHealthy, true)),
			desired: webDB(withDependsOn("db", types.ServiceConditionHealthy, true)),
			setup: func(t *testing.T, e *env) {
				// db's image was updated: its containers must be recreated.
				e.images["postgres:16"] = "sha256:9999999999999999999999999999999999999999999999999999999999999999"
			},
		},
		{
			name:    "restart_dependents_outside_selection",
			before:  webDB(withDependsOn("db", types.ServiceConditionHealthy, true)),
			desired: webDB(withDependsOn("db", types.ServiceConditionHealthy, true)),
			opts:    Options{Services: []string{"db"}, ForceRecreate: true},
		},
		{
			name: "foreign_containers_ignored",
			setup: func(t *testing.T, e *env) {
				for _, c := range []runtime.Container{
					{Name: "other-web-1", Labels: map[string]string{spec.LabelStack: "other", spec.LabelService: "web", spec.LabelNumber: "1"}},
					{Name: "lonely", Labels: map[string]string{"app": "x"}},
				} {
					if _, err := e.rt.Put(c); err != nil {
						t.Fatal(err)
					}
				}
			},
			before: webDB(), desired: webDB(), opts: Options{RemoveOrphans: true},
		},
		{name: "no_start", desired: webDB(), opts: Options{NoStart: true}},
		{name: "only_dependencies", desired: webDB(), opts: Options{Services: []string{"web"}, OnlyDependencies: true}},
		{
			name: "deploy_replicas", before: webDB(func(s *types.ServiceConfig) { s.Ports = nil }),
			desired: webDB(func(s *types.ServiceConfig) {
				s.Ports = nil
				s.Deploy = &types.DeployConfig{Replicas: ptr(2)}
			}),
		},
		{
			name: "container_name", before: webDB(),
			desired: webDB(func(s *types.ServiceConfig) { s.ContainerName = "frontend" }),
		},
		{
			name: "container_name_scale", desired: webDB(func(s *types.ServiceConfig) { s.ContainerName = "frontend" }),
			opts: Options{Scale: map[string]int{"web": 2}},
		},
		{name: "unknown_service", desired: webDB(), opts: Options{Services: []string{"nope"}}},
		{
			name: "dependency_cycle",
			desired: project("demo",
				service("a", "busybox", withDependsOn("b", "", false)),
				service("b", "busybox", withDependsOn("a", "", false))),
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
			var buf bytes.Buffer
			plan, err := MakePlan(tc.desired, e.observe(t, tc.desired), tc.opts)
			if err != nil {
				buf.WriteString("error: " + err.Error() + "\n")
			} else if err := plan.WriteText(&buf); err != nil {
				t.Fatal(err)
			}
			golden(t, "plan/"+tc.name+".txt", buf.Bytes())
			if err != nil {
				return
			}
			checkGraph(t, plan)
			// Applying the plan converges: planning again is empty.
			if err := Apply(t.Context(), plan, e.deps(), ApplyOptions{Clock: instant{}}); err != nil {
				t.Fatalf("apply: %v", err)
			}
			// Forcing is the one option that is never converged.
			opts := tc.opts
			opts.ForceRecreate, opts.AlwaysRecreateDeps = false, false
			if again := e.plan(t, tc.desired, opts); !again.Empty() {
				var b strings.Builder
				again.WriteText(&b)
				t.Errorf("plan after apply is not empty:\n%s", b.String())
			}
		})
	}
}

// checkGraph checks that every op waits only on earlier ops, so the graph
// is acyclic and Apply can run it.
func checkGraph(t *testing.T, p *Plan) {
	t.Helper()
	for i, op := range p.Ops {
		if op.ID != i {
			t.Errorf("op %d has ID %d", i, op.ID)
		}
		for _, a := range op.After {
			if a >= op.ID {
				t.Errorf("op %d (%s %s) waits on later op %d", op.ID, op.Kind, op.Name, a)
			}
		}
	}
}

func TestPlanJSON(t *testing.T) {
	e := newEnv()
	e.up(t, webDB(), Options{})
	plan := e.plan(t, webDB(withEnv("LOG_LEVEL", "debug"), withScale(2), func(s *types.ServiceConfig) { s.Ports = nil }), Options{})
	// Hashes change with the hash function, not with the planner: the
	// golden keeps the shape and the causes.
	for i := range plan.Ops {
		if plan.Ops[i].Hash != "" {
			plan.Ops[i].Hash = "<hash>"
		}
	}
	var buf bytes.Buffer
	if err := plan.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan/recreate_and_scale.json", buf.Bytes())
}

func TestChangeStringKeepsShellSyntax(t *testing.T) {
	c := Change{Path: "command", Old: []any{"sh", "-c", "a > b && c"}, New: nil}
	if got, want := c.String(), `command ["sh","-c","a > b && c"] => <none>`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
