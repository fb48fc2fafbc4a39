package dirsize

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRegular(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	for p, n := range map[string]int{"f": 10, "a/g": 20, "a/b/h": 300} {
		if err := os.WriteFile(filepath.Join(dir, p), make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A symlink counts nothing, not even its target's size.
	if err := os.Symlink(filepath.Join(dir, "a", "b", "h"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if got := Regular(dir); got != 330 {
		t.Errorf("Regular = %d, want 330", got)
	}
	if got := Regular(filepath.Join(dir, "missing")); got != 0 {
		t.Errorf("Regular of a missing dir = %d, want 0", got)
	}
}
