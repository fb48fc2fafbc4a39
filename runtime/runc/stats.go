package runc

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Stats is one sample of a container's cgroup counters, from the OCI
// runtime's `events --stats` (which reads cgroup v1 and v2 alike).
type Stats struct {
	Time        time.Time
	CPUTotal    uint64 // nanoseconds of CPU time used
	MemoryUsage uint64 // bytes, without the page cache, as Docker shows it
	MemoryLimit uint64
	Pids        uint64
	BlockRead   uint64
	BlockWrite  uint64
	NetRx       uint64 // bytes received on every interface but loopback
	NetTx       uint64
}

type runcStats struct {
	Data struct {
		CPU struct {
			Usage struct {
				Total uint64 `json:"total"`
			} `json:"usage"`
		} `json:"cpu"`
		Memory struct {
			Cache uint64 `json:"cache"`
			Usage struct {
				Usage uint64 `json:"usage"`
				Limit uint64 `json:"limit"`
			} `json:"usage"`
			Raw map[string]uint64 `json:"raw"`
		} `json:"memory"`
		Pids struct {
			Current uint64 `json:"current"`
		} `json:"pids"`
		Blkio struct {
			IOServiceBytesRecursive []struct {
				Op    string `json:"op"`
				Value uint64 `json:"value"`
			} `json:"ioServiceBytesRecursive"`
		} `json:"blkio"`
	} `json:"data"`
}

// Stats samples a running container's resource usage.
func (r *Runtime) Stats(ctx context.Context, ref string) (Stats, error) {
	rec, st, err := r.State(ctx, ref)
	if err != nil {
		return Stats{}, err
	}
	if !isActive(st.Status) {
		return Stats{}, notRunning(rec)
	}
	out, err := r.runtime(ctx, append(globalArgs(r.opts.RuntimeRoot), "events", "--stats", rec.ID)...)
	if err != nil {
		return Stats{}, err
	}
	var rs runcStats
	if err := json.Unmarshal(out, &rs); err != nil {
		return Stats{}, fmt.Errorf("stats %s: %w", rec.Name, err)
	}
	d := rs.Data
	s := Stats{Time: time.Now(), CPUTotal: d.CPU.Usage.Total, MemoryLimit: d.Memory.Usage.Limit, Pids: d.Pids.Current}
	// Docker subtracts the inactive page cache (total_inactive_file on v1,
	// inactive_file on v2) from the usage.
	inactive := d.Memory.Raw["total_inactive_file"]
	if inactive == 0 {
		inactive = d.Memory.Raw["inactive_file"]
	}
	s.MemoryUsage = d.Memory.Usage.Usage
	if inactive < s.MemoryUsage {
		s.MemoryUsage -= inactive
	}
	if st.Pid > 0 {
		if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/dev", st.Pid)); err == nil {
			s.NetRx, s.NetTx = netDev(data)
		}
	}
	for _, e := range d.Blkio.IOServiceBytesRecursive {
		switch e.Op {
		case "Read", "read":
			s.BlockRead += e.Value
		case "Write", "write":
			s.BlockWrite += e.Value
		}
	}
	return s, nil
}

// netDev sums the received and transmitted bytes of /proc/PID/net/dev
// (the container's namespace) over every interface but loopback, as
// Docker's NET I/O. It is pure.
func netDev(data []byte) (rx, tx uint64) {
	for _, line := range strings.Split(string(data), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) == "lo" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 9 {
			continue
		}
		r, err1 := strconv.ParseUint(f[0], 10, 64)
		t, err2 := strconv.ParseUint(f[8], 10, 64)
		if err1 == nil && err2 == nil {
			rx, tx = rx+r, tx+t
		}
	}
	return rx, tx
}
