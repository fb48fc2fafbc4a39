package runc

import (
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
)

func TestIA32ProbeProgram(t *testing.T) {
	b := buildIA32Exit0()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if f.Class != elf.ELFCLASS32 || f.Machine != elf.EM_386 || f.Type != elf.ET_EXEC || len(f.Progs) != 1 {
		t.Fatalf("probe program: class %v machine %v type %v, %d segments", f.Class, f.Machine, f.Type, len(f.Progs))
	}
	p := f.Progs[0]
	if p.Type != elf.PT_LOAD || p.Filesz != uint64(len(b)) || f.Entry < p.Vaddr || f.Entry >= p.Vaddr+p.Filesz {
		t.Errorf("entry %#x outside the loaded segment %+v", f.Entry, p.ProgHeader)
	}
	if goruntime.GOARCH != "amd64" {
		return
	}
	// The kernel either runs it (and it exits 0) or refuses it as a
	// format it cannot execute; anything else is a broken probe.
	refused, err := runsIA32()
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	t.Logf("this kernel refuses 32-bit x86 programs: %v", refused)
}

func TestIA32AnswerKeptInRunRoot(t *testing.T) {
	if goruntime.GOARCH != "amd64" {
		t.Skip("only amd64 has the 32-bit x86 architecture beside it")
	}
	dir := t.TempDir()
	r := New(Options{Root: dir, RunRoot: filepath.Join(dir, "run")})
	probed := r.ia32Refused()
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		t.Skip("no boot id")
	}
	bootID := strings.TrimSpace(string(boot))
	b, err := os.ReadFile(filepath.Join(dir, "run", ia32File))
	if err != nil || string(b) != bootID+map[bool]string{true: " refused\n", false: " runs\n"}[probed] {
		t.Fatalf("kept answer %q (%v), probe said refused=%v", b, err, probed)
	}
	for _, tc := range []struct {
		kept string
		want bool
	}{
		{bootID + " refused\n", true},
		{bootID + " runs\n", false},
		{"another-boot refused\n", probed}, // probed again
		{"another-boot runs\n", probed},
		{"refused\n", probed}, // unreadable: probed again
	} {
		if err := os.WriteFile(filepath.Join(dir, "run", ia32File), []byte(tc.kept), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := New(Options{Root: dir, RunRoot: filepath.Join(dir, "run")}).ia32Refused(); got != tc.want {
			t.Errorf("kept %q: ia32Refused = %v, want %v", tc.kept, got, tc.want)
		}
	}
}
