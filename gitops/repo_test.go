package gitops

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// remote makes a bare repository served as file:// and a clone to commit
// in; push sends the clone's branches and tags.
func remote(t *testing.T) (url string, work *git.Repository, dir string, push func()) {
	t.Helper()
	bare := filepath.Join(t.TempDir(), "ops.git")
	if _, err := git.PlainInit(bare, true); err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	work, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	url = "file://" + bare
	if _, err := work.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{url}}); err != nil {
		t.Fatal(err)
	}
	push = func() {
		err := work.Push(&git.PushOptions{RemoteName: "origin", RefSpecs: []config.RefSpec{"refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*"}})
		if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
			t.Fatal(err)
		}
	}
	return url, work, dir, push
}

func commitFiles(t *testing.T, repo *git.Repository, dir string, files map[string]string) plumbing.Hash {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, p)
		if c == "" {
			os.RemoveAll(full)
			continue
		}
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wt, _ := repo.Worktree()
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	h, err := wt.Commit("c", &git.CommitOptions{All: true, Author: &object.Signature{Name: "t", Email: "t@x.invalid", When: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestRepoUpdate(t *testing.T) {
	url, work, dir, push := remote(t)
	c1 := commitFiles(t, work, dir, map[string]string{"a/compose.yaml": "one", "b/compose.yaml": "b"})
	if _, err := work.CreateTag("v1", c1, &git.CreateTagOptions{Message: "v1", Tagger: &object.Signature{Name: "t", Email: "t@x.invalid", When: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	if _, err := work.CreateTag("light", c1, nil); err != nil {
		t.Fatal(err)
	}
	c2 := commitFiles(t, work, dir, map[string]string{"a/compose.yaml": "two", "b/compose.yaml": ""})
	push()

	state := t.TempDir()
	read := func(r *Repo, p string) string {
		data, err := os.ReadFile(filepath.Join(r.Tree(), p))
		if err != nil {
			return "<missing>"
		}
		return string(data)
	}
	for _, tc := range []struct {
		ref, want, a, b string
	}{
		{"", c2.String(), "two", "<missing>"},
		{"master", c2.String(), "two", "<missing>"},
		{"v1", c1.String(), "one", "b"},
		{"light", c1.String(), "one", "b"},
		{c1.String()[:10], c1.String(), "one", "b"},
		{"refs/heads/master", c2.String(), "two", "<missing>"},
	} {
		r := &Repo{URL: url, Ref: tc.ref, Dir: StateDir(state, "k"+tc.ref)}
		got, err := r.Update(t.Context())
		if err != nil {
			t.Fatalf("ref %q: %v", tc.ref, err)
		}
		if got != tc.want || read(r, "a/compose.yaml") != tc.a || read(r, "b/compose.yaml") != tc.b {
			t.Errorf("ref %q: commit %s, a %q, b %q; want %s, %q, %q", tc.ref, got, read(r, "a/compose.yaml"), read(r, "b/compose.yaml"), tc.want, tc.a, tc.b)
		}
	}

	// One state dir following a branch: a later commit deletes what it
	// deleted, and an unchanged ref is a no-op.
	r := &Repo{URL: url, Ref: "master", Dir: StateDir(state, "follow")}
	if _, err := r.Update(t.Context()); err != nil {
		t.Fatal(err)
	}
	c3 := commitFiles(t, work, dir, map[string]string{"a/compose.yaml": ""})
	push()
	got, err := r.Update(t.Context())
	if err != nil || got != c3.String() || read(r, "a/compose.yaml") != "<missing>" {
		t.Errorf("after deleting a: %s %v, a %q", got, err, read(r, "a/compose.yaml"))
	}
	if got, err := r.Update(t.Context()); err != nil || got != c3.String() {
		t.Errorf("no-op update: %s %v", got, err)
	}

	bad := &Repo{URL: url, Ref: "nosuch", Dir: StateDir(state, "bad")}
	if _, err := bad.Update(t.Context()); !errdefs.IsNotFound(err) {
		t.Errorf("unknown ref: %v, want not found", err)
	}
}
