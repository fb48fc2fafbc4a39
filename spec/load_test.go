package spec

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func init() {
	// Other test files of the package may define -update too; share it.
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

// golden compares got with the golden file, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./spec -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

// testEnv is the whole environment of the golden tests, so that their
// results do not depend on the machine.
func testEnv() map[string]string {
	return map[string]string{
		"HOME":        "/home/user",
		"TAG":         "1.2.3",
		"DB_PASSWORD": "s3cret",
		"SITE_ENV":    "from the environment",
	}
}

// stable makes the output independent of where the checkout is: absolute
// paths under dir become /STACK/...
func stable(b []byte, dir string) []byte {
	return bytes.ReplaceAll(b, []byte(dir), []byte("/STACK"))
}

// renderOrProblems loads files and renders the model, or the problems.
func renderOrProblems(t *testing.T, dir string, files ...string) ([]byte, error) {
	t.Helper()
	p, err := Load(t.Context(), Options{Files: files, WorkingDir: dir, Env: testEnv()})
	if err != nil {
		var ps Problems
		if !errors.As(err, &ps) {
			t.Fatalf("error is not Problems: %T %v", err, err)
		}
		return stable([]byte(ps.Error()+"\n"), dir), err
	}
	out, err := Render(p, "yaml")
	if err != nil {
		t.Fatal(err)
	}
	return stable(out, dir), nil
}

// TestCorpus loads real-world-shaped Compose files (testdata/corpus/NAME.yaml,
// with NAME.override.yaml on top when present) and compares the rendered
// model with NAME.golden.
func TestCorpus(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("testdata", "corpus"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".override.yaml") {
			continue
		}
		n++
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			stack := []string{f}
			if o := strings.TrimSuffix(f, ".yaml") + ".override.yaml"; fileExists(o) {
				stack = append(stack, o)
			}
			out, err := renderOrProblems(t, dir, stack...)
			if err != nil {
				t.Fatalf("load:\n%s", out)
			}
			golden(t, filepath.Join(dir, name+".golden"), out)
		})
	}
	if n < 20 {
		t.Errorf("corpus has %d stacks, want at least 20", n)
	}
}

// TestCases runs testdata/cases: each NAME.yaml or NAME.hcl is one stack
// file, NAME.golden its rendered model or, for err-* cases, the problems.
func TestCases(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("testdata", "cases"))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".hcl") {
			continue
		}
		name := strings.TrimSuffix(e.Name(), ext)
		t.Run(e.Name(), func(t *testing.T) {
			out, err := renderOrProblems(t, dir, filepath.Join(dir, e.Name()))
			wantErr := strings.HasPrefix(name, "err-")
			switch {
			case wantErr && err == nil:
				t.Errorf("loaded without error, want problems:\n%s", out)
			case !wantErr && err != nil:
				t.Errorf("load:\n%s", out)
			}
			golden(t, filepath.Join(dir, name+".golden"), out)
		})
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// writeFiles creates files (name -> content) under a new temporary
// directory and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDiscovery(t *testing.T) {
	const web = "services:\n  web:\n    image: nginx\n"
	const hcl = "service \"web\" {\n  image = \"nginx\"\n}\n"
	tests := []struct {
		name    string
		files   map[string]string
		sub     string // where to start looking, under the temporary dir
		want    []string
		wantErr string
	}{
		{name: "compose.yaml", files: map[string]string{"compose.yaml": web}, want: []string{"compose.yaml"}},
		{name: "compose.yaml before docker-compose.yml",
			files: map[string]string{"compose.yaml": web, "docker-compose.yml": web}, want: []string{"compose.yaml"}},
		{name: "compose.yml before docker-compose.yml",
			files: map[string]string{"compose.yml": web, "docker-compose.yml": web}, want: []string{"compose.yml"}},
		{name: "docker-compose.yml with its override",
			files: map[string]string{"docker-compose.yml": web, "docker-compose.override.yml": web},
			want:  []string{"docker-compose.yml", "docker-compose.override.yml"}},
		{name: "compose.override.yml first",
			files: map[string]string{"compose.yaml": web, "compose.override.yml": web, "compose.override.yaml": web},
			want:  []string{"compose.yaml", "compose.override.yml"}},
		{name: "parent directory",
			files: map[string]string{"compose.yaml": web, "sub/dir/README": ""}, sub: "sub/dir",
			want: []string{"compose.yaml"}},
		{name: "stack.hcl when no compose file",
			files: map[string]string{"stack.hcl": hcl, "stack.override.hcl": hcl},
			want:  []string{"stack.hcl", "stack.override.hcl"}},
		{name: "nearest directory wins",
			files: map[string]string{"compose.yaml": web, "sub/stack.hcl": hcl}, sub: "sub",
			want: []string{"sub/stack.hcl"}},
		{name: "both compose.yaml and stack.hcl",
			files:   map[string]string{"compose.yaml": web, "stack.hcl": hcl},
			wantErr: "both compose.yaml and stack.hcl"},
		{name: "nothing", files: map[string]string{"README": ""}, wantErr: "no stack file found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, tt.files)
			l := &load{o: Options{WorkingDir: filepath.Join(dir, tt.sub)}, env: map[string]string{}}
			l.workingDir = l.o.WorkingDir
			got, err := l.discover()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				got[i], _ = filepath.Rel(dir, got[i])
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadOptions(t *testing.T) {
	files := map[string]string{
		"compose.yaml": `services:
  web:
    image: nginx:${TAG:-latest}
    environment:
      GREETING: ${GREETING:-hello}
  debug:
    image: busybox
    profiles: [debug]
`,
		"named.yaml":  "name: ${NAME:-fromfile}\nservices:\n  web:\n    image: nginx\n",
		".env":        "# comment\nTAG=from-dotenv\nGREETING=\"hi $$there\"\n",
		"other.env":   "TAG=from-other\n",
		"prod.env":    "GREETING=prod\n",
		"second.yaml": "services:\n  web:\n    image: httpd\n",
	}
	dir := writeFiles(t, files)
	f := func(n string) string { return filepath.Join(dir, n) }
	base := filepath.Base(dir)
	tests := []struct {
		name     string
		o        Options
		project  string
		image    string
		greeting string
		services []string
	}{
		{name: "defaults: .env, directory name",
			o:       Options{Files: []string{f("compose.yaml")}, Env: map[string]string{}},
			project: normalizeName(base), image: "nginx:from-dotenv", greeting: "hi $there", services: []string{"web"}},
		{name: "environment wins over .env",
			o:       Options{Files: []string{f("compose.yaml")}, Env: map[string]string{"TAG": "env"}},
			project: normalizeName(base), image: "nginx:env", greeting: "hi $there", services: []string{"web"}},
		{name: "repeated --env-file replaces .env, later wins",
			o: Options{Files: []string{f("compose.yaml")}, EnvFiles: []string{f("other.env"), f("prod.env")},
				Env: map[string]string{}},
			project: normalizeName(base), image: "nginx:from-other", greeting: "prod", services: []string{"web"}},
		{name: "-p",
			o:       Options{Files: []string{f("compose.yaml")}, ProjectName: "explicit", Env: map[string]string{}},
			project: "explicit", image: "nginx:from-dotenv", greeting: "hi $there", services: []string{"web"}},
		{name: "COMPOSE_PROJECT_NAME over name:",
			o:       Options{Files: []string{f("named.yaml")}, Env: map[string]string{"COMPOSE_PROJECT_NAME": "envname"}},
			project: "envname", image: "nginx", services: []string{"web"}},
		{name: "name: interpolated",
			o:       Options{Files: []string{f("named.yaml")}, Env: map[string]string{"NAME": "Interp"}},
			project: "interp", image: "nginx", services: []string{"web"}},
		{name: "--profile",
			o:       Options{Files: []string{f("compose.yaml")}, Profiles: []string{"debug"}, Env: map[string]string{}},
			project: normalizeName(base), image: "nginx:from-dotenv", greeting: "hi $there", services: []string{"debug", "web"}},
		{name: "COMPOSE_PROFILES",
			o:       Options{Files: []string{f("compose.yaml")}, Env: map[string]string{"COMPOSE_PROFILES": "debug"}},
			project: normalizeName(base), image: "nginx:from-dotenv", greeting: "hi $there", services: []string{"debug", "web"}},
		{name: "COMPOSE_FILE with two files",
			o: Options{WorkingDir: dir, Env: map[string]string{
				"COMPOSE_FILE": f("compose.yaml") + ":" + f("second.yaml")}},
			project: normalizeName(base), image: "httpd", greeting: "hi $there", services: []string{"web"}},
		{name: "repeated -f overrides in order",
			o:       Options{Files: []string{f("compose.yaml"), f("second.yaml")}, Env: map[string]string{}},
			project: normalizeName(base), image: "httpd", greeting: "hi $there", services: []string{"web"}},
		{name: "selected services",
			o:       Options{Files: []string{f("compose.yaml")}, Services: []string{"debug"}, Env: map[string]string{}},
			project: normalizeName(base), services: []string{"debug"}},
		{name: "no interpolation",
			o:       Options{Files: []string{f("compose.yaml")}, NoInterpolate: true, Env: map[string]string{}},
			project: normalizeName(base), image: "nginx:${TAG:-latest}", greeting: "${GREETING:-hello}", services: []string{"web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load(t.Context(), tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != tt.project {
				t.Errorf("project %q, want %q", p.Name, tt.project)
			}
			if diff := cmp.Diff(tt.services, p.ServiceNames()); diff != "" {
				t.Errorf("services (-want +got):\n%s", diff)
			}
			web, ok := p.Services["web"]
			if !ok {
				return
			}
			if web.Image != tt.image {
				t.Errorf("image %q, want %q", web.Image, tt.image)
			}
			if tt.greeting != "" {
				if g := web.Environment["GREETING"]; g == nil || *g != tt.greeting {
					t.Errorf("GREETING %v, want %q", g, tt.greeting)
				}
			}
		})
	}
}

func normalizeName(s string) string {
	s = strings.ToLower(s)
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			b.WriteRune(r)
		}
	}
	return strings.TrimLeft(b.String(), "_-")
}

// TestStackInputs checks the list of files that shaped the model and that
// the digest follows their content and the variables consulted.
func TestStackInputs(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"compose.yaml": `include:
  - inc/redis.yaml
services:
  web:
    extends:
      file: base.yaml
      service: base
    image: nginx:${TAG:-latest}
    env_file: web.env
    configs: [site]
    secrets: [key]
configs:
  site:
    file: ./site.conf
secrets:
  key:
    environment: KEY
`,
		"base.yaml":       "services:\n  base:\n    environment:\n      A: b\n",
		"inc/redis.yaml":  "include: [nested.yaml]\nservices:\n  redis:\n    image: redis\n",
		"inc/nested.yaml": "services:\n  sidecar:\n    image: busybox\n",
		"web.env":         "X=1\n",
		"site.conf":       "server {}\n",
		".env":            "TAG=1\n",
	})
	env := map[string]string{"KEY": "k", "UNRELATED": "u"}
	s, err := LoadStack(t.Context(), Options{WorkingDir: dir, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	var rel []string
	for _, f := range s.Files {
		r, _ := filepath.Rel(dir, f)
		rel = append(rel, r)
	}
	want := []string{".env", "base.yaml", "compose.yaml", "inc/nested.yaml", "inc/redis.yaml", "site.conf", "web.env"}
	if diff := cmp.Diff(want, rel); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	for _, v := range []string{"TAG", "KEY", "COMPOSE_FILE"} {
		if !slices.Contains(s.EnvVars, v) {
			t.Errorf("EnvVars %v lack %s", s.EnvVars, v)
		}
	}
	if slices.Contains(s.EnvVars, "UNRELATED") {
		t.Errorf("EnvVars %v has UNRELATED", s.EnvVars)
	}

	same, err := s.CurrentDigest(map[string]string{"KEY": "k", "UNRELATED": "changed"})
	if err != nil {
		t.Fatal(err)
	}
	if same != s.Digest {
		t.Errorf("digest changed with an unrelated variable")
	}
	changed, _ := s.CurrentDigest(map[string]string{"KEY": "other"})
	if changed == s.Digest {
		t.Errorf("digest did not change with KEY")
	}
	if err := os.WriteFile(filepath.Join(dir, "site.conf"), []byte("server { listen 80; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	edited, _ := s.CurrentDigest(env)
	if edited == s.Digest {
		t.Errorf("digest did not change with site.conf")
	}
	if err := os.WriteFile(filepath.Join(dir, "compose.override.yaml"), []byte("services: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	overridden, _ := s.CurrentDigest(env)
	if overridden == edited {
		t.Errorf("digest did not change with a new compose.override.yaml")
	}
}

// TestMixedFormats overrides a YAML file with an HCL file and the other
// way round.
func TestMixedFormats(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"compose.yaml": "services:\n  web:\n    image: nginx\n    environment:\n      A: yaml\n",
		"stack.hcl":    "service \"web\" {\n  image = \"httpd\"\n}\n",
	})
	tests := []struct {
		files []string
		image string
	}{
		{[]string{"compose.yaml", "stack.hcl"}, "httpd"},
		{[]string{"stack.hcl", "compose.yaml"}, "nginx"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.files, "+"), func(t *testing.T) {
			var files []string
			for _, f := range tt.files {
				files = append(files, filepath.Join(dir, f))
			}
			p, err := Load(t.Context(), Options{Files: files, Env: map[string]string{}})
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Services["web"].Image; got != tt.image {
				t.Errorf("image %q, want %q", got, tt.image)
			}
		})
	}
}

// TestDiagnoseValid checks that the extra checks run when loading fails
// find nothing in valid files: they must never invent problems.
func TestDiagnoseValid(t *testing.T) {
	var files []string
	for _, pattern := range []string{"testdata/corpus/*.yaml", "testdata/cases/[^e]*.yaml", "../examples/*/compose.yaml"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			l := &load{inputs: []inputFile{{path: f, src: src}}}
			if ps := l.diagnose(); len(ps) > 0 {
				t.Errorf("problems in a valid file:\n%v", ps)
			}
		})
	}
	hcl, err := filepath.Glob("../examples/*/stack.hcl")
	if err != nil {
		t.Fatal(err)
	}
	hcl = append(hcl, "testdata/cases/hcl-stack.hcl", "testdata/hcl/full.hcl", "testdata/hcl/expressions.hcl", "testdata/hcl/variables.hcl")
	for _, f := range hcl {
		t.Run(f, func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			dec, err := decodeHCLFile(f, src, HCLInput{Env: map[string]string{"BERTH_VAR_env": "test", "HOME": "/home/test"}})
			if err != nil {
				t.Fatal(err)
			}
			l := &load{inputs: []inputFile{{path: f, src: src, hcl: true, data: dec.Data, sources: dec.Sources}}}
			if ps := l.diagnose(); len(ps) > 0 {
				t.Errorf("problems in a valid file:\n%v", ps)
			}
		})
	}
}
