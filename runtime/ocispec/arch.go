package ocispec

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// x32Refused reports whether this kernel refuses x32 system calls (most
// distribution kernels build the x32 ABI but leave it off, syscall.x32=n).
// Set by tests.
var x32Refused = sync.OnceValue(probeX32)

// AnnotationX86LeftOut marks a spec whose default seccomp profile left x86
// out because the kernel that made it refused 32-bit programs: a start on a
// kernel that runs them (after a reboot, on another host) puts it back
// (RestoreX86), for the spec is made once, at create.
const AnnotationX86LeftOut = "dev.berth.seccomp.x86-left-out"

// RestoreX86 puts the x86 architecture back into the seccomp profile of a
// spec (config.json's content) marked with AnnotationX86LeftOut, making it
// Docker's profile again, and drops the mark.
func RestoreX86(config []byte) ([]byte, error) {
	var s specs.Spec
	if err := json.Unmarshal(config, &s); err != nil {
		return nil, fmt.Errorf("restore x86 in the seccomp profile: %w", err)
	}
	if _, ok := s.Annotations[AnnotationX86LeftOut]; !ok || s.Linux == nil || s.Linux.Seccomp == nil {
		return config, nil
	}
	delete(s.Annotations, AnnotationX86LeftOut)
	if i := slices.Index(s.Linux.Seccomp.Architectures, specs.ArchX86_64); i >= 0 && !slices.Contains(s.Linux.Seccomp.Architectures, specs.ArchX86) {
		s.Linux.Seccomp.Architectures = slices.Insert(s.Linux.Seccomp.Architectures, i+1, specs.ArchX86)
	}
	out, err := json.Marshal(&s)
	if err != nil {
		return nil, fmt.Errorf("restore x86 in the seccomp profile: %w", err)
	}
	return append(out, '\n'), nil
}

// dropRefusedArches takes out of the default profile the architectures
// whose system calls the kernel refuses before any filter sees them: the
// filter's rules for them can never apply, and the runtime compiles each
// architecture's rules at every start (x32 cost runc ~8 ms of ~100, x86,
// with its socketcall multiplexing, ~12). ia32Refused is the caller's
// probe (Options.IA32Refused). It reports whether it left x86 out.
func dropRefusedArches(p *specs.LinuxSeccomp, ia32Refused bool) (x86LeftOut bool) {
	x32 := x32Refused()
	p.Architectures = slices.DeleteFunc(p.Architectures, func(a specs.Arch) bool {
		if a == specs.ArchX86 && ia32Refused {
			x86LeftOut = true
			return true
		}
		return a == specs.ArchX32 && x32
	})
	return x86LeftOut
}
