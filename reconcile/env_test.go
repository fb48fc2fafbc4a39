package reconcile

import (
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	netfake "github.com/berth-dev/berth/network/fake"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/fake"
	volfake "github.com/berth-dev/berth/volumes/fake"
)

// env is a world of fakes a test plans against and applies to.
type env struct {
	rt     *fake.Runtime
	nets   *netfake.Manager
	vols   *volfake.Manager
	images fake.Images
}

func newEnv(opts ...fake.Option) *env {
	im := fake.Images{
		"nginx:1.27":  "sha256:1111111111111111111111111111111111111111111111111111111111111111",
		"postgres:16": "sha256:2222222222222222222222222222222222222222222222222222222222222222",
		"redis:7":     "sha256:3333333333333333333333333333333333333333333333333333333333333333",
		"busybox":     "sha256:4444444444444444444444444444444444444444444444444444444444444444",
	}
	return &env{
		rt:     fake.New(append([]fake.Option{fake.WithImages(im)}, opts...)...),
		nets:   &netfake.Manager{},
		vols:   &volfake.Manager{},
		images: im,
	}
}

func (e *env) deps() Deps {
	return Deps{Runtime: e.rt, Networks: e.nets, Volumes: e.vols, Images: e.images}
}

func (e *env) observe(t testing.TB, p *types.Project) Observed {
	t.Helper()
	obs, err := Observe(t.Context(), p.Name, ImageRefs(p), e.deps())
	if err != nil {
		t.Fatalf("observe: %v", err)
	}
	return obs
}

func (e *env) plan(t testing.TB, p *types.Project, opts Options) *Plan {
	t.Helper()
	plan, err := MakePlan(p, e.observe(t, p), opts)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return plan
}

// up plans and applies p, as `berth up` would.
func (e *env) up(t testing.TB, p *types.Project, opts Options) {
	t.Helper()
	if err := Apply(t.Context(), e.plan(t, p, opts), e.deps(), ApplyOptions{Clock: instant{}}); err != nil {
		t.Fatalf("apply: %v", err)
	}
}

// container returns the container with the given name.
func (e *env) container(t testing.TB, name string) runtime.Container {
	t.Helper()
	cs, _ := e.rt.List(t.Context())
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %s", name)
	return runtime.Container{}
}

// instant is a Clock that never sleeps.
type instant struct{}

func (instant) After(time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	ch <- time.Time{}
	return ch
}

// project builds a project the way the loader normalises one: every
// service on the default network unless it names its own.
func project(name string, services ...types.ServiceConfig) *types.Project {
	p := &types.Project{
		Name:       name,
		WorkingDir: "/srv/" + name,
		Services:   types.Services{},
		Networks:   types.Networks{},
		Volumes:    types.Volumes{},
	}
	for _, s := range services {
		if s.Networks == nil && s.NetworkMode == "" {
			s.Networks = map[string]*types.ServiceNetworkConfig{"default": nil}
		}
		for key := range s.Networks {
			if _, ok := p.Networks[key]; !ok {
				p.Networks[key] = types.NetworkConfig{}
			}
		}
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume && v.Source != "" {
				if _, ok := p.Volumes[v.Source]; !ok {
					p.Volumes[v.Source] = types.VolumeConfig{}
				}
			}
		}
		p.Services[s.Name] = s
	}
	return p
}

func service(name, image string, mods ...func(*types.ServiceConfig)) types.ServiceConfig {
	s := types.ServiceConfig{Name: name}
	s.Image = image
	for _, m := range mods {
		m(&s)
	}
	return s
}

func withEnv(kv ...string) func(*types.ServiceConfig) {
	return func(s *types.ServiceConfig) {
		s.Environment = types.MappingWithEquals{}
		for i := 0; i+1 < len(kv); i += 2 {
			v := kv[i+1]
			s.Environment[kv[i]] = &v
		}
	}
}

func withDependsOn(dep, condition string, restart bool) func(*types.ServiceConfig) {
	return func(s *types.ServiceConfig) {
		if s.DependsOn == nil {
			s.DependsOn = types.DependsOnConfig{}
		}
		s.DependsOn[dep] = types.ServiceDependency{Condition: condition, Restart: restart, Required: true}
	}
}

func withScale(n int) func(*types.ServiceConfig) {
	return func(s *types.ServiceConfig) { s.Scale = &n }
}

func withPorts(specs ...string) func(*types.ServiceConfig) {
	return func(s *types.ServiceConfig) {
		for _, spec := range specs {
			pcs, err := types.ParsePortConfig(spec)
			if err != nil {
				panic(err)
			}
			s.Ports = append(s.Ports, pcs...)
		}
	}
}

func withVolume(source, target string) func(*types.ServiceConfig) {
	return func(s *types.ServiceConfig) {
		typ := types.VolumeTypeVolume
		if len(source) > 0 && source[0] == '/' {
			typ = types.VolumeTypeBind
		}
		s.Volumes = append(s.Volumes, types.ServiceVolumeConfig{Type: typ, Source: source, Target: target})
	}
}

func withNetworks(keys ...string) func(*types.ServiceConfig) {
	return func(s *types.ServiceConfig) {
		s.Networks = map[string]*types.ServiceNetworkConfig{}
		for _, k := range keys {
			s.Networks[k] = nil
		}
	}
}

func withHealthcheck(test ...string) func(*types.ServiceConfig) {
	return func(s *types.ServiceConfig) { s.HealthCheck = &types.HealthCheckConfig{Test: test} }
}

func withCommand(args ...string) func(*types.ServiceConfig) {
	return func(s *types.ServiceConfig) { s.Command = args }
}
