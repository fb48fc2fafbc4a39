package monitor

import (
	"fmt"
	"os"
	"strconv"
	"time"
	"unicode/utf8"
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
	line     []byte // reused: writing a line allocates nothing
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
		if err := w.entry(p[:n], stream, t); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// entry writes one line: what json.Marshal of an Entry gives, encoded here
// into a buffer the writer keeps. The monitor lives as long as its
// container and is paid per container, and one that allocates nothing
// while its container runs never collects (docs/runtime.md, "Memory").
func (w *LogWriter) entry(log []byte, stream string, t time.Time) error {
	line := append(w.line[:0], `{"log":`...)
	line = appendJSONString(line, log)
	line = append(line, `,"stream":"`...)
	line = append(line, stream...) // "stdout" or "stderr": nothing to escape
	line = append(line, `","time":"`...)
	line = t.AppendFormat(line, time.RFC3339Nano)
	line = append(line, "\"}\n"...)
	w.line = line
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

// appendJSONString appends s as a JSON string exactly as encoding/json
// writes it: HTML-safe (<, > and & as \u003c, \u003e, \u0026), U+2028 and
// U+2029 escaped, invalid UTF-8 as U+FFFD.
func appendJSONString(dst, s []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
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
