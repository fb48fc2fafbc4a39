package reconcile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/runtime"
)

func TestContainerFilesApplied(t *testing.T) {
	src := filepath.Join(t.TempDir(), "db_password.txt")
	if err := os.WriteFile(src, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	uid := strconv.Itoa(os.Getuid()) // any other needs root
	mode := types.FileMode(0o400)
	p := project("demo", service("db", "postgres:16", func(s *types.ServiceConfig) {
		s.Secrets = []types.ServiceSecretConfig{
			{Source: "password", UID: uid, GID: uid, Mode: &mode},
			{Source: "token", Target: "/etc/token"},
		}
		s.Configs = []types.ServiceConfigObjConfig{{Source: "motd"}}
	}))
	p.Secrets = types.Secrets{
		"password": {File: src},
		"token":    {Environment: "TOKEN"},
	}
	p.Configs = types.Configs{"motd": {Content: "hello"}}
	p.Environment = types.Mapping{"TOKEN": "t0k3n"}

	e := newEnv()
	dir := t.TempDir()
	plan := e.plan(t, p, Options{})
	if err := Apply(t.Context(), plan, e.deps(), ApplyOptions{Clock: instant{}, FilesDir: dir}); err != nil {
		t.Fatal(err)
	}
	c := e.container(t, "demo-db-1")
	own := filepath.Join(dir, "demo-db-1")
	want := []runtime.Mount{
		{Type: "bind", Source: filepath.Join(own, "secrets", "password"), Target: "/run/secrets/password", ReadOnly: true},
		{Type: "bind", Source: filepath.Join(own, "secrets", "token"), Target: "/etc/token", ReadOnly: true},
		{Type: "bind", Source: filepath.Join(own, "configs", "motd"), Target: "/motd", ReadOnly: true},
	}
	if diff := cmp.Diff(want, c.Config.Mounts); diff != "" {
		t.Errorf("mounts (-want +got):\n%s", diff)
	}
	for _, f := range []struct {
		path, content string
		mode          fs.FileMode
	}{
		{"secrets/password", "s3cret", 0o400},
		{"secrets/token", "t0k3n", 0o444},
		{"configs/motd", "hello", 0o444},
	} {
		path := filepath.Join(own, f.path)
		data, err := os.ReadFile(path)
		if err != nil || string(data) != f.content {
			t.Errorf("%s: %q, %v", f.path, data, err)
			continue
		}
		st, _ := os.Stat(path)
		if st.Mode().Perm() != f.mode {
			t.Errorf("%s: mode %v, want %v", f.path, st.Mode().Perm(), f.mode)
		}
		if f.path == "secrets/password" && strconv.Itoa(int(st.Sys().(*syscall.Stat_t).Uid)) != uid {
			t.Errorf("%s: uid %d, want %s", f.path, st.Sys().(*syscall.Stat_t).Uid, uid)
		}
	}
	// Taking the stack down removes the files with the container.
	obs := e.observe(t, p)
	down, err := MakeDownPlan("demo", p, obs, DownOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := Apply(t.Context(), down, e.deps(), ApplyOptions{Clock: instant{}, FilesDir: dir}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(own); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("files left after down: %v", err)
	}
}

func TestContainerFilesErrors(t *testing.T) {
	p := project("demo", service("db", "postgres:16", func(s *types.ServiceConfig) {
		s.Secrets = []types.ServiceSecretConfig{{Source: "password", UID: "postgres"}, {Source: "missing"}}
	}))
	p.Secrets = types.Secrets{"password": {Content: "x"}}
	_, err := containerConfig(p, "db", 1, "h")
	if err == nil {
		t.Fatal("want errors for a non-numeric uid and an undeclared secret")
	}
	for _, want := range []string{`uid "postgres": want a numeric id`, "secret missing is not declared"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
