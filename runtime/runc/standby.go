package runc

import (
	"errors"
	"os"
	"os/exec"
	"syscall"

	"github.com/berth-dev/berth/runtime/runc/monitor"
)

// A standby is a monitor started before its container is ready: `run`
// starts one as it begins, so that the monitor's own start (a process and
// a Go runtime, ~5 ms here) happens while the container is created rather
// than after. It waits on its go pipe for the run directory of the
// container to monitor; if the CLI ends without one, the pipe closes and
// the standby exits having done nothing.
type standby struct {
	path     string // its binary: a start uses it only if that is still the monitor
	cmd      *exec.Cmd
	syncR    *os.File // its report, as spawnMonitor's sync pipe
	goW      *os.File // the run directory goes here
	pid      int
	pidStart uint64
}

// PrepareMonitor starts a standby monitor that the next start of a
// container by this Runtime takes over. It is best effort: without one, a
// start spawns its monitor itself. DropMonitor ends one left unused.
func (r *Runtime) PrepareMonitor() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.standby != nil {
		return
	}
	mon, err := r.monitorPath()
	if err != nil {
		return
	}
	syncR, syncW, err := os.Pipe()
	if err != nil {
		return
	}
	goR, goW, err := os.Pipe()
	if err != nil {
		syncR.Close()
		syncW.Close()
		return
	}
	cmd := monitorCommand(mon, monitor.StandbyArg)
	cmd.ExtraFiles = []*os.File{syncW, goR}
	err = cmd.Start()
	syncW.Close()
	goR.Close()
	if err != nil {
		syncR.Close()
		goW.Close()
		return
	}
	go func() { _ = cmd.Wait() }() // reap it if it exits while we live
	sb := &standby{path: mon, cmd: cmd, syncR: syncR, goW: goW, pid: cmd.Process.Pid}
	sb.pidStart, _ = monitor.StartTime(sb.pid)
	r.standby = sb
}

// DropMonitor ends the standby monitor if no start took it.
func (r *Runtime) DropMonitor() {
	if sb := r.takeStandby(""); sb != nil {
		sb.drop()
	}
}

// takeStandby hands the standby monitor over if it runs mon ("": any).
func (r *Runtime) takeStandby(mon string) *standby {
	r.mu.Lock()
	defer r.mu.Unlock()
	sb := r.standby
	if sb == nil || (mon != "" && sb.path != mon) {
		return nil
	}
	r.standby = nil
	return sb
}

// drop closes the go pipe unused: the standby exits.
func (sb *standby) drop() {
	sb.goW.Close()
	sb.syncR.Close()
}

// launch tells the standby which container it monitors; it then runs as a
// monitor spawned for it would.
func (sb *standby) launch(runDir string) error {
	_, err := sb.goW.WriteString(runDir + "\n")
	if cerr := sb.goW.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		sb.syncR.Close()
		return errors.Join(errors.New("standby monitor gone"), err)
	}
	return nil
}

// monitorCommand is the monitor's command line: in its own session, with
// its stdio on /dev/null, so that it survives the CLI and its terminal.
func monitorCommand(mon string, args ...string) *exec.Cmd {
	cmd := exec.Command(mon, args...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "GOMAXPROCS=1"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd
}
