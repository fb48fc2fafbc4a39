package monitor

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// StartTime returns the start time of pid in clock ticks since boot (field
// 22 of /proc/pid/stat), and whether the process exists and is not a zombie.
// A pid with the recorded start time is the same process, not a reused pid.
func StartTime(pid int) (uint64, bool) {
	fields, ok := statFields(pid)
	// fields[0] is field 3 (state); start time is field 22.
	if !ok || len(fields) < 20 || fields[0][0] == 'Z' || fields[0][0] == 'X' {
		return 0, false
	}
	t, err := strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return 0, false
	}
	return t, true
}

// statFields returns the fields of /proc/pid/stat after the command name
// (which is in parentheses and may contain spaces): field 3 (state) first.
func statFields(pid int) ([][]byte, bool) {
	if pid <= 0 {
		return nil, false
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, false
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return nil, false
	}
	return bytes.Fields(data[i+1:]), true
}

// Alive reports whether pid is still the process that started at start.
func Alive(pid int, start uint64) bool {
	t, ok := StartTime(pid)
	return ok && (start == 0 || t == start)
}

// ExitCode turns a wait status into a shell-style exit code: the status, or
// 128 plus the signal that killed the process.
func exitCode(exited bool, status int, signaled bool, sig int) int {
	switch {
	case exited:
		return status
	case signaled:
		return 128 + sig
	}
	return 255
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// Signal sends sig to the process pid started at start (0: any), through a
// pidfd so that a pid reused after the check is never hit. It reports
// false, sending nothing, when that process is gone or cannot be reached
// this way; the caller then falls back to the runtime.
func Signal(pid int, start uint64, sig syscall.Signal) bool {
	if pid <= 0 {
		return false
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	// The pidfd pins this process: if it is still the one that started at
	// start now, the signal below reaches it and no other.
	if !Alive(pid, start) {
		return false
	}
	return unix.PidfdSendSignal(fd, sig, nil, 0) == nil
}

// parentOf returns pid's parent pid (field 4 of /proc/PID/stat); ok is
// false once the process is gone.
func parentOf(pid int) (int, bool) {
	fields, ok := statFields(pid)
	if !ok || len(fields) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(string(fields[1]))
	return ppid, err == nil
}
