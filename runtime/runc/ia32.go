package runc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/atomicfile"
)

// ia32File caches, in the run root, whether the kernel runs 32-bit x86
// programs: "<boot id> refused" or "<boot id> runs".
const ia32File = "ia32"

// ia32Refused reports whether this kernel refuses 32-bit x86 programs:
// ia32 emulation built out, turned off (ia32_emulation=0) or missing, as
// in some virtual machines. Then the default seccomp profile leaves the x86
// architecture out (ocispec.Options.IA32Refused). The probe starts a
// process, so its answer is kept in the run root; any doubt keeps x86.
func (r *Runtime) ia32Refused() bool {
	r.ia32Once.Do(func() { r.ia32 = r.probeIA32() })
	return r.ia32
}

func (r *Runtime) probeIA32() bool {
	if goruntime.GOARCH != "amd64" {
		return false
	}
	// The answer is for this boot: a run root that is no tmpfs outlives
	// it, and the next kernel may answer otherwise.
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	path := filepath.Join(r.opts.RunRoot, ia32File)
	if b, err := os.ReadFile(path); err == nil {
		if id, answer, ok := strings.Cut(string(b), " "); ok && len(boot) > 0 && id == strings.TrimSpace(string(boot)) {
			switch answer {
			case "refused\n":
				return true
			case "runs\n":
				return false
			}
		}
	}
	refused, err := runsIA32()
	if err != nil {
		return false // not known: keep the architecture, and ask again
	}
	answer := "runs\n"
	if refused {
		answer = "refused\n"
	}
	if len(boot) > 0 && os.MkdirAll(r.opts.RunRoot, 0o700) == nil {
		_ = atomicfile.Replace(path, []byte(strings.TrimSpace(string(boot))+" "+answer), 0o644)
	}
	return refused
}

// runsIA32 execs a minimal 32-bit x86 program (it exits 0) from a memfd:
// refused is true when the kernel answers that it cannot run it (ENOEXEC).
func runsIA32() (refused bool, err error) {
	fd, err := unix.MemfdCreate("berth-ia32-probe", unix.MFD_CLOEXEC)
	if err != nil {
		return false, err
	}
	f := os.NewFile(uintptr(fd), "berth-ia32-probe")
	defer f.Close()
	if _, err := f.Write(buildIA32Exit0()); err != nil {
		return false, err
	}
	cmd := exec.Command(fmt.Sprintf("/proc/self/fd/%d", fd))
	err = cmd.Run()
	if errors.Is(err, syscall.ENOEXEC) {
		return true, nil
	}
	return false, err
}

// buildIA32Exit0 is an i386 ELF executable of one segment whose code is
// exit(0) through int 0x80: an ELF header, a program header, 9 bytes.
func buildIA32Exit0() []byte {
	const (
		base   = 0x08048000
		ehsize = 52
		phsize = 32
	)
	code := []byte{
		0xb8, 0x01, 0x00, 0x00, 0x00, // mov eax, 1 (exit)
		0x31, 0xdb, // xor ebx, ebx
		0xcd, 0x80, // int 0x80
	}
	size := uint32(ehsize + phsize + len(code))
	b := make([]byte, 0, size)
	le := binary.LittleEndian
	b = append(b, 0x7f, 'E', 'L', 'F', 1 /* 32-bit */, 1 /* little-endian */, 1 /* version */)
	b = append(b, make([]byte, 9)...)          // the rest of e_ident
	b = le.AppendUint16(b, 2)                  // e_type: executable
	b = le.AppendUint16(b, 3)                  // e_machine: EM_386
	b = le.AppendUint32(b, 1)                  // e_version
	b = le.AppendUint32(b, base+ehsize+phsize) // e_entry: the code
	b = le.AppendUint32(b, ehsize)             // e_phoff
	b = le.AppendUint32(b, 0)                  // e_shoff
	b = le.AppendUint32(b, 0)                  // e_flags
	b = le.AppendUint16(b, ehsize)             // e_ehsize
	b = le.AppendUint16(b, phsize)             // e_phentsize
	b = le.AppendUint16(b, 1)                  // e_phnum
	b = le.AppendUint16(b, 0)                  // e_shentsize
	b = le.AppendUint16(b, 0)                  // e_shnum
	b = le.AppendUint16(b, 0)                  // e_shstrndx
	b = le.AppendUint32(b, 1)                  // p_type: PT_LOAD
	b = le.AppendUint32(b, 0)                  // p_offset
	b = le.AppendUint32(b, base)               // p_vaddr
	b = le.AppendUint32(b, base)               // p_paddr
	b = le.AppendUint32(b, size)               // p_filesz
	b = le.AppendUint32(b, size)               // p_memsz
	b = le.AppendUint32(b, 5)                  // p_flags: read, execute
	b = le.AppendUint32(b, 0x1000)             // p_align
	return append(b, code...)
}
