package runc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"time"

	"github.com/berth-dev/berth/runtime/runc/monitor"
)

// LogOptions are `docker logs` flags.
type LogOptions struct {
	Follow     bool
	Since      time.Time // zero: from the start
	Until      time.Time // zero: no end
	Tail       int       // < 0: all lines
	Timestamps bool
}

// TimeFormat is how `logs -t` prints an entry's time (Docker's).
const TimeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// Logs copies the container's log to stdout and stderr by stream. With
// Follow it keeps reading, across rotations, until the container stops or
// ctx is done.
func (r *Runtime) Logs(ctx context.Context, ref string, o LogOptions, stdout, stderr io.Writer) error {
	rec, err := r.recordOf(ctx, ref)
	if err != nil {
		return err
	}
	out := &entryWriter{o: o, stdout: stdout, stderr: stderr}
	path := r.LogPath(rec.ID)
	files := logFiles(path, r.opts.LogMaxFiles)
	if o.Tail >= 0 {
		var all []monitor.Entry
		for _, f := range files {
			es, err := readEntries(f)
			if err != nil {
				return err
			}
			all = append(all, es...)
		}
		if o.Tail < len(all) {
			all = all[len(all)-o.Tail:]
		}
		for _, e := range all {
			if err := out.write(e); err != nil {
				return err
			}
		}
		if !o.Follow {
			return nil
		}
		return r.follow(ctx, rec, path, true, out)
	}
	for _, f := range files[:len(files)-1] {
		es, err := readEntries(f)
		if err != nil {
			return err
		}
		for _, e := range es {
			if err := out.write(e); err != nil {
				return err
			}
		}
	}
	if !o.Follow {
		es, err := readEntries(path)
		if err != nil {
			return err
		}
		for _, e := range es {
			if err := out.write(e); err != nil {
				return err
			}
		}
		return nil
	}
	return r.follow(ctx, rec, path, false, out)
}

// logFiles lists the rotated files oldest first, then the current one.
func logFiles(path string, maxFiles int) []string {
	var files []string
	for i := maxFiles - 1; i > 0; i-- {
		p := path + "." + strconv.Itoa(i)
		if _, err := os.Stat(p); err == nil {
			files = append(files, p)
		}
	}
	return append(files, path)
}

func readEntries(path string) ([]monitor.Entry, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read log: %w", err)
	}
	var out []monitor.Entry
	for _, line := range bytes.Split(data, []byte("\n")) {
		var e monitor.Entry
		if len(line) == 0 || json.Unmarshal(line, &e) != nil {
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// follow streams the current log file; fromEnd skips what is there now
// (already printed by --tail).
func (r *Runtime) follow(ctx context.Context, rec *Record, path string, fromEnd bool, out *entryWriter) error {
	var (
		f       *os.File
		rd      *bufio.Reader
		partial []byte
	)
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	open := func(seekEnd bool) {
		nf, err := os.Open(path)
		if err != nil {
			return
		}
		if seekEnd {
			_, _ = nf.Seek(0, io.SeekEnd)
		}
		if f != nil {
			f.Close()
		}
		f, rd, partial = nf, bufio.NewReader(nf), nil
	}
	open(fromEnd)
	final := false
	for {
		if f == nil {
			open(false)
		}
		progressed := false
		for rd != nil {
			line, err := rd.ReadBytes('\n')
			if len(line) > 0 && err == nil {
				line = append(partial, line...)
				partial = nil
				var e monitor.Entry
				if json.Unmarshal(line, &e) == nil {
					if werr := out.write(e); werr != nil {
						return werr
					}
				}
				progressed = true
				continue
			}
			partial = append(partial, line...)
			break
		}
		if progressed {
			continue
		}
		// Rotated: the path names another file now; the old one is done.
		if f != nil {
			a, aerr := f.Stat()
			b, berr := os.Stat(path)
			if aerr == nil && berr == nil && !os.SameFile(a, b) {
				open(false)
				continue
			}
		}
		if final {
			return nil
		}
		st, err := r.observe(ctx, rec)
		if err != nil {
			return err
		}
		if !isActive(st.Status) {
			// Everything was logged before the exit was recorded: one
			// more pass reads the rest.
			final = true
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type entryWriter struct {
	o              LogOptions
	stdout, stderr io.Writer
}

func (w *entryWriter) write(e monitor.Entry) error {
	if !w.o.Since.IsZero() && e.Time.Before(w.o.Since) {
		return nil
	}
	if !w.o.Until.IsZero() && e.Time.After(w.o.Until) {
		return nil
	}
	dst := w.stdout
	if e.Stream == "stderr" {
		dst = w.stderr
	}
	msg := e.Log
	if w.o.Timestamps {
		msg = e.Time.UTC().Format(TimeFormat) + " " + msg
	}
	_, err := io.WriteString(dst, msg)
	return err
}
