package monitor

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// initMain runs as a container's PID 1 for --init: it starts the command,
// forwards every signal it gets to it, reaps every zombie, and exits with
// the command's status.
func initMain(args []string) int {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		os.Stderr.WriteString("berth-init: no command\n")
		return 2
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		os.Stderr.WriteString("berth-init: " + err.Error() + "\n")
		if errors.Is(err, exec.ErrNotFound) {
			return 127
		}
		return 126
	}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs)
	p, err := os.StartProcess(path, args, &os.ProcAttr{
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
		Sys:   &syscall.SysProcAttr{Setpgid: false},
	})
	if err != nil {
		os.Stderr.WriteString("berth-init: " + err.Error() + "\n")
		return 126
	}
	go func() {
		for s := range sigs {
			sig := s.(syscall.Signal)
			if sig == unix.SIGCHLD || sig == unix.SIGURG || sig == unix.SIGPIPE {
				continue
			}
			_ = unix.Kill(p.Pid, sig)
		}
	}()
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return 255
		}
		if pid == p.Pid {
			return exitCode(ws.Exited(), ws.ExitStatus(), ws.Signaled(), int(ws.Signal()))
		}
	}
}
