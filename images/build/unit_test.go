package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

func TestKey(t *testing.T) {
	base := key("parent", "RUN x", "env")
	for name, k := range map[string]string{
		"other parent":      key("parent2", "RUN x", "env"),
		"other instruction": key("parent", "RUN y", "env"),
		"other extra":       key("parent", "RUN x", "env2"),
		"parts moved":       key("parent", "RUN xenv"),
		"split differently": key("parent", "RUN ", "xenv"),
	} {
		if k == base {
			t.Errorf("%s: same key as the base", name)
		}
	}
	if key("parent", "RUN x", "env") != base {
		t.Error("key is not deterministic")
	}
	a := commandText("ENV", &instructions.EnvCommand{Env: instructions.KeyValuePairs{{Key: "A", Value: "1"}}})
	b := commandText("ENV", &instructions.EnvCommand{Env: instructions.KeyValuePairs{{Key: "A", Value: "2"}}})
	if a == b {
		t.Error("ENV A=1 and ENV A=2 have the same text")
	}
}

func TestStateDigest(t *testing.T) {
	st := &state{}
	st.Config.Config.Labels = map[string]string{"b": "2", "a": "1"}
	d := st.digest()
	if st.clone().digest() != d {
		t.Error("a clone has another digest")
	}
	c := st.clone()
	c.Config.Config.Labels["a"] = "x"
	if c.digest() == d || st.Config.Config.Labels["a"] != "1" {
		t.Error("clone shares the labels map or the digest ignores them")
	}
}

func TestDockerignore(t *testing.T) {
	dir := t.TempDir()
	files := []string{"a.txt", "b.log", "logs/keep.log", "logs/x.log", "src/main.go", "src/deep/x.tmp", "node_modules/m/index.js", "Dockerfile"}
	for _, f := range files {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ignore := "# comment\n**/*.log\n!logs/keep.log\n**/*.tmp\nnode_modules\n"
	if err := os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte(ignore), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := openContext(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	entries, err := src.walk(".", "/app")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		if !e.info.IsDir() {
			got = append(got, e.dest)
		}
	}
	want := []string{"/app/.dockerignore", "/app/Dockerfile", "/app/a.txt", "/app/logs/keep.log", "/app/src/main.go"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("walk (-want +got):\n%s", d)
	}
	for _, tc := range []struct {
		pattern string
		want    []string
		err     bool
	}{
		{pattern: "*.txt", want: []string{"a.txt"}},
		{pattern: "*.log", err: true}, // all excluded
		{pattern: "logs/*.log", want: []string{"logs/keep.log"}},
		{pattern: "src", want: []string{"src"}},
		{pattern: "/src/../a.txt", want: []string{"a.txt"}},
		{pattern: "node_modules", err: true},
		{pattern: "missing", err: true},
	} {
		got, err := src.match(tc.pattern)
		if (err != nil) != tc.err {
			t.Errorf("match %q: error %v, want error %v", tc.pattern, err, tc.err)
			continue
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("match %q (-want +got):\n%s", tc.pattern, d)
		}
	}
	// The content digest follows content and names, not times.
	d1, _ := src.digest(entries)
	os.Chtimes(filepath.Join(dir, "a.txt"), timeZero, timeZero)
	entries2, _ := src.walk(".", "/app")
	d2, _ := src.digest(entries2)
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("changed"), 0o644)
	entries3, _ := src.walk(".", "/app")
	d3, _ := src.digest(entries3)
	if d1 != d2 || d1 == d3 {
		t.Errorf("digest: unchanged %v, changed %v", d1 == d2, d1 != d3)
	}
}

func TestApplyConfig(t *testing.T) {
	parse := func(line string) instructions.Command {
		df, err := Parse("Dockerfile", []byte("FROM scratch\n"+line+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		return df.Stages[0].Commands[0]
	}
	for _, tc := range []struct {
		name       string
		lines      []string
		inherited  []string // the base image's Cmd
		entrypoint []string
		cmd        []string
	}{
		{name: "exec entrypoint clears inherited cmd", lines: []string{`ENTRYPOINT ["/bin/app"]`}, inherited: []string{"sh"}, entrypoint: []string{"/bin/app"}},
		{name: "cmd before entrypoint is kept", lines: []string{`CMD ["x"]`, `ENTRYPOINT ["/bin/app"]`}, entrypoint: []string{"/bin/app"}, cmd: []string{"x"}},
		{name: "shell forms", lines: []string{`ENTRYPOINT run it`, `CMD echo $HOME`}, entrypoint: []string{"/bin/sh", "-c", "run it"}, cmd: []string{"/bin/sh", "-c", "echo $HOME"}},
		{name: "SHELL changes the shell form", lines: []string{`SHELL ["/bin/ash", "-c"]`, `CMD echo hi`}, cmd: []string{"/bin/ash", "-c", "echo hi"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &state{}
			st.Config.Config.Cmd = tc.inherited
			cmdSet := false
			for _, l := range tc.lines {
				c := parse(l)
				if err := st.applyConfig(c, cmdSet); err != nil {
					t.Fatal(err)
				}
				if _, ok := c.(*instructions.CmdCommand); ok {
					cmdSet = true
				}
			}
			if d := cmp.Diff(tc.entrypoint, st.Config.Config.Entrypoint); d != "" {
				t.Errorf("entrypoint (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.cmd, st.Config.Config.Cmd); d != "" {
				t.Errorf("cmd (-want +got):\n%s", d)
			}
		})
	}
}

var timeZero = time.Unix(0, 0)

func TestVerifyChecksum(t *testing.T) {
	data := []byte("hello")
	for _, tc := range []struct {
		sum  string
		want func(error) bool
	}{
		{"", func(err error) bool { return err == nil }},
		{"sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", func(err error) bool { return err == nil }},
		{"sha512:9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043", func(err error) bool { return err == nil }},
		{"sha256:" + strings.Repeat("0", 64), errdefs.IsFailedPrecondition},
		{"sha256:xyz", errdefs.IsInvalidArgument},
		{"md5:5d41402abc4b2a76b9719d911017c592", errdefs.IsInvalidArgument},
	} {
		if err := verifyChecksum("https://example.invalid/f", data, tc.sum); !tc.want(err) {
			t.Errorf("%s: %v", tc.sum, err)
		}
	}
}
