package spec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hashBase is the stack the hash table tests vary. web is the service
// hashed.
const hashBase = `services:
  web:
    image: example/web:1
    command: ["serve", "--port", "80"]
    entrypoint: ["/entry.sh"]
    environment:
      LOG_LEVEL: info
    env_file: web.env
    labels:
      com.example.team: web
    ports:
      - "8080:80"
    volumes:
      - data:/data
      - ./site:/srv:ro
    networks:
      front:
        aliases: [www]
        ipv4_address: 10.5.0.10
    configs:
      - source: site
        target: /etc/site.conf
      - source: banner
    secrets:
      - token
    depends_on: [db]
    build: ./app
    pull_policy: missing
  db:
    image: postgres:16
volumes:
  data:
networks:
  front:
    ipam:
      config:
        - subnet: 10.5.0.0/16
configs:
  site:
    file: ./site.conf
  banner:
    content: hello
secrets:
  token:
    environment: TOKEN
`

type hashInput struct {
	compose  string
	files    map[string]string // besides compose.yaml: web.env, site.conf
	env      map[string]string
	profiles []string
	imageID  string
}

func baseHashInput() hashInput {
	return hashInput{
		compose: hashBase,
		files:   map[string]string{"web.env": "A=1\n", "site.conf": "listen 80;\n"},
		env:     map[string]string{"TOKEN": "t0k3n"},
		imageID: "sha256:1111",
	}
}

// hashWeb loads the input in a directory of its own name (so that paths,
// which are part of the hash, are equal between inputs) and hashes web.
func hashWeb(t *testing.T, dir string, in hashInput) string {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"compose.yaml": in.compose}
	for k, v := range in.files {
		files[k] = v
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := Load(t.Context(), Options{WorkingDir: dir, Env: in.env, Profiles: in.profiles})
	if err != nil {
		t.Fatal(err)
	}
	h, err := ServiceHash(p, "web", in.imageID)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestServiceHash(t *testing.T) {
	replace := func(old, new string) func(*hashInput) {
		return func(in *hashInput) {
			if !strings.Contains(in.compose, old) {
				t.Fatalf("base stack has no %q", old)
			}
			in.compose = strings.Replace(in.compose, old, new, 1)
		}
	}
	tests := []struct {
		name   string
		change func(*hashInput)
		differ bool
	}{
		// Nothing that reaches the container changed.
		{"unchanged", func(*hashInput) {}, false},
		{"keys reordered", replace("    image: example/web:1\n    command: [\"serve\", \"--port\", \"80\"]\n",
			"    command: [\"serve\", \"--port\", \"80\"]\n    image: example/web:1\n"), false},
		{"reformatted", func(in *hashInput) {
			in.compose = strings.Replace(in.compose, "      - \"8080:80\"\n",
				"      - target: 80\n        published: \"8080\"\n        protocol: tcp\n", 1)
			in.compose = strings.Replace(in.compose, "    environment:\n      LOG_LEVEL: info\n",
				"    environment: [\"LOG_LEVEL=info\"]\n", 1)
		}, false},
		{"depends_on changed", replace("depends_on: [db]", "depends_on:\n      db:\n        condition: service_healthy"), false},
		{"depends_on removed", replace("    depends_on: [db]\n", ""), false},
		{"unrelated service added", replace("  db:\n", "  worker:\n    image: busybox\n  db:\n"), false},
		{"other service changed", replace("postgres:16", "postgres:17"), false},
		{"scale", replace("    pull_policy: missing\n", "    pull_policy: missing\n    scale: 3\n"), false},
		{"deploy.replicas", replace("    pull_policy: missing\n", "    pull_policy: missing\n    deploy:\n      replicas: 2\n"), false},
		{"build changed", replace("build: ./app", "build:\n      context: ./other\n      args: {V: \"2\"}"), false},
		{"pull_policy", replace("pull_policy: missing", "pull_policy: always"), false},
		{"profiles", func(in *hashInput) {
			replace("    pull_policy: missing\n", "    pull_policy: missing\n    profiles: [web]\n")(in)
			in.profiles = []string{"web"}
		}, false},
		{"unused variable", func(in *hashInput) { in.env["UNRELATED"] = "x" }, false},
		{"comment added", replace("services:\n", "# the web stack\nservices:\n"), false},

		// Something that reaches the container changed.
		{"image ID", func(in *hashInput) { in.imageID = "sha256:2222" }, true},
		{"image name", replace("example/web:1", "example/web:2"), true},
		{"environment value", replace("LOG_LEVEL: info", "LOG_LEVEL: debug"), true},
		{"environment added", replace("LOG_LEVEL: info", "LOG_LEVEL: info\n      NEW: x"), true},
		{"env_file content", func(in *hashInput) { in.files["web.env"] = "A=2\n" }, true},
		{"command", replace(`"--port", "80"`, `"--port", "81"`), true},
		{"entrypoint", replace("/entry.sh", "/other.sh"), true},
		{"named volume target", replace("data:/data", "data:/var/data"), true},
		{"bind mount read-write", replace("./site:/srv:ro", "./site:/srv"), true},
		{"network alias", replace("aliases: [www]", "aliases: [www, web2]"), true},
		{"network address", replace("ipv4_address: 10.5.0.10", "ipv4_address: 10.5.0.11"), true},
		{"network added", func(in *hashInput) {
			replace("        ipv4_address: 10.5.0.10\n", "        ipv4_address: 10.5.0.10\n      back:\n")(in)
			replace("networks:\n  front:\n", "networks:\n  back:\n  front:\n")(in)
		}, true},
		{"port", replace("8080:80", "8081:80"), true},
		{"label", replace("com.example.team: web", "com.example.team: platform"), true},
		{"config file content", func(in *hashInput) { in.files["site.conf"] = "listen 81;\n" }, true},
		{"inline config content", replace("content: hello", "content: hello world"), true},
		{"secret from environment", func(in *hashInput) { in.env["TOKEN"] = "rotated" }, true},
		{"config target", replace("target: /etc/site.conf", "target: /etc/site2.conf"), true},
	}
	root := t.TempDir()
	base := hashWeb(t, filepath.Join(root, "stack"), baseHashInput())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseHashInput()
			tt.change(&in)
			got := hashWeb(t, filepath.Join(root, "stack"), in)
			if differ := got != base; differ != tt.differ {
				t.Errorf("hash changed = %v, want %v", differ, tt.differ)
			}
		})
	}
}

// TestServiceHashGolden pins the hash of a fixed service using most
// fields: if it changes, every container berth runs would be recreated on
// upgrade. Change hashVersion and the golden file only on purpose.
func TestServiceHashGolden(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("testdata", "hash"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Load(t.Context(), Options{Files: []string{filepath.Join(dir, "service.yaml")},
		Env: map[string]string{"TOKEN": "t0k3n"}})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		proj, err := serviceProjection(p, s, "sha256:0123456789abcdef")
		if err != nil {
			t.Fatal(err)
		}
		js, err := json.MarshalIndent(proj, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		h, err := ServiceHash(p, name, "sha256:0123456789abcdef")
		if err != nil {
			t.Fatal(err)
		}
		out.WriteString(name + " " + h + "\n" + string(js) + "\n")
	}
	golden(t, filepath.Join(dir, "service.golden"), []byte(out.String()))
}

func TestServiceHashUnknownService(t *testing.T) {
	in := baseHashInput()
	dir := filepath.Join(t.TempDir(), "stack")
	hashWeb(t, dir, in)
	p, err := Load(t.Context(), Options{WorkingDir: dir, Env: in.env})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ServiceHash(p, "nope", ""); err == nil {
		t.Error("no error for an unknown service")
	}
}
