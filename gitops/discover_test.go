package gitops

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDiscover(t *testing.T) {
	tree := t.TempDir()
	for _, f := range []string{
		"compose.yaml",
		"apps/web/compose.yaml", "apps/web/compose.override.yaml", "apps/web/sub/compose.yaml",
		"apps/api/stack.hcl", "apps/both/docker-compose.yml", "apps/both/stack.hcl",
		"apps/.hidden/compose.yaml", "docs/README.md", "other/db/compose.yml",
	} {
		p := filepath.Join(tree, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("services: {}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	type row struct {
		Path  string
		Files []string
	}
	rows := func(fs []Found) []row {
		var out []row
		for _, f := range fs {
			var files []string
			for _, x := range f.Files {
				rel, _ := filepath.Rel(tree, x)
				files = append(files, rel)
			}
			out = append(out, row{f.Path, files})
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		paths []string
		want  []row
	}{
		{"root is a stack", nil, []row{{".", []string{"compose.yaml"}}}},
		{"apps", []string{"apps"}, []row{
			{"apps/api", []string{"apps/api/stack.hcl"}},
			{"apps/both", nil},
			{"apps/web", []string{"apps/web/compose.yaml", "apps/web/compose.override.yaml"}},
		}},
		{"two paths, one missing", []string{"other/", "nosuch", "apps/web"}, []row{
			{"apps/web", []string{"apps/web/compose.yaml", "apps/web/compose.override.yaml"}},
			{"other/db", []string{"other/db/compose.yml"}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Discover(tree, tc.paths)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, rows(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := Discover(tree, []string{"../etc"}); err == nil {
		t.Error("a path outside the repository was accepted")
	}
}

func TestUnder(t *testing.T) {
	for _, tc := range []struct {
		p     string
		paths []string
		want  bool
	}{
		{"apps/web", nil, true},
		{"apps/web", []string{"apps"}, true},
		{"apps/web", []string{"apps/web"}, true},
		{"apps2/web", []string{"apps"}, false},
		{"apps/web", []string{"."}, true},
		{"apps/web", []string{"other"}, false},
	} {
		if got := under(tc.p, tc.paths); got != tc.want {
			t.Errorf("under(%q, %q) = %v", tc.p, tc.paths, got)
		}
	}
}

func TestRepoName(t *testing.T) {
	for url, want := range map[string]string{
		"https://github.com/acme/stacks.git": "stacks",
		"git@github.com:acme/infra.git":      "infra",
		"file:///srv/git/ops/":               "ops",
		"ssh://git@host/x":                   "x",
	} {
		if got := repoName(url); got != want {
			t.Errorf("repoName(%q) = %q, want %q", url, got, want)
		}
	}
}
