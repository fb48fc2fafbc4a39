package monitor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// The attach protocol, spoken on RunDir/attach.sock. Both directions carry
// frames: one kind byte, a big-endian uint32 length, the payload. A client
// first sends Hello with a bitmask of the streams it wants (WantStdin,
// WantStdout, WantStderr); then Stdin data, StdinClose and Resize (rows and
// cols as two big-endian uint16). The monitor sends Stdout and Stderr data
// (raw terminal output as Stdout for a tty) and Exit with the exit code as a
// big-endian int32 when the container's process ends. Before Exit, a
// client that said Removes gets Sweeps (no payload) when the monitor will
// delete what that client's remove moves aside (Config.RemovedDir) and the
// runtime's state once the client has ended; without it (an older
// monitor, no RemovedDir) the client removes everything itself. Clients
// ignore kinds they do not know.
const (
	KindStdin      byte = 0
	KindStdout     byte = 1
	KindStderr     byte = 2
	KindExit       byte = 3
	KindHello      byte = 4
	KindStdinClose byte = 5
	KindResize     byte = 6
	KindSweeps     byte = 7
)

// Stream bits of a Hello frame, and Removes: the client removes the
// container itself once it has its exit (an attached `run --rm`).
const (
	WantStdin  byte = 1
	WantStdout byte = 2
	WantStderr byte = 4
	Removes    byte = 8
)

const maxFrame = 1 << 20

// WriteFrame writes one frame.
func WriteFrame(w io.Writer, kind byte, payload []byte) error {
	buf := make([]byte, 5+len(payload))
	buf[0] = kind
	binary.BigEndian.PutUint32(buf[1:5], uint32(len(payload)))
	copy(buf[5:], payload)
	_, err := w.Write(buf)
	return err
}

// ReadFrame reads one frame.
func ReadFrame(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("attach frame of %d bytes is too large", n)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return 0, nil, err
	}
	return hdr[0], p, nil
}

// hub fans the container's output out to attached clients and feeds their
// input to the container's stdin.
type hub struct {
	mu        sync.Mutex
	clients   map[*client]struct{}
	stdin     io.WriteCloser // nil when the container has no open stdin
	resize    func(rows, cols uint16)
	stdinOnce bool
	// Input that arrives before the container's stdin exists (a client
	// attaches before the runtime makes the pty) waits here.
	pending      []byte
	pendingClose bool
	attached     chan struct{} // closed when the first client says hello
	once         sync.Once
}

type client struct {
	conn *os.File
	want byte
	wmu  sync.Mutex
	proc proc // the client process, from SO_PEERCRED
}

// proc names a process, guarded against pid reuse by its start time.
type proc struct {
	pid   int
	start uint64
}

// peer is the process at the other end of a unix socket.
func peer(conn *os.File) proc {
	var p proc
	rc, err := conn.SyscallConn()
	if err != nil {
		return p
	}
	_ = rc.Control(func(fd uintptr) {
		if cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
			p.pid = int(cred.Pid)
		}
	})
	if p.pid > 0 {
		p.start, _ = StartTime(p.pid)
	}
	return p
}

// removers are the processes of the clients attached now that said they
// remove the container themselves.
func (h *hub) removers() []proc {
	h.mu.Lock()
	defer h.mu.Unlock()
	var ps []proc
	for c := range h.clients {
		if c.want&Removes != 0 && c.proc.pid > 0 {
			ps = append(ps, c.proc)
		}
	}
	return ps
}

func newHub(stdinOnce bool) *hub {
	return &hub{clients: map[*client]struct{}{}, attached: make(chan struct{}), stdinOnce: stdinOnce}
}

func (h *hub) serve(ln *os.File) {
	for {
		conn, err := accept(ln)
		if err != nil {
			return
		}
		go h.handle(conn)
	}
}

func (h *hub) handle(conn *os.File) {
	kind, p, err := ReadFrame(conn)
	if err != nil || kind != KindHello || len(p) != 1 {
		conn.Close()
		return
	}
	c := &client{conn: conn, want: p[0], proc: peer(conn)}
	h.mu.Lock()
	h.clients[c] = struct{}{}
	h.mu.Unlock()
	h.once.Do(func() { close(h.attached) })
	defer h.drop(c)
	for {
		kind, p, err := ReadFrame(conn)
		if err != nil {
			if errors.Is(err, io.EOF) && c.want&WantStdin != 0 {
				h.closeStdin()
			}
			return
		}
		switch kind {
		case KindStdin:
			if c.want&WantStdin == 0 {
				continue
			}
			h.mu.Lock()
			in := h.stdin
			if in == nil && len(h.pending)+len(p) <= maxFrame {
				h.pending = append(h.pending, p...)
			}
			h.mu.Unlock()
			if in != nil {
				_, _ = in.Write(p)
			}
		case KindStdinClose:
			h.closeStdin()
		case KindResize:
			if len(p) == 4 {
				h.mu.Lock()
				rs := h.resize
				h.mu.Unlock()
				if rs != nil {
					rs(binary.BigEndian.Uint16(p[:2]), binary.BigEndian.Uint16(p[2:]))
				}
			}
		}
	}
}

// closeStdin closes the container's stdin when it was opened for one client
// only (docker run -i without -d); otherwise other clients may still attach.
func (h *hub) closeStdin() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.stdinOnce {
		return
	}
	if h.stdin == nil {
		h.pendingClose = true
		return
	}
	h.stdin.Close()
	h.stdin = nil
}

func (h *hub) setStdin(w io.WriteCloser, resize func(rows, cols uint16)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stdin, h.resize = w, resize
	if w == nil {
		return
	}
	if len(h.pending) > 0 {
		_, _ = w.Write(h.pending)
		h.pending = nil
	}
	if h.pendingClose {
		w.Close()
		h.stdin, h.pendingClose = nil, false
	}
}

func (h *hub) drop(c *client) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
	c.conn.Close()
}

// send writes a frame to every client that wants it. A client that cannot
// take it within a second is dropped rather than stalling the container.
func (h *hub) send(kind byte, p []byte) {
	var bit byte
	switch kind {
	case KindStdout:
		bit = WantStdout
	case KindStderr:
		bit = WantStderr
	case KindSweeps:
		bit = Removes
	}
	h.mu.Lock()
	cs := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		if bit == 0 || c.want&bit != 0 {
			cs = append(cs, c)
		}
	}
	h.mu.Unlock()
	for _, c := range cs {
		c.wmu.Lock()
		_ = c.conn.SetWriteDeadline(time.Now().Add(time.Second))
		err := WriteFrame(c.conn, kind, p)
		c.wmu.Unlock()
		if err != nil {
			h.drop(c)
		}
	}
}

func (h *hub) sendExit(code int) {
	var p [4]byte
	binary.BigEndian.PutUint32(p[:], uint32(int32(code)))
	h.send(KindExit, p[:])
}

func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		c.conn.Close()
		delete(h.clients, c)
	}
}
