package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bigStack writes a stack of n services with ports, volumes, environment
// and depends_on, and returns its directory.
func bigStack(b *testing.B, n int) string {
	b.Helper()
	var s strings.Builder
	s.WriteString("services:\n")
	for i := range n {
		fmt.Fprintf(&s, "  svc%d:\n    image: example/svc:%d\n    ports: [\"%d:80\"]\n", i, i, 10000+i)
		fmt.Fprintf(&s, "    volumes: [\"data%d:/data\", \"./conf:/conf:ro\"]\n", i)
		fmt.Fprintf(&s, "    environment:\n      INDEX: \"%d\"\n      LOG_LEVEL: ${LOG_LEVEL:-info}\n", i)
		if i > 0 {
			fmt.Fprintf(&s, "    depends_on: [svc%d]\n", i-1)
		}
	}
	s.WriteString("volumes:\n")
	for i := range n {
		fmt.Fprintf(&s, "  data%d:\n", i)
	}
	dir := b.TempDir()
	f := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(f, []byte(s.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	// older than a second, or the cache would not store it (see Cache)
	past := time.Now().Add(-time.Minute)
	if err := os.Chtimes(f, past, past); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkLoad200 is the full load of a 200-service stack: what a cache
// miss costs.
func BenchmarkLoad200(b *testing.B) {
	dir := bigStack(b, 200)
	for b.Loop() {
		if _, err := LoadStack(b.Context(), Options{WorkingDir: dir, Env: map[string]string{}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadCached200 is the same load answered by the cache: reading
// and digesting the inputs, reading and decoding the stored model.
func BenchmarkLoadCached200(b *testing.B) {
	dir := bigStack(b, 200)
	c := NewCache(b.TempDir(), 0)
	o := Options{WorkingDir: dir, Env: map[string]string{}}
	if _, hit, err := c.load(b.Context(), o); err != nil || hit {
		b.Fatalf("first load: hit %v, %v", hit, err)
	}
	for b.Loop() {
		if _, hit, err := c.load(b.Context(), o); err != nil || !hit {
			b.Fatalf("hit %v, %v", hit, err)
		}
	}
}

// BenchmarkInputDigest200 is what checking a cached model of the same
// stack costs.
func BenchmarkInputDigest200(b *testing.B) {
	dir := bigStack(b, 200)
	s, err := LoadStack(b.Context(), Options{WorkingDir: dir, Env: map[string]string{}})
	if err != nil {
		b.Fatal(err)
	}
	env := map[string]string{"LOG_LEVEL": "debug"}
	for b.Loop() {
		if _, err := InputDigest(s.Files, s.EnvVars, env); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServiceHash200 hashes every service of the stack.
func BenchmarkServiceHash200(b *testing.B) {
	dir := bigStack(b, 200)
	p, err := Load(b.Context(), Options{WorkingDir: dir, Env: map[string]string{}})
	if err != nil {
		b.Fatal(err)
	}
	names := p.ServiceNames()
	for b.Loop() {
		for _, n := range names {
			if _, err := ServiceHash(p, n, "sha256:1"); err != nil {
				b.Fatal(err)
			}
		}
	}
}
