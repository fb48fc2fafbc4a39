package gitops

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCheckoutPath: one folder goes back to an older commit in place (a
// file it did not have goes, one it had comes back), the rest of the tree
// and the next Update of the same commit leave it so, and a newer commit's
// Update replaces it.
func TestCheckoutPath(t *testing.T) {
	url, work, dir, push := remote(t)
	c1 := commitFiles(t, work, dir, map[string]string{"a/compose.yaml": "one", "a/env/old": "o", "b/compose.yaml": "b1"})
	commitFiles(t, work, dir, map[string]string{"a/compose.yaml": "two", "a/env/old": "", "a/new": "n", "b/compose.yaml": "b2"})
	push()
	r := &Repo{URL: url, Ref: "master", Dir: StateDir(t.TempDir(), "k")}
	c2, err := r.Update(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	read := func(p string) string {
		data, err := os.ReadFile(filepath.Join(r.Tree(), p))
		if err != nil {
			return "<missing>"
		}
		return string(data)
	}
	check := func(when string, want map[string]string) {
		t.Helper()
		for p, w := range want {
			if got := read(p); got != w {
				t.Errorf("%s: %s = %q, want %q", when, p, got, w)
			}
		}
	}
	if err := r.CheckoutPath(c1.String(), "a"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a/compose.yaml": "one", "a/env/old": "o", "a/new": "<missing>", "b/compose.yaml": "b2"}
	check("rolled back", want)
	if err := r.CheckoutPath(c1.String(), "a"); err != nil { // idempotent
		t.Fatal(err)
	}
	if got, err := r.Update(t.Context()); err != nil || got != c2 {
		t.Fatalf("update of the same commit: %s %v", got, err)
	}
	check("same commit again", want)

	commitFiles(t, work, dir, map[string]string{"b/compose.yaml": "b3"})
	push()
	if _, err := r.Update(t.Context()); err != nil {
		t.Fatal(err)
	}
	check("newer commit", map[string]string{"a/compose.yaml": "two", "a/new": "n", "b/compose.yaml": "b3"})
	if err := r.CheckoutPath(c1.String(), "nosuch"); err == nil {
		t.Error("a folder the commit does not have: no error")
	}
}
