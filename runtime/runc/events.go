package runc

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/berth-dev/berth/runtime/runc/monitor"
)

// EventLog is the file every berth process and monitor appends events to.
func (r *Runtime) EventLog() string { return filepath.Join(r.opts.Root, "events.log") }

func eventAttrs(rec *Record) map[string]string {
	a := map[string]string{"image": rec.Image, "name": rec.Name}
	for k, v := range rec.Config.Labels {
		a[k] = v
	}
	return a
}

// event logs a container event; the log is best effort, never a failure of
// the operation it reports.
func (r *Runtime) event(rec *Record, action string, extra ...string) {
	_ = monitor.AppendEvent(r.EventLog(), monitor.NewEvent(rec.ID, action, eventAttrs(rec), extra...))
}

// EventOptions select events by time; without Until, Events follows the
// log until ctx is done.
type EventOptions struct {
	Since, Until time.Time
}

// Events calls fn for each event in the log within the window, oldest first.
func (r *Runtime) Events(ctx context.Context, o EventOptions, fn func(monitor.Event) error) error {
	path := r.EventLog()
	emit := func(line []byte) (stop bool, err error) {
		var e monitor.Event
		if json.Unmarshal(line, &e) != nil {
			return false, nil
		}
		t := time.Unix(0, e.TimeNano)
		if !o.Since.IsZero() && t.Before(o.Since) {
			return false, nil
		}
		if !o.Until.IsZero() && t.After(o.Until) {
			return true, nil
		}
		return false, fn(e)
	}
	if data, err := os.ReadFile(path + ".1"); err == nil {
		sc := bufio.NewScanner(bytesReader(data))
		for sc.Scan() {
			if stop, err := emit(sc.Bytes()); stop || err != nil {
				return err
			}
		}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	rd := bufio.NewReader(f)
	var partial []byte
	for {
		line, err := rd.ReadBytes('\n')
		if err == nil {
			if stop, ferr := emit(append(partial, line...)); stop || ferr != nil {
				return ferr
			}
			partial = nil
			continue
		}
		partial = append(partial, line...)
		if err != io.EOF {
			return err
		}
		if !o.Until.IsZero() && time.Now().After(o.Until) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type byteReader struct {
	b []byte
	i int
}

func (r *byteReader) Read(p []byte) (int, error) {
	if r.i >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.i:])
	r.i += n
	return n, nil
}

func bytesReader(b []byte) io.Reader { return &byteReader{b: b} }
