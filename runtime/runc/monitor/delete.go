package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// deleteExited removes what the runtime keeps of the container once its
// init has exited: its cgroups and its state directory. For runc, whose
// state is <root>/<id>/state.json naming the cgroups, it does this itself:
// `runc delete` of a stopped container does no more, and its exec costs
// ~40 ms of CPU here, the better part of what stopping a container costs.
// Anything unexpected (another runtime, no root, a cgroup that stays
// busy) falls back to `runtime delete --force`.
func (m *monitor) deleteExited(ctx context.Context) {
	if !m.deleteRuncState() {
		_, _ = m.runtime(ctx, "delete", "--force", m.cfg.ID)
	}
}

func (m *monitor) deleteRuncState() bool {
	cfg := &m.cfg
	if filepath.Base(cfg.Runtime) != "runc" || cfg.RuntimeRoot == "" {
		return false
	}
	dir := filepath.Join(cfg.RuntimeRoot, cfg.ID)
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return errors.Is(err, os.ErrNotExist) && !exists(dir)
	}
	var st struct {
		ID          string            `json:"id"`
		CgroupPaths map[string]string `json:"cgroup_paths"`
	}
	if err := json.Unmarshal(data, &st); err != nil || st.ID != cfg.ID {
		return false
	}
	for _, p := range st.CgroupPaths {
		if !removeCgroup(p) {
			return false
		}
	}
	return os.RemoveAll(dir) == nil
}

// removeCgroup removes an empty cgroup directory, waiting briefly while the
// kernel tears down the container's last processes (the PID namespace dies
// with its init, but not in the same instant).
func removeCgroup(p string) bool {
	if p == "" || !filepath.IsAbs(p) || filepath.Clean(p) != p {
		return false
	}
	deadline := time.Now().Add(time.Second)
	for {
		err := syscall.Rmdir(p)
		switch {
		case err == nil, errors.Is(err, syscall.ENOENT):
			return true
		case !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline):
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
