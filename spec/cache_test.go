package spec

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/google/go-cmp/cmp"
)

// exact compares everything, unexported fields included: no option that
// could hide a difference between a model and its decoded copy.
var exact = cmp.Exporter(func(reflect.Type) bool { return true })

// roundTripStacks loads every valid stack of the test data and examples.
func roundTripStacks(t *testing.T) map[string]*Stack {
	t.Helper()
	out := map[string]*Stack{}
	add := func(name string, o Options) {
		t.Helper()
		s, err := LoadStack(t.Context(), o)
		if err != nil {
			t.Fatalf("load %s: %v", name, err)
		}
		out[name] = s
	}
	glob := func(pattern string) []string {
		t.Helper()
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for i := range m {
			if m[i], err = filepath.Abs(m[i]); err != nil {
				t.Fatal(err)
			}
		}
		return m
	}
	for _, f := range glob("testdata/corpus/*.yaml") {
		if strings.HasSuffix(f, ".override.yaml") {
			continue
		}
		files := []string{f}
		if o := strings.TrimSuffix(f, ".yaml") + ".override.yaml"; fileExists(o) {
			files = append(files, o)
		}
		add("corpus/"+filepath.Base(f), Options{Files: files, WorkingDir: filepath.Dir(f), Env: testEnv()})
	}
	for _, f := range append(glob("testdata/cases/*.yaml"), glob("testdata/cases/*.hcl")...) {
		if !strings.HasPrefix(filepath.Base(f), "err-") {
			add("cases/"+filepath.Base(f), Options{Files: []string{f}, WorkingDir: filepath.Dir(f), Env: testEnv()})
		}
	}
	for _, f := range glob("testdata/hcl/*.hcl") {
		if !strings.Contains(filepath.Base(f), "errors") {
			add("hcl/"+filepath.Base(f), Options{Files: []string{f}, Profiles: []string{"*"},
				Env: map[string]string{"BERTH_VAR_env": "test", "HOME": "/home/test"}})
		}
	}
	for _, f := range append(glob("../examples/*/compose.yaml"), glob("../examples/*/stack.hcl")...) {
		add("examples/"+filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), Options{Files: []string{f}, Env: map[string]string{}})
	}
	return out
}

// TestCacheEncodingRoundTrip proves that the cache gives back exactly the
// model it stored, for every stack the tests know.
func TestCacheEncodingRoundTrip(t *testing.T) {
	stacks := roundTripStacks(t)
	if len(stacks) < 40 {
		t.Fatalf("only %d stacks to round-trip", len(stacks))
	}
	for name, s := range stacks {
		t.Run(name, func(t *testing.T) { checkRoundTrip(t, s) })
	}
}

// checkRoundTrip encodes and decodes s, checks it comes back exactly and
// returns the encoding.
func checkRoundTrip(t *testing.T, s *Stack) []byte {
	t.Helper()
	b, err := encodeEntry(s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeEntry(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, got, exact); diff != "" {
		t.Errorf("decoded stack differs (-encoded +decoded):\n%s", diff)
	}
	return b
}

// TestCacheEncodingEdges covers what the standard encoders get wrong.
func TestCacheEncodingEdges(t *testing.T) {
	zero := 0
	p := &types.Project{
		Name:        "edges",
		WorkingDir:  "/w",
		Environment: types.Mapping{"A": ""},
		Services: types.Services{"web": {
			Name:  "web",
			Scale: &zero, // a pointer to 0 is not nil
			ContainerSpec: types.ContainerSpec{
				Networks: map[string]*types.ServiceNetworkConfig{"default": nil}, // nil map value
				Command:  types.ShellCommand{},                                   // empty, not nil
			},
			Extensions: types.Extensions{"x-a": map[string]any{
				"int": 1, "float": 1.5, "list": []any{"s", true, nil, int64(1) << 40}, "empty": map[string]any{},
			}},
		}},
		DisabledServices: types.Services{},
		Profiles:         []string{},
	}
	b := checkRoundTrip(t, &Stack{Project: p, Files: []string{"/w/compose.yaml"}, Warnings: []string{"w"}})

	t.Run("the comparison sees nil against empty and int against int64", func(t *testing.T) {
		if cmp.Diff(types.Project{}, types.Project{Profiles: []string{}}, exact) == "" ||
			cmp.Diff(types.Extensions{"x": 1}, types.Extensions{"x": int64(1)}, exact) == "" {
			t.Error("exact hides differences")
		}
	})
	t.Run("unknown dynamic type is not encoded", func(t *testing.T) {
		bad := &Stack{Project: &types.Project{Extensions: types.Extensions{"x-t": time.Now()}}}
		if _, err := encodeEntry(bad); err == nil {
			t.Error("encoded a time.Time in an extension")
		}
	})
	t.Run("every truncation and bit flip is an error, never a panic", func(t *testing.T) {
		for i := range len(b) {
			if _, err := decodeEntry(b[:i]); err == nil {
				t.Fatalf("truncated to %d bytes: no error", i)
			}
		}
		for i := 0; i < len(b); i += 7 {
			c := append([]byte(nil), b...)
			c[i] ^= 0x20
			if _, err := decodeEntry(c); err == nil {
				t.Fatalf("byte %d flipped: no error", i)
			}
		}
	})
	t.Run("corrupt payload with a valid checksum is an error, never a panic", func(t *testing.T) {
		body := []byte(cacheMagic + "\xff\xff\xff\xff\xff\x01")
		if _, err := decodeEntry(appendCRC(body)); err == nil {
			t.Error("no error")
		}
		var st Stack
		for i := range 300 {
			junk := []byte{byte(i), 1, byte(i * 7), 0xff, 3, 0, byte(i >> 1), 9, 9, 9}
			_ = decodeValue(junk, &st) // must not panic
		}
	})
}

func appendCRC(b []byte) []byte {
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
}

func TestCache(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"compose.yaml": "services:\n  web:\n    image: nginx:${TAG:-1}\n    env_file: [web.env]\n",
		"web.env":      "A=1\n",
	})
	t.Chdir(dir)
	cache := NewCache(filepath.Join(t.TempDir(), "cache"), 2)
	env := map[string]string{"TAG": "2"}
	load := func(o Options) (*Stack, bool) {
		t.Helper()
		if o.Env == nil {
			o.Env = env
		}
		s, hit, err := cache.load(t.Context(), o)
		if err != nil {
			t.Fatal(err)
		}
		return s, hit
	}
	// Inputs written just now are not stored (they may be mid-edit).
	past := time.Now().Add(-time.Minute)
	age := func(names ...string) {
		for _, n := range names {
			if err := os.Chtimes(filepath.Join(dir, n), past, past); err != nil {
				t.Fatal(err)
			}
		}
	}
	age("compose.yaml", "web.env")

	cold, hit := load(Options{})
	if hit {
		t.Fatal("first load was a hit")
	}
	warm, hit := load(Options{})
	if !hit {
		t.Fatal("second load was a miss")
	}
	if diff := cmp.Diff(cold, warm, exact); diff != "" {
		t.Errorf("cached stack differs (-loaded +cached):\n%s", diff)
	}

	t.Run("an edited file is a miss", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(dir, "web.env"), []byte("A=2\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		age("web.env")
		s, hit := load(Options{})
		if hit || s.Project.Services["web"].Environment["A"] == nil || *s.Project.Services["web"].Environment["A"] != "2" {
			t.Errorf("hit %v after editing web.env", hit)
		}
		if _, hit := load(Options{}); !hit {
			t.Error("no hit after reloading the edited stack")
		}
	})
	t.Run("a changed variable is a miss", func(t *testing.T) {
		s, hit := load(Options{Env: map[string]string{"TAG": "3"}})
		if hit || s.Project.Services["web"].Image != "nginx:3" {
			t.Errorf("hit %v, image %s", hit, s.Project.Services["web"].Image)
		}
	})
	t.Run("a created .env is a miss", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("TAG=4\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		age(".env")
		s, hit := load(Options{Env: map[string]string{}})
		if hit || s.Project.Services["web"].Image != "nginx:4" {
			t.Errorf("hit %v, image %s", hit, s.Project.Services["web"].Image)
		}
		if err := os.Remove(filepath.Join(dir, ".env")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("other options are another entry", func(t *testing.T) {
		if _, hit := load(Options{NoInterpolate: true}); hit {
			t.Error("hit with --no-interpolate")
		}
	})
	t.Run("corrupt entries are misses and get replaced", func(t *testing.T) {
		load(Options{})
		entries, _ := filepath.Glob(filepath.Join(cache.dir, "*"+cacheExt))
		for _, e := range entries {
			if err := os.WriteFile(e, []byte("garbage"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if _, hit := load(Options{}); hit {
			t.Error("hit on a corrupt entry")
		}
		if _, hit := load(Options{}); !hit {
			t.Error("corrupt entry not replaced")
		}
	})
	t.Run("bounded", func(t *testing.T) {
		entries, _ := filepath.Glob(filepath.Join(cache.dir, "*"))
		if len(entries) > 2 {
			t.Errorf("%d entries, want at most 2: %v", len(entries), entries)
		}
	})
	t.Run("unwritable directory still loads", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		c := NewCache(filepath.Join(file, "cache"), 0)
		for range 2 {
			if _, hit, err := c.load(t.Context(), Options{Env: env}); err != nil || hit {
				t.Fatalf("hit %v, err %v", hit, err)
			}
		}
	})
	t.Run("nil cache loads", func(t *testing.T) {
		var c *Cache
		if _, err := c.LoadStack(t.Context(), Options{Env: env}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestCacheHCL: variables an HCL file reads through env() or BERTH_VAR_
// invalidate the entry even when they were unset when it was stored.
func TestCacheHCL(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"stack.hcl": `variable "tag" {
  default = "1"
}
service "web" {
  image       = "nginx:${var.tag}"
  environment = { LEVEL = env("LEVEL", "info") }
}
`,
	})
	past := time.Now().Add(-time.Minute)
	if err := os.Chtimes(filepath.Join(dir, "stack.hcl"), past, past); err != nil {
		t.Fatal(err)
	}
	cache := NewCache(t.TempDir(), 0)
	load := func(env map[string]string) (*Stack, bool) {
		t.Helper()
		s, hit, err := cache.load(t.Context(), Options{WorkingDir: dir, Env: env})
		if err != nil {
			t.Fatal(err)
		}
		return s, hit
	}
	load(map[string]string{"UNRELATED": "1"})
	if _, hit := load(map[string]string{"UNRELATED": "2"}); !hit {
		t.Error("an unrelated variable caused a miss")
	}
	s, hit := load(map[string]string{"LEVEL": "debug"})
	if hit || *s.Project.Services["web"].Environment["LEVEL"] != "debug" {
		t.Errorf("setting LEVEL: hit %v", hit)
	}
	s, hit = load(map[string]string{"LEVEL": "debug", "BERTH_VAR_tag": "2"})
	if hit || s.Project.Services["web"].Image != "nginx:2" {
		t.Errorf("setting BERTH_VAR_tag: hit %v, image %s", hit, s.Project.Services["web"].Image)
	}
}
