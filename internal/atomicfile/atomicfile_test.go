package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteReplacesAndLeavesNoTemp(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(path string, v any, perm os.FileMode) error
		want  string
	}{
		{"durable", WriteJSON, "{\n  \"a\": 1\n}\n"},
		{"replace", ReplaceJSON, "{\"a\":1}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state.json")
			if err := Write(path, []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := tc.write(path, map[string]int{"a": 1}, 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("content = %q, want %q", got, tc.want)
			}
			fi, _ := os.Stat(path)
			if fi.Mode().Perm() != 0o644 {
				t.Errorf("mode = %v, want 0644", fi.Mode().Perm())
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("directory has %d entries, want only the target", len(entries))
			}
		})
	}
}

func TestWriteMissingDirFails(t *testing.T) {
	if err := Write(filepath.Join(t.TempDir(), "no", "such"), nil, 0o600); err == nil {
		t.Fatal("want an error for a missing directory")
	}
	if err := Replace(filepath.Join(t.TempDir(), "no", "such"), nil, 0o600); err == nil {
		t.Fatal("Replace: want an error for a missing directory")
	}
}

func TestWriteAllWritesEveryFileAndNoTemp(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "config.json"), filepath.Join(dir, "container.json")
	if err := Write(b, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteAll(File{Path: a, Data: []byte("spec"), Perm: 0o600}, File{Path: b, Data: []byte("record"), Perm: 0o640}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{a: "spec", b: "record"} {
		if got, err := os.ReadFile(path); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", path, got, err, want)
		}
	}
	if fi, err := os.Stat(b); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode of %s: %v %v", b, fi.Mode(), err)
	}
	// A file that cannot be written fails the call and leaves no temp.
	if err := WriteAll(File{Path: filepath.Join(dir, "x"), Data: []byte("x"), Perm: 0o600}, File{Path: filepath.Join(dir, "no", "y"), Data: []byte("y"), Perm: 0o600}); err == nil {
		t.Error("WriteAll into a missing directory succeeded")
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temp file left: %s", e.Name())
		}
	}
}
