package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// runConfigCmd runs `berth config ARGS` in dir and returns its output.
func runConfigCmd(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := newConfigCmd(&globals{})
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	cmd.SetContext(t.Context())
	t.Chdir(dir)
	err := cmd.Execute()
	return out.String(), err
}

func writeStack(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestConfigCommand(t *testing.T) {
	const compose = `name: demo
services:
  web:
    image: nginx:${TAG:-1.27}
    volumes: [data:/data]
  job:
    build: ./job
    profiles: [batch]
  db:
    image: postgres:16
    profiles: [dev, batch]
volumes:
  data:
`
	const hcl = `name = "demo"

service "web" {
  image   = "nginx:1.27"
  volumes = ["data:/data"]
}

service "job" {
  build {
    context = "./job"
  }
  profiles = ["batch"]
}

service "db" {
  image    = "postgres:16"
  profiles = ["dev", "batch"]
}

volume "data" {}
`
	dir := writeStack(t, map[string]string{"compose.yaml": compose, "stack.hcl": hcl})
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"services", []string{"--services"}, "web\n"},
		{"services with profile", []string{"--services", "--profile", "batch"}, "db\njob\nweb\n"},
		{"volumes", []string{"--volumes"}, "data\n"},
		{"images", []string{"--images", "--profile", "batch"}, "postgres:16\ndemo-job\nnginx:1.27\n"},
		{"profiles", []string{"--profiles"}, "batch\ndev\n"},
		{"quiet", []string{"-q"}, ""},
		{"select service", []string{"--services", "--profile", "batch", "db"}, "db\n"},
	}
	for _, tt := range tests {
		for _, file := range []string{"compose.yaml", "stack.hcl"} {
			t.Run(tt.name+"/"+file, func(t *testing.T) {
				got, err := runConfigCmd(t, dir, append([]string{"-f", file}, tt.args...)...)
				if err != nil {
					t.Fatalf("%v\n%s", err, got)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("output (-want +got):\n%s", diff)
				}
			})
		}
	}

	t.Run("same model from both front-ends", func(t *testing.T) {
		for _, format := range []string{"yaml", "json"} {
			y, err := runConfigCmd(t, dir, "-f", "compose.yaml", "--format", format)
			if err != nil {
				t.Fatal(err)
			}
			h, err := runConfigCmd(t, dir, "-f", "stack.hcl", "--format", format)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(y, h); diff != "" {
				t.Errorf("%s differs (-yaml +hcl):\n%s", format, diff)
			}
		}
	})

	t.Run("hash", func(t *testing.T) {
		got, err := runConfigCmd(t, dir, "-f", "compose.yaml", "--hash", "*")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(got), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "web ") || len(lines[0]) != len("web ")+64 {
			t.Errorf("--hash '*' = %q, want one line \"web HASH\"", got)
		}
	})

	t.Run("output file", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "model.yaml")
		if _, err := runConfigCmd(t, dir, "-f", "compose.yaml", "-o", out); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), "name: demo\n") {
			t.Errorf("output file starts %q", firstLine(string(b)))
		}
	})

	t.Run("no interpolation", func(t *testing.T) {
		got, err := runConfigCmd(t, dir, "-f", "compose.yaml", "--no-interpolate")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(got, "image: nginx:${TAG:-1.27}") {
			t.Errorf("variable interpolated:\n%s", got)
		}
	})
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func TestConfigCommandProblems(t *testing.T) {
	dir := writeStack(t, map[string]string{"compose.yaml": `services:
  web:
    image: nginx
    ports:
      - "80:abc"
    restat: always
`})
	_, err := runConfigCmd(t, dir)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("error %v, want exit status 1", err)
	}
	msg := err.Error()
	for _, want := range []string{
		`compose.yaml:5:9: services.web.ports[0]: invalid port "80:abc"`,
		`compose.yaml:6:5: services.web.restat: unknown field "restat", did you mean "restart"?`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}
