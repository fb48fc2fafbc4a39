package main

import (
	"errors"
	"io"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// makeRaw puts the terminal f in raw mode (cfmakeraw) and returns the
// function that restores it.
func makeRaw(f *os.File) (func(), error) {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	t := *old
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &t); err != nil {
		return nil, err
	}
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}

// terminalSizes sends f's size now and on every SIGWINCH until stop.
func terminalSizes(f *os.File, stop <-chan struct{}) <-chan [2]uint16 {
	ch := make(chan [2]uint16, 1)
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, unix.SIGWINCH)
	send := func() {
		if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil {
			select {
			case ch <- [2]uint16{ws.Row, ws.Col}:
			default:
			}
		}
	}
	send()
	go func() {
		defer signal.Stop(winch)
		defer close(ch)
		for {
			select {
			case <-stop:
				return
			case <-winch:
				send()
			}
		}
	}()
	return ch
}

// errDetached is returned by a detachReader when the user typed the
// detach keys.
var errDetached = errors.New("detached")

// detachReader passes input through until the detach sequence (Docker's
// default ctrl-p ctrl-q), then reports errDetached.
type detachReader struct {
	r    io.Reader
	keys []byte
	seen int
	hit  chan struct{}
}

func newDetachReader(r io.Reader, keys []byte) *detachReader {
	return &detachReader{r: r, keys: keys, hit: make(chan struct{})}
}

func (d *detachReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if len(d.keys) == 0 {
		return n, err
	}
	out := p[:0]
	for _, c := range p[:n] {
		if c == d.keys[d.seen] {
			d.seen++
			if d.seen == len(d.keys) {
				close(d.hit)
				return len(out), errDetached
			}
			continue
		}
		if d.seen > 0 {
			out = append(out, d.keys[:d.seen]...)
			d.seen = 0
		}
		out = append(out, c)
	}
	return len(out), err
}

// parseDetachKeys parses Docker's --detach-keys ("ctrl-p,ctrl-q", "a", ...).
func parseDetachKeys(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	var out []byte
	for _, k := range splitComma(s) {
		switch {
		case len(k) == 1:
			out = append(out, k[0])
		case len(k) == 6 && k[:5] == "ctrl-":
			c := k[5]
			switch {
			case c >= 'a' && c <= 'z':
				out = append(out, c-'a'+1)
			case c == '@':
				out = append(out, 0)
			case c == '[':
				out = append(out, 27)
			case c == '\\':
				out = append(out, 28)
			case c == ']':
				out = append(out, 29)
			case c == '^':
				out = append(out, 30)
			case c == '_':
				out = append(out, 31)
			default:
				return nil, errors.New("invalid detach key: " + k)
			}
		default:
			return nil, errors.New("invalid detach key: " + k)
		}
	}
	return out, nil
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
