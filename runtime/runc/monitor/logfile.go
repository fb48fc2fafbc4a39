package monitor

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"
)

// Entry is one line of the log file, Docker's json-file format.
type Entry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// LogWriter appends entries to a JSON-lines log file and rotates it by size:
// when a write would pass MaxSize, path becomes path.1, path.1 becomes
// path.2, and so on up to MaxFiles files in all (the oldest is dropped).
// It is not safe for concurrent use; the monitor serialises writers.
type LogWriter struct {
	path     string
	maxSize  int64 // <= 0: never rotate
	maxFiles int   // total files including the current one, >= 1
	f        *os.File
	size     int64
	now      func() time.Time
}

// OpenLog opens (appending) the log file at path.
func OpenLog(path string, maxSize int64, maxFiles int) (*LogWriter, error) {
	if maxFiles < 1 {
		maxFiles = 1
	}
	w := &LogWriter{path: path, maxSize: maxSize, maxFiles: maxFiles, now: time.Now}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *LogWriter) open() error {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open log: %w", err)
	}
	w.f, w.size = f, fi.Size()
	return nil
}

// Write logs one chunk of output from stream, one entry per line; a final
// partial line becomes its own entry, as Docker does when a line is cut.
func (w *LogWriter) Write(stream string, p []byte) error {
	t := w.now().UTC()
	for len(p) > 0 {
		n := len(p)
		for i, c := range p {
			if c == '\n' {
				n = i + 1
				break
			}
		}
		if err := w.entry(Entry{Log: string(p[:n]), Stream: stream, Time: t}); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

func (w *LogWriter) entry(e Entry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	if w.maxSize > 0 && w.size > 0 && w.size+int64(len(line)) > w.maxSize {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	n, err := w.f.Write(line)
	w.size += int64(n)
	if err != nil {
		return fmt.Errorf("write log: %w", err)
	}
	return nil
}

func (w *LogWriter) rotate() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("rotate log: %w", err)
	}
	if w.maxFiles == 1 {
		if err := os.Truncate(w.path, 0); err != nil {
			return fmt.Errorf("rotate log: %w", err)
		}
		return w.open()
	}
	for i := w.maxFiles - 1; i > 0; i-- {
		from := w.path
		if i > 1 {
			from += "." + strconv.Itoa(i-1)
		}
		// A missing older file is fine: the log has not rotated that far yet.
		_ = os.Rename(from, w.path+"."+strconv.Itoa(i))
	}
	return w.open()
}

// Close closes the log file.
func (w *LogWriter) Close() error { return w.f.Close() }

// SetClock replaces the clock entries are stamped with (tests).
func (w *LogWriter) SetClock(now func() time.Time) { w.now = now }
