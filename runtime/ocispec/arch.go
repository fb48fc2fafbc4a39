package ocispec

import (
	"slices"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// x32Refused reports whether this kernel refuses x32 system calls (most
// distribution kernels build the x32 ABI but leave it off, syscall.x32=n).
// Set by tests.
var x32Refused = sync.OnceValue(probeX32)

// dropRefusedArches takes out of the default profile the architectures
// whose system calls the kernel refuses before any filter sees them: the
// filter's rules for them can never apply, and the runtime compiles each
// architecture's rules at every start (x32 cost runc ~8 ms of ~100, x86,
// with its socketcall multiplexing, ~12). ia32Refused is the caller's
// probe (Options.IA32Refused).
func dropRefusedArches(p *specs.LinuxSeccomp, ia32Refused bool) {
	x32 := x32Refused()
	p.Architectures = slices.DeleteFunc(p.Architectures, func(a specs.Arch) bool {
		return (a == specs.ArchX32 && x32) || (a == specs.ArchX86 && ia32Refused)
	})
}
