package runc

import (
	"strconv"
)

// The argument lists of the OCI runtime's commands, pure so that they are
// table-tested; global flags come first, as runc requires.

func globalArgs(root string) []string {
	if root == "" {
		return nil
	}
	return []string{"--root", root}
}

func killArgs(root, id, signal string, all bool) []string {
	a := append(globalArgs(root), "kill")
	if all {
		a = append(a, "--all")
	}
	return append(a, id, signal)
}

func deleteArgs(root, id string, force bool) []string {
	a := append(globalArgs(root), "delete")
	if force {
		a = append(a, "--force")
	}
	return append(a, id)
}

func stateArgs(root, id string) []string  { return append(globalArgs(root), "state", id) }
func pauseArgs(root, id string) []string  { return append(globalArgs(root), "pause", id) }
func resumeArgs(root, id string) []string { return append(globalArgs(root), "resume", id) }

func psArgs(root, id string, psArgs []string) []string {
	// runc stops parsing its own flags at the container ID: what follows
	// goes to ps(1) as is.
	return append(append(globalArgs(root), "ps", id), psArgs...)
}

// execSpec is one `runtime exec` call.
type execSpec struct {
	ID      string
	Args    []string
	Env     []string
	Cwd     string
	User    string // uid:gid, already resolved
	Tty     bool
	Detach  bool
	Caps    []string // added capabilities (--privileged: all the host allows)
	PidFile string
}

func execArgs(root string, e execSpec) []string {
	a := append(globalArgs(root), "exec")
	if e.Tty {
		a = append(a, "--tty")
	}
	if e.Detach {
		a = append(a, "--detach")
	}
	if e.PidFile != "" {
		a = append(a, "--pid-file", e.PidFile)
	}
	if e.Cwd != "" {
		a = append(a, "--cwd", e.Cwd)
	}
	if e.User != "" {
		a = append(a, "--user", e.User)
	}
	for _, env := range e.Env {
		a = append(a, "--env", env)
	}
	for _, c := range e.Caps {
		a = append(a, "--cap", c)
	}
	a = append(a, e.ID)
	return append(a, e.Args...)
}

// updateSpec is one `runtime update` call; zero fields are left alone.
type updateSpec struct {
	Memory      int64
	MemorySwap  int64
	CPUQuota    int64
	CPUPeriod   uint64
	CPUShares   int64
	PidsLimit   int64
	CpusetCpus  string
	Reservation int64
}

func updateArgs(root, id string, u updateSpec) []string {
	a := append(globalArgs(root), "update")
	i := func(flag string, v int64) {
		if v != 0 {
			a = append(a, flag, strconv.FormatInt(v, 10))
		}
	}
	i("--memory", u.Memory)
	i("--memory-swap", u.MemorySwap)
	i("--memory-reservation", u.Reservation)
	i("--cpu-quota", u.CPUQuota)
	if u.CPUPeriod != 0 {
		a = append(a, "--cpu-period", strconv.FormatUint(u.CPUPeriod, 10))
	}
	i("--cpu-share", u.CPUShares)
	i("--pids-limit", u.PidsLimit)
	if u.CpusetCpus != "" {
		a = append(a, "--cpuset-cpus", u.CpusetCpus)
	}
	return append(a, id)
}
