//go:build linux && (amd64 || arm64)

package monitor

import (
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// spawner starts one program, with fixed arguments and /dev/null as its
// stdio, again and again without allocating: the health loop starts a
// probe helper every interval for the container's life, and with
// syscall.ForkExec each start allocated its C argv and environment
// (~180 bytes), so the monitor's heap grew by that much a second at one
// probe a second until, an hour or so later, its first collection added
// the collector's metadata (~400 KiB) and its code pages to what an idle
// monitor costs. A monitor that allocates nothing never collects.
//
// It forks much as Go's own ForkExec did before it used vfork: all signals
// are blocked on this (locked) thread across the fork, and the child makes
// nothing but raw system calls until its exec (and must stay so: it runs
// with the runtime frozen as the fork found it). Unlike ForkExec it sets
// every signal, ignored ones too, back to the default, as a fresh exec
// would. A plain fork copies the page tables of a process of ~2.5 MiB, a
// fraction of a millisecond. Built for amd64 and arm64, whose clone,
// signal set and sigaction it was checked against; elsewhere
// spawn_other.go uses syscall.ForkExec.
type spawner struct {
	path   *byte
	argv   []*byte // nil-terminated
	envv   []*byte // nil-terminated
	null   uintptr // the stdio fd
	nofile *unix.Rlimit
}

// newSpawner prepares starts of path with args and env, /dev/null (null) as
// stdio and nofile as RLIMIT_NOFILE (nil: inherited). Go raises its own
// soft limit of open files at start and ForkExec puts the original back
// in children; the spawner cannot know that original, so the caller says.
func newSpawner(path string, args, env []string, null uintptr, nofile *unix.Rlimit) (*spawner, error) {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return nil, err
	}
	argv, err := syscall.SlicePtrFromStrings(args)
	if err != nil {
		return nil, err
	}
	envv, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return nil, err
	}
	return &spawner{path: p, argv: argv, envv: envv, null: null, nofile: nofile}, nil
}

// start forks and execs the program, returning the child's pid; its exit
// status is for the caller to reap. An exec that fails ends the child
// with status 127.
func (s *spawner) start() (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// No fd may be created without close-on-exec while we fork (what
	// syscall.ForkExec holds ForkLock for).
	syscall.ForkLock.Lock()
	defer syscall.ForkLock.Unlock()
	all, old := ^uint64(0), uint64(0)
	if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, _SIG_SETMASK,
		uintptr(unsafe.Pointer(&all)), uintptr(unsafe.Pointer(&old)), 8, 0, 0); e != 0 {
		return 0, e
	}
	pid, e := forkExecChild(s.path, &s.argv[0], &s.envv[0], s.null, s.nofile, &old)
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, _SIG_SETMASK, uintptr(unsafe.Pointer(&old)), 0, 8, 0, 0)
	runtime.KeepAlive(s)
	if e != 0 {
		return 0, e
	}
	return pid, nil
}

const _SIG_SETMASK = 2

// sigDefault is a struct sigaction of SIG_DFL, no flags and an empty mask
// (all zeros whatever the architecture's layout).
var sigDefault [4]uint64

// forkExecChild forks; the child puts null on fds 0-2, sets nofile (if not
// nil), sets every signal's action back to the default (the inherited ones
// are this runtime's handlers, and ignored signals would stay ignored
// across the exec), restores the signal mask and execs path. It returns
// the child's pid in the parent.
//
// The child runs on a copy of this goroutine's stack with the runtime
// frozen in whatever state the fork found it, so nothing here may grow
// the stack, allocate, or call into the runtime: nosplit, norace, raw
// system calls only.
//
//go:nosplit
//go:norace
func forkExecChild(path *byte, argv, envv **byte, null uintptr, nofile *unix.Rlimit, mask *uint64) (int, syscall.Errno) {
	r, _, e := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if e != 0 || r != 0 {
		return int(r), e // the parent
	}
	for fd := uintptr(0); fd < 3; fd++ {
		if fd == null {
			_, _, e = syscall.RawSyscall(syscall.SYS_FCNTL, fd, syscall.F_SETFD, 0) // keep it open across the exec
		} else {
			_, _, e = syscall.RawSyscall(syscall.SYS_DUP3, null, fd, 0)
		}
		if e != 0 {
			syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 127, 0, 0)
		}
	}
	if nofile != nil {
		syscall.RawSyscall6(syscall.SYS_PRLIMIT64, 0, syscall.RLIMIT_NOFILE, uintptr(unsafe.Pointer(nofile)), 0, 0, 0)
	}
	for sig := uintptr(1); sig <= 64; sig++ {
		if sig != uintptr(syscall.SIGKILL) && sig != uintptr(syscall.SIGSTOP) {
			syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, sig, uintptr(unsafe.Pointer(&sigDefault)), 0, 8, 0, 0)
		}
	}
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, _SIG_SETMASK, uintptr(unsafe.Pointer(mask)), 0, 8, 0, 0)
	syscall.RawSyscall(syscall.SYS_EXECVE, uintptr(unsafe.Pointer(path)), uintptr(unsafe.Pointer(argv)), uintptr(unsafe.Pointer(envv)))
	syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 127, 0, 0)
	return 0, 0
}

// spawnAllocates is how many allocations a start makes (tests).
const spawnAllocates = 0
