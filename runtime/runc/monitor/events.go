package monitor

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// Event is one line of berth's event log, in Docker's events format.
type Event struct {
	Status   string `json:"status,omitempty"`
	ID       string `json:"id,omitempty"`
	From     string `json:"from,omitempty"`
	Type     string `json:"Type"`
	Action   string `json:"Action"`
	Actor    Actor  `json:"Actor"`
	Scope    string `json:"scope"`
	Time     int64  `json:"time"`
	TimeNano int64  `json:"timeNano"`
}

// Actor is what an event is about.
type Actor struct {
	ID         string            `json:"ID"`
	Attributes map[string]string `json:"Attributes"`
}

// maxEventLog is the size past which the event log moves to path.1, the
// only older file kept (Docker keeps its last events in memory only).
const maxEventLog = 4 << 20

// NewEvent makes a container event with attrs plus extra attributes.
func NewEvent(id, action string, attrs map[string]string, extra ...string) Event {
	a := make(map[string]string, len(attrs)+len(extra)/2)
	for k, v := range attrs {
		a[k] = v
	}
	for i := 0; i+1 < len(extra); i += 2 {
		a[extra[i]] = extra[i+1]
	}
	now := time.Now()
	return Event{
		Status: action, ID: id, From: a["image"], Type: "container", Action: action,
		Actor: Actor{ID: id, Attributes: a}, Scope: "local", Time: now.Unix(), TimeNano: now.UnixNano(),
	}
}

// AppendEvent appends e to the event log at path with one O_APPEND write,
// so that concurrent writers (the CLI, every monitor) never interleave.
// An empty path logs nothing.
func AppendEvent(path string, e Event) error {
	if path == "" {
		return nil
	}
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() > maxEventLog {
		_ = os.Rename(path, path+".1")
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("event log: %w", err)
	}
	_, err = f.Write(append(line, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
