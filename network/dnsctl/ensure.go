// Package dnsctl starts and reloads berth's DNS server process (package
// network/dns, run as the hidden `berth dns-serve`) from the commands that
// attach containers, without linking the server and its DNS library.
//
// The server's directory holds:
//
//	lock        held by the running server
//	start.lock  held while a server is being started
//	pid         the running server's pid
//	ready       the time (ns) it last read the records
//	log         its output
package dnsctl

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/flock"
)

// Ensure makes sure a server for dir runs and has read the records as they
// are now: it starts argv (berth's hidden `dns-serve`, detached in its own
// session) when no server holds the lock, or sends the running one SIGHUP,
// then waits up to a second for the server's ready stamp to be newer than
// the call. A container started after Ensure returns finds its names.
//
// Concurrent calls (the containers of a stack's first `up` attaching at
// once, in one process or several) start one server: the check and the
// start happen under dir/start.lock, held until the new server holds its
// own lock (its pid file names it) or has exited.
func Ensure(ctx context.Context, dir string, argv []string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	start := time.Now()
	if err := startOnce(ctx, dir, argv); err != nil {
		return err
	}
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(filepath.Join(dir, "ready")); err == nil {
			if ns, err := strconv.ParseInt(string(b), 10, 64); err == nil && ns >= start.UnixNano() {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil // a slow server still answers within its next poll
}

// startOnce starts a server unless one runs, or asks the running one to
// reload (SIGHUP), under the start lock.
func startOnce(ctx context.Context, dir string, argv []string) error {
	slk, err := flock.Acquire(ctx, filepath.Join(dir, "start.lock"))
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	defer slk.Unlock()
	lk, err := flock.TryAcquire(filepath.Join(dir, "lock"))
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	if lk == nil { // a server holds it
		if pid := readPid(dir); pid > 0 && isServer(pid) {
			_ = syscall.Kill(pid, syscall.SIGHUP)
		}
		return nil
	}
	lk.Unlock()
	cmd, exited, err := spawn(dir, argv)
	if err != nil {
		return err
	}
	// Until the server holds its lock, another Ensure would find it free
	// and start a second one; waiting on the lock itself would race the
	// server for it, so wait for its pid file.
	deadline := time.Now().Add(2 * time.Second)
	for readPid(dir) != cmd.Process.Pid && time.Now().Before(deadline) {
		select {
		case <-exited: // lost the lock to a server of another process, or failed
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	return nil
}

// spawn starts the server detached; exited is closed when it ends (it is
// reaped if this process lives on).
func spawn(dir string, argv []string) (*exec.Cmd, <-chan struct{}, error) {
	logf, err := os.OpenFile(filepath.Join(dir, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("dns: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("dns: start server: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	return cmd, exited, nil
}

func readPid(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// isServer checks that pid is a DNS server, not a process that reused the
// pid of one killed without removing its pid file.
func isServer(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && strings.Contains(string(b), "dns-serve")
}
