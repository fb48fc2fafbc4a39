//go:build linux && !(amd64 || arm64)

package monitor

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// spawner starts one program again and again with syscall.ForkExec, which
// allocates its C argv each time (spawn_linux.go has the allocation-free
// one, for amd64 and arm64). nofile is ForkExec's to restore here.
type spawner struct {
	path string
	argv []string
	attr *syscall.ProcAttr
}

func newSpawner(path string, args, env []string, null uintptr, _ *unix.Rlimit) (*spawner, error) {
	return &spawner{path: path, argv: args, attr: &syscall.ProcAttr{Env: env, Files: []uintptr{null, null, null}}}, nil
}

func (s *spawner) start() (int, error) { return syscall.ForkExec(s.path, s.argv, s.attr) }

// spawnAllocates is how many allocations a start makes (tests).
const spawnAllocates = 4
