package ocispec

import "syscall"

// probeX32 makes one x32 system call, getpid with the x32 bit set: a kernel
// without the x32 ABI answers ENOSYS.
func probeX32() bool {
	const x32Bit = 0x40000000
	_, _, errno := syscall.RawSyscall(x32Bit|syscall.SYS_GETPID, 0, 0, 0)
	return errno == syscall.ENOSYS
}
