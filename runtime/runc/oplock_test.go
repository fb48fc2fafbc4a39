package runc

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/runtime/runc/monitor"
)

// A command that resolved a container just before another removed it must
// find it gone when it takes its locks, not make its directory again (a
// directory without a record, left for good).
func TestLocksOfARemovedContainer(t *testing.T) {
	dir := t.TempDir()
	r := New(Options{Root: dir, RunRoot: filepath.Join(dir, "run")})
	id := newID()
	if err := os.MkdirAll(r.containerDir(id), 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := r.opLock(t.Context(), id)
	if err != nil {
		t.Fatalf("lock of an existing container: %v", err)
	}
	l.Unlock()
	if err := r.removeContainerDir(id); err != nil {
		t.Fatal(err)
	}
	if _, err := r.opLock(t.Context(), id); !errdefs.IsNotFound(err) {
		t.Errorf("operation lock of a removed container: %v, want not found", err)
	}
	if _, err := monitor.Update(t.Context(), r.containerDir(id), func(*monitor.State) error { return nil }); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("state update of a removed container: %v, want not exist", err)
	}
	if ents, _ := os.ReadDir(r.containersDir()); len(ents) != 0 {
		t.Errorf("left in the containers directory: %v", ents)
	}
}

// What removes cut short leave (a .rm- directory, a run directory whose
// container is gone) container prune's RemoveOrphans finishes; the run
// directory of a container that exists stays.
func TestRemoveOrphansFinishesCutShortRemoves(t *testing.T) {
	dir := t.TempDir()
	r := New(Options{Root: dir, RunRoot: filepath.Join(dir, "run")})
	gone, kept := newID(), newID()
	for _, d := range []string{
		filepath.Join(r.containersDir(), removedPrefix+gone, "upper"),
		r.runDir(gone), r.runDir(kept), r.containerDir(kept),
	} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(r.containerDir(kept), recordFile), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RemoveOrphans(0); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Join(r.containersDir(), removedPrefix+gone), r.runDir(gone)} {
		if _, err := os.Stat(d); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s left: %v", d, err)
		}
	}
	for _, d := range []string{r.runDir(kept), r.containerDir(kept)} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s removed: %v", d, err)
		}
	}
}
