package local

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/volumes"
)

func TestRecordDiskUsage(t *testing.T) {
	m, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(t.Context(), volumes.Config{Name: "vol"}); err != nil {
		t.Fatal(err)
	}
	r, err := m.Inspect(t.Context(), "vol")
	if err != nil {
		t.Fatal(err)
	}
	if got := r.DiskUsage(); got != 0 {
		t.Errorf("empty volume: %d bytes", got)
	}
	f := filepath.Join(r.Mountpoint, "f")
	if err := os.WriteFile(f, make([]byte, 300), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(f, filepath.Join(r.Mountpoint, "hard")); err != nil {
		t.Fatal(err)
	}
	if got := r.DiskUsage(); got != 300 {
		t.Errorf("300 bytes, hard-linked twice: DiskUsage %d; want 300 (each inode once)", got)
	}
}
