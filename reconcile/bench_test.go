package reconcile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/spec"
)

// compose200 is a 200-service stack with ports, volumes, env and
// depends_on, as Compose YAML.
func compose200() string {
	var b strings.Builder
	b.WriteString("name: bench\nservices:\n")
	for i := range 200 {
		fmt.Fprintf(&b, "  svc%d:\n    image: nginx:1.27\n", i)
		fmt.Fprintf(&b, "    ports: [\"%d:80\"]\n", 10000+i)
		fmt.Fprintf(&b, "    volumes: [\"data%d:/data\", \"./conf/%d:/etc/conf:ro\"]\n", i%20, i)
		fmt.Fprintf(&b, "    environment:\n      INDEX: \"%d\"\n      LOG_LEVEL: info\n      DB_URL: postgres://db/app%d\n", i, i)
		if i > 0 {
			fmt.Fprintf(&b, "    depends_on:\n      svc%d:\n        condition: service_started\n", (i-1)/2)
		}
	}
	b.WriteString("volumes:\n")
	for i := range 20 {
		fmt.Fprintf(&b, "  data%d: {}\n", i)
	}
	return b.String()
}

func load200(tb testing.TB, dir string) *types.Project {
	tb.Helper()
	p, err := spec.Load(tb.Context(), spec.Options{Files: []string{filepath.Join(dir, "compose.yaml")}, Env: map[string]string{}})
	if err != nil {
		tb.Fatalf("load: %v", err)
	}
	return p
}

func writeCompose200(tb testing.TB) string {
	dir := tb.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(compose200()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// BenchmarkPlan200 is observe and plan of a 200-service stack against its
// 200 running containers: the no-op `berth plan` minus loading.
func BenchmarkPlan200(b *testing.B) {
	p := load200(b, writeCompose200(b))
	e := newEnv()
	e.up(b, p, Options{})
	if !e.plan(b, p, Options{}).Empty() {
		b.Fatal("plan after up is not empty")
	}
	b.ResetTimer()
	for b.Loop() {
		obs, err := Observe(b.Context(), p.Name, ImageRefs(p), e.deps())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := MakePlan(p, obs, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadAndPlan200 adds loading the Compose file each time: the
// whole no-op `berth plan`.
func BenchmarkLoadAndPlan200(b *testing.B) {
	dir := writeCompose200(b)
	p := load200(b, dir)
	e := newEnv()
	e.up(b, p, Options{})
	b.ResetTimer()
	for b.Loop() {
		p := load200(b, dir)
		obs, err := Observe(b.Context(), p.Name, ImageRefs(p), e.deps())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := MakePlan(p, obs, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadCachedAndPlan200 is the whole no-op `berth plan` as berth
// runs it: the model from spec's cache (keyed by the inputs' content), then
// observe and plan. This is the path the 50 ms goal is about.
func BenchmarkLoadCachedAndPlan200(b *testing.B) {
	dir := writeCompose200(b)
	f := filepath.Join(dir, "compose.yaml")
	// Older than a second, or the cache would not store it (see spec.Cache).
	past := time.Now().Add(-time.Minute)
	if err := os.Chtimes(f, past, past); err != nil {
		b.Fatal(err)
	}
	cache := spec.NewCache(b.TempDir(), 0)
	o := spec.Options{Files: []string{f}, Env: map[string]string{}}
	st, err := cache.LoadStack(b.Context(), o)
	if err != nil {
		b.Fatal(err)
	}
	e := newEnv()
	e.up(b, st.Project, Options{})
	b.ResetTimer()
	for b.Loop() {
		st, err := cache.LoadStack(b.Context(), o)
		if err != nil {
			b.Fatal(err)
		}
		p := st.Project
		obs, err := Observe(b.Context(), p.Name, ImageRefs(p), e.deps())
		if err != nil {
			b.Fatal(err)
		}
		plan, err := MakePlan(p, obs, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if !plan.Empty() {
			b.Fatal("no-op plan is not empty")
		}
	}
}
