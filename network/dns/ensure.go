package dns

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
)

// Ensure makes sure a server for dir runs and has read the records as they
// are now: it starts argv (berth's hidden `dns-serve`, detached in its own
// session) when no server holds the lock, or sends the running one SIGHUP,
// then waits up to a second for the server's ready stamp to be newer than
// the call. A container started after Ensure returns finds its names.
func Ensure(ctx context.Context, dir string, argv []string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	start := time.Now()
	if lk, err := tryLock(filepath.Join(dir, "lock")); err == nil {
		lk.Unlock()
		if err := spawn(dir, argv); err != nil {
			return err
		}
	} else if pid := readPid(dir); pid > 0 && isServer(pid) {
		_ = syscall.Kill(pid, syscall.SIGHUP)
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

func spawn(dir string, argv []string) error {
	logf, err := os.OpenFile(filepath.Join(dir, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("dns: start server: %w", err)
	}
	go func() { _ = cmd.Wait() }() // reaped if this process lives on
	return nil
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
