package monitor

import (
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// The spawned program gets its stdio, environment and open files limit
// from the spawner, default signal actions, and an unblocked signal mask;
// starting it allocates nothing.
func TestSpawner(t *testing.T) {
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	nofile := &unix.Rlimit{Cur: min(512, lim.Max), Max: lim.Max}
	sp, err := newSpawner("/bin/sh", []string{"sh", "-c", `echo "$A $(ulimit -Sn)"; grep -E "^Sig(Blk|Ign)" /proc/self/status`},
		[]string{"A=a"}, out.Fd(), nofile)
	if err != nil {
		t.Fatal(err)
	}
	run := func() {
		pid, err := sp.start()
		if err != nil {
			t.Fatal(err)
		}
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil || ws.ExitStatus() != 0 {
			t.Fatalf("wait: %v, status %v", err, ws)
		}
	}
	run()
	data, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	got := string(data)
	for _, want := range []string{"a 512\n", "SigBlk:\t0000000000000000\n", "SigIgn:\t0000000000000000\n"} {
		if nofile.Cur == 512 && !strings.Contains(got, want) {
			t.Errorf("output %q; want %q in it", got, want)
		}
	}
	if n := testing.AllocsPerRun(5, run); n != 0 && spawnAllocates == 0 {
		t.Errorf("a start allocates %v times; want 0", n)
	}
}
