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
// than after. Its command line is the monitor's, naming the container's
// run directory; it waits on its go pipe until the container is ready to
// start, and if the CLI ends before, the pipe closes and it exits having
// done nothing.
type standby struct {
	id       string   // the container it is for
	path     string   // its binary: a start uses it only if that is still the monitor
	syncR    *os.File // its report, as spawnMonitor's sync pipe
	goW      *os.File // "go" goes here
	pid      int
	pidStart uint64
}

// PrepareMonitor starts a standby monitor for the container that is to
// have the ID id (CreateOptions.ID), which the first start of that
// container takes over. It is best effort: without one, a start spawns the
// monitor itself. DropMonitor ends one left unused.
func (r *Runtime) PrepareMonitor(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.standby != nil || !isID(id) {
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
	cmd := monitorCommand(mon, r.runDir(id))
	cmd.Env = append(cmd.Env, monitor.StandbyEnv+"=1")
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
	sb := &standby{id: id, path: mon, syncR: syncR, goW: goW, pid: cmd.Process.Pid}
	sb.pidStart, _ = monitor.StartTime(sb.pid)
	r.standby = sb
}

// DropMonitor ends the standby monitor if no start took it.
func (r *Runtime) DropMonitor() {
	r.mu.Lock()
	sb := r.standby
	r.standby = nil
	r.mu.Unlock()
	if sb != nil {
		sb.drop()
	}
}

// takeStandby hands over the standby monitor of container id, if there
// is one and it runs mon.
func (r *Runtime) takeStandby(id, mon string) *standby {
	r.mu.Lock()
	defer r.mu.Unlock()
	sb := r.standby
	if sb == nil || sb.id != id || sb.path != mon {
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

// launch tells the standby that its container is ready to start; it then
// runs as a monitor spawned for it would.
func (sb *standby) launch() error {
	_, err := sb.goW.WriteString("go\n")
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
