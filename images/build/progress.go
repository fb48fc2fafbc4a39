package build

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// progress writes what a build does, one numbered vertex per step as
// BuildKit's plain output does ("#3 [2/5] RUN make", "#3 CACHED",
// "#3 DONE 0.4s"), or as JSON lines. It is safe for concurrent use: stages
// build in parallel.
type progress struct {
	mu   sync.Mutex
	w    io.Writer // nil: nothing
	json bool
	n    int
}

type vertex struct {
	p     *progress
	id    int
	name  string
	start time.Time
}

// event is a JSON progress line.
type event struct {
	ID       int     `json:"id"`
	Name     string  `json:"name,omitempty"`
	Status   string  `json:"status"` // started, cached, output, done, error
	Output   string  `json:"output,omitempty"`
	Duration float64 `json:"duration,omitempty"`
	Error    string  `json:"error,omitempty"`
}

func (p *progress) start(name string) *vertex {
	p.mu.Lock()
	p.n++
	v := &vertex{p: p, id: p.n, name: name, start: time.Now()}
	p.mu.Unlock()
	v.emit(event{Status: "started", Name: name}, fmt.Sprintf("#%d %s\n", v.id, name))
	return v
}

func (v *vertex) emit(e event, text string) {
	p := v.p
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		e.ID = v.id
		b, _ := json.Marshal(e)
		p.w.Write(append(b, '\n'))
		return
	}
	io.WriteString(p.w, text)
}

func (v *vertex) cached() { v.emit(event{Status: "cached"}, fmt.Sprintf("#%d CACHED\n", v.id)) }

func (v *vertex) done() {
	d := time.Since(v.start).Seconds()
	v.emit(event{Status: "done", Duration: d}, fmt.Sprintf("#%d DONE %.1fs\n", v.id, d))
}

func (v *vertex) fail(err error) {
	v.emit(event{Status: "error", Error: err.Error()}, fmt.Sprintf("#%d ERROR: %v\n", v.id, err))
}

// output is an io.Writer for a RUN's stdout and stderr: complete lines are
// written as "#N 0.123 line", the rest kept for the next write.
func (v *vertex) output() *lineWriter { return &lineWriter{v: v} }

type lineWriter struct {
	v   *vertex
	mu  sync.Mutex
	buf []byte
}

func (l *lineWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, b...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.line(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
	return len(b), nil
}

func (l *lineWriter) line(s string) {
	t := time.Since(l.v.start).Seconds()
	l.v.emit(event{Status: "output", Output: s}, fmt.Sprintf("#%d %.3f %s\n", l.v.id, t, s))
}

// Flush writes a last line without its newline.
func (l *lineWriter) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.line(string(l.buf))
		l.buf = nil
	}
}
