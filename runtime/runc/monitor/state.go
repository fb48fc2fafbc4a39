package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/internal/flock"
)

// File names inside a container's state directory.
const (
	StateFile = "state.json"
	lockFile  = "state.lock"
)

// Lifecycle states, with Docker's names.
const (
	Created    = "created"
	Running    = "running"
	Paused     = "paused"
	Restarting = "restarting"
	Exited     = "exited"
	Dead       = "dead"
)

// State is the mutable run state of a container, kept in state.json next to
// its config record. Both the CLI and the monitor change it, always through
// Update, so writes never interleave.
type State struct {
	Status       string    `json:"status"`
	Pid          int       `json:"pid,omitempty"`
	PidStart     uint64    `json:"pidStart,omitempty"` // /proc start time, guards against pid reuse
	MonitorPid   int       `json:"monitorPid,omitempty"`
	MonitorStart uint64    `json:"monitorStart,omitempty"`
	ExitCode     int       `json:"exitCode"`
	Error        string    `json:"error,omitempty"`
	OOMKilled    bool      `json:"oomKilled,omitempty"`
	StartedAt    time.Time `json:"startedAt"`
	FinishedAt   time.Time `json:"finishedAt"`
	RestartCount int       `json:"restartCount"`
	// StoppedByUser is set by stop, kill with the stop signal or SIGKILL, and
	// rm -f: the monitor must not restart the container afterwards.
	StoppedByUser bool `json:"stoppedByUser,omitempty"`
	// StopReleases is set by a stop that releases the container's network
	// itself once the monitor is gone (stop, rm -f, down): the monitor's
	// release hook, a whole berth process, is then not needed.
	StopReleases bool `json:"stopReleases,omitempty"`
	// Starting is set from the moment a monitor is spawned until its first
	// run is running or has failed. With the starting CLI gone (killed, or
	// attached without its lock), it tells stop and rm that a container
	// still "created" or "exited" is about to run: they wait it out
	// (Runtime.settle) instead of removing it from under its monitor.
	Starting bool         `json:"starting,omitempty"`
	Health   *HealthState `json:"health,omitempty"`
}

// HealthState is Docker's State.Health.
type HealthState struct {
	Status        string  `json:"Status"`
	FailingStreak int     `json:"FailingStreak"`
	Log           []Probe `json:"Log"`
}

// Probe is one healthcheck result.
type Probe struct {
	Start    time.Time `json:"Start"`
	End      time.Time `json:"End"`
	ExitCode int       `json:"ExitCode"`
	Output   string    `json:"Output"`
}

// ReadState reads dir's state.json without locking; a missing file is a
// fresh "created" state.
func ReadState(dir string) (State, error) {
	var st State
	data, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return State{Status: Created}, nil
	}
	if err != nil {
		return st, fmt.Errorf("read state: %w", err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return st, fmt.Errorf("read state %s: %w", dir, err)
	}
	return st, nil
}

// Update reads dir's state under its lock, lets fn change it and writes it
// back atomically. If fn returns an error nothing is written.
func Update(ctx context.Context, dir string, fn func(*State) error) (State, error) {
	l, err := flock.AcquireIn(ctx, filepath.Join(dir, lockFile)) // a removed container stays removed
	if err != nil {
		return State{}, err
	}
	defer l.Unlock()
	st, err := ReadState(dir)
	if err != nil {
		return st, err
	}
	if err := fn(&st); err != nil {
		return st, err
	}
	if err := atomicfile.ReplaceJSON(filepath.Join(dir, StateFile), st, 0o600); err != nil {
		return st, fmt.Errorf("update state: %w", err)
	}
	return st, nil
}
