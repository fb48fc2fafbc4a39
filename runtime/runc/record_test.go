package runc

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/runtime"
)

// addRecord writes a bare container record, as Create would, without an
// image or runc.
func addRecord(t *testing.T, r *Runtime, id, name string) {
	t.Helper()
	if err := os.MkdirAll(r.containerDir(id), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := r.reserveName(name, id); err != nil {
		t.Fatal(err)
	}
	if err := r.writeRecord(&Record{ID: id, Name: name, Created: time.Now(), Config: runtime.Config{Name: name}}); err != nil {
		t.Fatal(err)
	}
}

func TestResolve(t *testing.T) {
	r := New(Options{Root: t.TempDir(), RunRoot: t.TempDir()})
	a := "abc" + strings.Repeat("1", 61)
	b := "abd" + strings.Repeat("2", 61)
	addRecord(t, r, a, "web")
	addRecord(t, r, b, "db")
	tests := []struct {
		ref  string
		want string
		err  error
	}{
		{a, a, nil},
		{"web", a, nil},
		{"/web", a, nil},
		{"db", b, nil},
		{"abc", a, nil},
		{"abd2", b, nil},
		{a[:12], a, nil},
		{"ab", "", errdefs.ErrInvalidArgument},
		{"nope", "", errdefs.ErrNotFound},
		{"", "", errdefs.ErrInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			got, err := r.Resolve(t.Context(), tc.ref)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Resolve(%q) error = %v; want %v", tc.ref, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Resolve(%q) = %q, %v; want %q", tc.ref, got, err, tc.want)
			}
		})
	}
}

func TestNameWinsOverPrefix(t *testing.T) {
	// Docker resolves a name before an ID prefix: a container named like
	// another's ID prefix is found by its name.
	r := New(Options{Root: t.TempDir(), RunRoot: t.TempDir()})
	a := "abc" + strings.Repeat("1", 61)
	b := "fff" + strings.Repeat("2", 61)
	addRecord(t, r, a, "x")
	addRecord(t, r, b, "abc")
	if got, _ := r.Resolve(t.Context(), "abc"); got != b {
		t.Errorf("Resolve(abc) = %s; want the container named abc", got)
	}
}

func TestReserveName(t *testing.T) {
	r := New(Options{Root: t.TempDir(), RunRoot: t.TempDir()})
	id := strings.Repeat("a", 64)
	addRecord(t, r, id, "web")
	err := r.reserveName("web", strings.Repeat("b", 64))
	if !errors.Is(err, errdefs.ErrAlreadyExists) || !strings.Contains(err.Error(), `The container name "/web" is already in use`) {
		t.Errorf("second reserve = %v; want Docker's conflict", err)
	}
	for _, bad := range []string{"", "-x", "a b", "a/b", "é"} {
		if err := r.reserveName(bad, id); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("reserveName(%q) = %v; want invalid argument", bad, err)
		}
	}
	// A name whose owner has no record any more (a crash midway) is reclaimed.
	if err := r.reserveName("ghost", strings.Repeat("c", 64)); err != nil {
		t.Fatal(err)
	}
	if err := r.reserveName("ghost", strings.Repeat("d", 64)); err != nil {
		t.Errorf("reclaiming a stale name: %v", err)
	}
}

func TestReserveNameConcurrent(t *testing.T) {
	r := New(Options{Root: t.TempDir(), RunRoot: t.TempDir()})
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := strings.Repeat(string(rune('a'+i)), 64)
			_ = os.MkdirAll(r.containerDir(id), 0o700)
			_ = r.writeRecord(&Record{ID: id})
			if r.reserveName("same", id) == nil {
				mu.Lock()
				won++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("%d reservations of one name succeeded; want 1", won)
	}
}

func TestNewIDAndShortID(t *testing.T) {
	id := newID()
	if !isID(id) {
		t.Fatalf("newID() = %q is not 64 hex characters", id)
	}
	if ShortID(id) != id[:12] {
		t.Errorf("ShortID = %q", ShortID(id))
	}
}

func TestRemoveOrphans(t *testing.T) {
	r := New(Options{Root: t.TempDir(), RunRoot: t.TempDir()})
	kept := strings.Repeat("a", 64)
	addRecord(t, r, kept, "kept")
	old := strings.Repeat("b", 64)
	young := strings.Repeat("c", 64)
	for _, id := range []string{old, young} {
		if err := os.MkdirAll(filepath.Join(r.containerDir(id), "upper"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(r.containerDir(old), past, past); err != nil {
		t.Fatal(err)
	}
	n, err := r.RemoveOrphans(time.Minute)
	if err != nil || n != 1 {
		t.Fatalf("RemoveOrphans = %d, %v; want 1", n, err)
	}
	for id, want := range map[string]bool{kept: true, old: false, young: true} {
		if _, err := os.Stat(r.containerDir(id)); (err == nil) != want {
			t.Errorf("%s exists = %v; want %v", id[:1], err == nil, want)
		}
	}
}
