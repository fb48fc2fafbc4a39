package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestConfigCached: `berth config` prints the same bytes, warnings
// included, whether the model comes from the cache or from a load.
func TestConfigCached(t *testing.T) {
	dir := writeStack(t, map[string]string{
		"compose.yaml": "version: \"3\"\nname: demo\nservices:\n  web:\n    image: nginx:${TAG:-1.27}\n    ports: [\"8080:80\"]\n    x-meta: {n: 1, f: 1.5, l: [a, null]}\n",
		"stack.hcl":    "name = \"demo\"\nvariable \"tag\" {\n  default = \"1.27\"\n}\nservice \"web\" {\n  image = \"nginx:${var.tag}\"\n  ports = [\"8080:80\"]\n}\n",
	})
	// The cache does not store a stack whose files changed within a second.
	past := time.Now().Add(-time.Minute)
	for _, f := range []string{"compose.yaml", "stack.hcl"} {
		if err := os.Chtimes(filepath.Join(dir, f), past, past); err != nil {
			t.Fatal(err)
		}
	}
	root := t.TempDir()
	cacheDir := filepath.Join(root, "cache", "stacks")
	run := func(g *globals, args ...string) (string, string) {
		t.Helper()
		cmd := newConfigCmd(g)
		var out, errOut bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&errOut)
		cmd.SetArgs(args)
		cmd.SetContext(t.Context())
		t.Chdir(dir)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("config %v: %v\n%s", args, err, errOut.String())
		}
		return out.String(), errOut.String()
	}
	for _, args := range [][]string{
		{"-f", "compose.yaml"},
		{"-f", "compose.yaml", "--format", "json"},
		{"-f", "stack.hcl", "--var", "tag=1.28"},
		{"-f", "compose.yaml", "--hash", "*"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			uncached, uncachedErr := run(&globals{}, args...)
			first, firstErr := run(&globals{root: root}, args...)
			entries, _ := filepath.Glob(filepath.Join(cacheDir, "*.stack"))
			if len(entries) == 0 {
				t.Fatal("nothing cached")
			}
			for _, e := range entries {
				if err := os.Chtimes(e, past, past); err != nil {
					t.Fatal(err)
				}
			}
			cached, cachedErr := run(&globals{root: root}, args...)
			hit := false
			for _, e := range entries {
				if fi, err := os.Stat(e); err == nil && fi.ModTime().After(past) {
					hit = true
				}
			}
			if !hit {
				t.Error("the second run did not use the cache")
			}
			for _, got := range []struct{ name, out, err string }{{"first", first, firstErr}, {"cached", cached, cachedErr}} {
				if diff := cmp.Diff(uncached, got.out); diff != "" {
					t.Errorf("%s output differs (-uncached +%s):\n%s", got.name, got.name, diff)
				}
				if diff := cmp.Diff(uncachedErr, got.err); diff != "" {
					t.Errorf("%s stderr differs (-uncached +%s):\n%s", got.name, got.name, diff)
				}
			}
		})
	}
	t.Run("warnings", func(t *testing.T) {
		_, stderr := run(&globals{root: root}, "-f", "compose.yaml", "-q")
		want := "warning: " + filepath.Join(dir, "compose.yaml") + ": the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion\n"
		if stderr != want {
			t.Errorf("stderr = %q, want %q", stderr, want)
		}
	})
}
