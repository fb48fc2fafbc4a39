package hostresolv

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPathAndRead(t *testing.T) {
	t.Setenv(Env, "")
	if Path() != "/etc/resolv.conf" || Sandboxed() {
		t.Fatalf("unset: Path() = %q, Sandboxed() = %v", Path(), Sandboxed())
	}
	f := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(f, []byte("nameserver 127.0.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(Env, f)
	if Path() != f || !Sandboxed() || string(Read()) != "nameserver 127.0.0.1\n" {
		t.Fatalf("set: Path() = %q, Sandboxed() = %v, Read() = %q", Path(), Sandboxed(), Read())
	}
	t.Setenv(Env, filepath.Join(t.TempDir(), "missing"))
	if len(Read()) != 0 {
		t.Fatal("a missing file reads as empty")
	}
}
