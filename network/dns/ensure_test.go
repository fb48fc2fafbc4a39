package dns_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/network/cni"
	"github.com/berth-dev/berth/network/dns"
	"github.com/berth-dev/berth/network/dnsctl"
)

// serveEnv makes the test binary a DNS server (the child Ensure starts):
// it notes its start in <dir>/starts and serves dir, with no networks, so
// it listens nowhere and needs no root.
const serveEnv = "BERTH_DNS_TEST_SERVE"

func TestMain(m *testing.M) {
	if dir := os.Getenv(serveEnv); dir != "" {
		f, err := os.OpenFile(filepath.Join(dir, "starts"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err == nil {
			_, _ = f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
			f.Close()
		}
		ctx, stop := context.WithTimeout(context.Background(), 20*time.Second)
		defer stop()
		mgr := cni.New(cni.Options{Root: filepath.Join(dir, "root"), RunRoot: filepath.Join(dir, "run")})
		err = dns.Serve(ctx, dns.Options{Manager: mgr, Dir: dir, Upstreams: []string{"127.0.0.1:1"},
			Poll: 20 * time.Millisecond, Linger: 5 * time.Second})
		if err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Concurrent Ensure calls, as the containers of a stack's first up attach
// at once, start one server, and every call returns once it is ready.
func TestEnsureStartsOneServer(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(serveEnv, dir)
	// dns-serve's argv: the test binary, running no test, is the server.
	argv := []string{os.Args[0], "-test.run=^$", "dns-serve"}
	t.Cleanup(func() { stopServers(t, dir) })
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- dnsctl.Ensure(t.Context(), dir, argv) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// One more, after: the running server is asked to reload, not a new one.
	if err := dnsctl.Ensure(t.Context(), dir, argv); err != nil {
		t.Fatal(err)
	}
	if starts := serverStarts(dir); len(starts) != 1 {
		t.Errorf("%d servers started (pids %v), want 1", len(starts), starts)
	}
	b, err := os.ReadFile(filepath.Join(dir, "ready"))
	if err != nil || len(b) == 0 {
		t.Errorf("no ready stamp: %v", err)
	}
}

func serverStarts(dir string) []string {
	b, _ := os.ReadFile(filepath.Join(dir, "starts"))
	return strings.Fields(string(b))
}

// stopServers ends every server the test started and waits for them.
func stopServers(t *testing.T, dir string) {
	for _, p := range serverStarts(dir) {
		pid, _ := strconv.Atoi(p)
		if pid <= 0 {
			continue
		}
		_ = syscall.Kill(pid, syscall.SIGTERM)
		for i := 0; i < 200 && syscall.Kill(pid, 0) == nil; i++ {
			time.Sleep(10 * time.Millisecond)
		}
		if syscall.Kill(pid, 0) == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("server %d did not stop on SIGTERM", pid)
		}
	}
}
