package local

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/volumes"
)

// fakeMounts stands in for the kernel's mount table.
type fakeMounts struct {
	mu      sync.Mutex
	mounted map[string]mountSpec
	mounts  int // mount calls
	stuck   bool
	fail    error
}

func (f *fakeMounts) system() system {
	return system{
		mount: func(_ context.Context, s mountSpec, target string) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.fail != nil {
				return f.fail
			}
			f.mounts++
			f.mounted[target] = s
			return nil
		},
		unmount: func(target string) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			if !f.stuck {
				delete(f.mounted, target)
			}
			return nil
		},
		mounted: func(path string) (bool, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			_, ok := f.mounted[path]
			return ok, nil
		},
		mountsUnder: func(dir string) ([]string, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			var out []string
			for p := range f.mounted {
				if p == dir || strings.HasPrefix(p, dir+"/") {
					out = append(out, p)
				}
			}
			return out, nil
		},
	}
}

func newTestManager(t *testing.T) (*Manager, *fakeMounts) {
	t.Helper()
	m, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeMounts{mounted: map[string]mountSpec{}}
	m.sys = f.system()
	return m, f
}

// onDisk reads a volume's record file as another process would.
func onDisk(t *testing.T, m *Manager, name string) Record {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(m.dir, name, "volume.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCreateLayoutAndDefaults(t *testing.T) {
	m, _ := newTestManager(t)
	v, err := m.Create(t.Context(), volumes.Config{Name: "data", Labels: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	want := volumes.Volume{
		Name:       "data",
		Mountpoint: filepath.Join(m.dir, "data", "_data"),
		Config:     volumes.Config{Name: "data", Driver: "local", Labels: map[string]string{"a": "b"}},
	}
	if d := cmp.Diff(want, v); d != "" {
		t.Errorf("volume (-want +got):\n%s", d)
	}
	if fi, err := os.Stat(v.Mountpoint); err != nil || !fi.IsDir() {
		t.Errorf("mount point: %v", err)
	}
	r := onDisk(t, m, "data")
	if r.Name != "data" || r.Driver != "local" || r.CreatedAt.IsZero() || r.Anonymous() {
		t.Errorf("record %+v", r)
	}
}

func TestCreateAnonymous(t *testing.T) {
	m, _ := newTestManager(t)
	v, err := m.Create(t.Context(), volumes.Config{Labels: map[string]string{"x": "y"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Name) != 64 {
		t.Errorf("name %q, want 64 hex digits", v.Name)
	}
	want := map[string]string{"x": "y", AnonymousLabel: ""}
	if d := cmp.Diff(want, v.Config.Labels); d != "" {
		t.Errorf("labels (-want +got):\n%s", d)
	}
	if r, _ := m.Inspect(t.Context(), v.Name); !r.Anonymous() {
		t.Error("record not anonymous")
	}
}

func TestCreateInvalid(t *testing.T) {
	tests := []volumes.Config{
		{Name: "../escape"},
		{Name: "x"},
		{Name: "data", Driver: "nfs"},
		{Name: "data", Options: map[string]string{"type": "tmpfs"}},
	}
	for _, cfg := range tests {
		m, _ := newTestManager(t)
		if _, err := m.Create(t.Context(), cfg); !errdefs.IsInvalidArgument(err) {
			t.Errorf("create %+v: %v, want ErrInvalidArgument", cfg, err)
		}
		if rs, _ := m.Records(t.Context()); len(rs) != 0 {
			t.Errorf("create %+v left %v", cfg, rs)
		}
	}
}

func TestCreateExistingKeepsLabels(t *testing.T) {
	m, _ := newTestManager(t)
	opts := map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}
	if _, err := m.Create(t.Context(), volumes.Config{Name: "tv", Options: opts, Labels: map[string]string{"v": "1"}}); err != nil {
		t.Fatal(err)
	}
	v, err := m.Create(t.Context(), volumes.Config{Name: "tv", Driver: "local", Options: opts, Labels: map[string]string{"v": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	if v.Config.Labels["v"] != "1" {
		t.Errorf("labels %v, want the existing volume's", v.Config.Labels)
	}
	_, err = m.Create(t.Context(), volumes.Config{Name: "tv", Options: map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=2m"}})
	if !errdefs.IsAlreadyExists(err) {
		t.Errorf("create with other o: %v, want ErrAlreadyExists", err)
	}
}

func TestRefcountRecords(t *testing.T) {
	ctx := t.Context()
	m, _ := newTestManager(t)
	// Mount creates the volume on first use.
	for _, id := range []string{"c2", "c1", "c2"} {
		p, err := m.Mount(ctx, "shared", id)
		if err != nil {
			t.Fatalf("mount by %s: %v", id, err)
		}
		if p != filepath.Join(m.dir, "shared", "_data") {
			t.Errorf("host path %s", p)
		}
	}
	if got := onDisk(t, m, "shared").Users; !slices.Equal(got, []string{"c1", "c2"}) {
		t.Errorf("users on disk = %v, want [c1 c2]", got)
	}

	err := m.Remove(ctx, "shared", true)
	var inUse *InUseError
	if !errors.As(err, &inUse) || !errdefs.IsFailedPrecondition(err) {
		t.Fatalf("remove in use: %v, want *InUseError", err)
	}
	if want := "remove shared: volume is in use - [c1, c2]"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}

	for _, id := range []string{"c1", "c1", "nobody"} {
		if err := m.Unmount(ctx, "shared", id); err != nil {
			t.Fatalf("unmount %s: %v", id, err)
		}
	}
	if got := onDisk(t, m, "shared").Users; !slices.Equal(got, []string{"c2"}) {
		t.Errorf("users on disk = %v, want [c2]", got)
	}
	if err := m.Unmount(ctx, "shared", "c2"); err != nil {
		t.Fatal(err)
	}
	if err := m.Unmount(ctx, "never-created", "c2"); err != nil {
		t.Errorf("unmount of an unknown volume: %v, want nil", err)
	}
	if err := m.Remove(ctx, "shared", false); err != nil {
		t.Fatalf("remove unused: %v", err)
	}
	if _, err := os.Stat(filepath.Join(m.dir, "shared")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("volume directory left: %v", err)
	}
	if _, err := m.Mount(ctx, "bad/name", "c1"); !errdefs.IsInvalidArgument(err) {
		t.Errorf("mount of an invalid name: %v, want ErrInvalidArgument", err)
	}
	if _, err := m.Mount(ctx, "data", ""); !errdefs.IsInvalidArgument(err) {
		t.Errorf("mount without container: %v, want ErrInvalidArgument", err)
	}
}

func TestOptionsMountedByFirstUserOnly(t *testing.T) {
	ctx := t.Context()
	m, f := newTestManager(t)
	opts := map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=100m,uid=1000"}
	v, err := m.Create(ctx, volumes.Config{Name: "scratch", Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.mounted) != 0 {
		t.Fatal("create mounted the volume; Docker mounts at first use")
	}
	for _, id := range []string{"a", "b"} {
		if _, err := m.Mount(ctx, "scratch", id); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]mountSpec{v.Mountpoint: {Type: "tmpfs", Device: "tmpfs", Options: "size=100m,uid=1000"}}
	if d := cmp.Diff(want, f.mounted); d != "" || f.mounts != 1 {
		t.Errorf("after two users, %d mounts (-want +got):\n%s", f.mounts, d)
	}
	if err := m.Unmount(ctx, "scratch", "a"); err != nil {
		t.Fatal(err)
	}
	if len(f.mounted) != 1 {
		t.Error("unmounted while a user remains")
	}
	if err := m.Unmount(ctx, "scratch", "b"); err != nil {
		t.Fatal(err)
	}
	if len(f.mounted) != 0 {
		t.Error("still mounted after the last user")
	}
}

func TestMountFailureRecordsNoUser(t *testing.T) {
	m, f := newTestManager(t)
	if _, err := m.Create(t.Context(), volumes.Config{Name: "nfs", Options: map[string]string{"type": "nfs", "device": ":/x", "o": "addr=192.0.2.1"}}); err != nil {
		t.Fatal(err)
	}
	f.fail = errors.New("connection refused")
	if _, err := m.Mount(t.Context(), "nfs", "c1"); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("mount: %v, want the mount error", err)
	}
	if users := onDisk(t, m, "nfs").Users; len(users) != 0 {
		t.Errorf("users %v after a failed mount", users)
	}
}

func TestRemoveNeverDeletesThroughAMount(t *testing.T) {
	ctx := t.Context()
	m, f := newTestManager(t)
	v, err := m.Create(ctx, volumes.Config{Name: "bound", Options: map[string]string{"type": "none", "device": "/srv", "o": "bind"}})
	if err != nil {
		t.Fatal(err)
	}
	// Left mounted by a crashed berth: no user, still mounted.
	f.mounted[v.Mountpoint] = mountSpec{}
	if err := os.WriteFile(filepath.Join(v.Mountpoint, "precious"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f.stuck = true
	if err := m.Remove(ctx, "bound", false); err == nil || !strings.Contains(err.Error(), "still mounted") {
		t.Fatalf("remove with a stuck mount: %v, want an error", err)
	}
	if _, err := os.Stat(filepath.Join(v.Mountpoint, "precious")); err != nil {
		t.Fatalf("data behind the mount deleted: %v", err)
	}
	// Force forgets the volume, still without deleting its data.
	if err := m.Remove(ctx, "bound", true); err != nil {
		t.Fatalf("forced remove: %v", err)
	}
	if _, err := m.Inspect(ctx, "bound"); !errdefs.IsNotFound(err) {
		t.Errorf("inspect after forced remove: %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(filepath.Join(v.Mountpoint, "precious")); err != nil {
		t.Fatalf("data behind the mount deleted: %v", err)
	}
	f.stuck = false
	if err := m.Remove(ctx, "bound", false); !errdefs.IsNotFound(err) {
		t.Errorf("remove after purge: %v, want ErrNotFound", err)
	}
}

func TestRecordsSkipLeftovers(t *testing.T) {
	m, _ := newTestManager(t)
	if _, err := m.Create(t.Context(), volumes.Config{Name: "real"}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{".trash-123/x", "half-created/_data"} {
		if err := os.MkdirAll(filepath.Join(m.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := m.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0].Name != "real" {
		t.Errorf("list = %+v, want only real", vs)
	}
	// A half-created volume is created again over its directory.
	if _, err := m.Create(t.Context(), volumes.Config{Name: "half-created"}); err != nil {
		t.Errorf("create over a half-created volume: %v", err)
	}
}

func TestPrune(t *testing.T) {
	ctx := t.Context()
	m, _ := newTestManager(t)
	anon, err := m.Create(ctx, volumes.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(anon.Mountpoint, "f"), make([]byte, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(ctx, volumes.Config{Name: "named"}); err != nil {
		t.Fatal(err)
	}
	used, err := m.Create(ctx, volumes.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Mount(ctx, used.Name, "c1"); err != nil {
		t.Fatal(err)
	}
	removed, size, err := m.Prune(ctx, Record.Anonymous)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(removed, []string{anon.Name}) || size != 1000 {
		t.Errorf("pruned %v (%d bytes), want [%s] (1000 bytes)", removed, size, anon.Name)
	}
	removed, _, err = m.Prune(ctx, func(Record) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(removed, []string{"named"}) {
		t.Errorf("pruned %v, want [named]: a used volume is never pruned", removed)
	}
}

// TestConcurrentMounts checks the lock: every user of racing Mounts is
// recorded, as if each were its own berth process.
func TestConcurrentMounts(t *testing.T) {
	m, _ := newTestManager(t)
	var wg sync.WaitGroup
	ids := []string{"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7"}
	for _, id := range ids {
		wg.Go(func() {
			// A manager per goroutine: separate lock file descriptors.
			m2 := &Manager{dir: m.dir, sys: m.sys}
			if _, err := m2.Mount(t.Context(), "shared", id); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := onDisk(t, m, "shared").Users; !slices.Equal(got, ids) {
		t.Errorf("users = %v, want %v", got, ids)
	}
}
