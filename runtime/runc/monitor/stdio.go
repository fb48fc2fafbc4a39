package monitor

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// runIO is a container's stdio for one run: pipes whose far ends the
// runtime passes to the container, or, with a tty, the pty master the
// runtime sends over the console socket.
type runIO struct {
	outR, errR, stdinW *os.File   // our ends of the pipes
	child              []*os.File // the runtime's ends, closed once it ran
	devNull            *os.File
	console            *os.File // the console socket's listener
	consoleSock        string
	ptyc               chan *os.File
	runtimeOut         bytes.Buffer // the runtime's own output, with a tty
	pty                *os.File
}

// openIO makes the stdio for cmd (the runtime's `run`) and returns the extra
// arguments it needs.
func (m *monitor) openIO(cmd *exec.Cmd) (*runIO, []string, error) {
	io := &runIO{ptyc: make(chan *os.File, 1)}
	var err error
	if io.devNull, err = os.Open(os.DevNull); err != nil {
		return nil, nil, err
	}
	if m.cfg.Tty {
		io.consoleSock = filepath.Join(m.cfg.RunDir, consoleSocket)
		_ = os.Remove(io.consoleSock)
		if io.console, err = listenUnix(io.consoleSock); err != nil {
			io.close()
			return nil, nil, err
		}
		go func() {
			f, err := receiveConsole(io.console)
			if err != nil {
				f = nil
			}
			io.ptyc <- f
		}()
		cmd.Stdin, cmd.Stdout, cmd.Stderr = io.devNull, &io.runtimeOut, &io.runtimeOut
		return io, []string{"--console-socket", io.consoleSock}, nil
	}
	var outW, errW, stdinR *os.File
	if io.outR, outW, err = os.Pipe(); err == nil {
		io.child = append(io.child, outW)
		if io.errR, errW, err = os.Pipe(); err == nil {
			io.child = append(io.child, errW)
		}
	}
	if err == nil && m.cfg.OpenStdin {
		if stdinR, io.stdinW, err = os.Pipe(); err == nil {
			io.child = append(io.child, stdinR)
		}
	}
	if err != nil {
		io.close()
		return nil, nil, err
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = io.devNull, outW, errW
	if stdinR != nil {
		cmd.Stdin = stdinR
	}
	return io, nil, nil
}

// closeChild closes the runtime's ends once it has passed them on.
func (io *runIO) closeChild() {
	for _, f := range io.child {
		f.Close()
	}
	io.child = nil
}

// failure is the error of a `run` that failed: nothing of the container has
// run yet, so what is on its stderr is the runtime's own message.
func (io *runIO) failure(err error) error {
	msg := io.runtimeOut.String()
	if io.errR != nil {
		b := make([]byte, 8192)
		n, _ := io.errR.Read(b)
		msg += string(b[:n])
	}
	io.close()
	return errors.New(cleanRuntimeError(msg, err))
}

// close closes everything of ours.
func (io *runIO) close() {
	io.closeChild()
	for _, f := range []*os.File{io.outR, io.errR, io.stdinW, io.pty, io.console, io.devNull} {
		if f != nil {
			f.Close()
		}
	}
	if io.consoleSock != "" {
		_ = os.Remove(io.consoleSock)
	}
}

// connect starts copying the container's output to the log and clients and
// routes the clients' input to it; pumps is done when the output ends.
func (m *monitor) connect(io *runIO, pumps *sync.WaitGroup) error {
	if !m.cfg.Tty {
		pumps.Add(2)
		go m.pump(pumps, io.outR, "stdout", KindStdout)
		go m.pump(pumps, io.errR, "stderr", KindStderr)
		io.outR, io.errR = nil, nil // the pumps close them
		return nil
	}
	select {
	case io.pty = <-io.ptyc:
	case <-time.After(10 * time.Second):
	}
	if io.pty == nil {
		return errors.New("no console received from the runtime")
	}
	pty := io.pty
	pumps.Add(1)
	go m.pump(pumps, pty, "stdout", KindStdout)
	resize := func(r, c uint16) { resizePty(pty, r, c) }
	if m.cfg.OpenStdin {
		m.hub.setStdin(nopCloser{pty}, resize)
	} else {
		m.hub.setStdin(nil, resize)
	}
	return nil
}

// drain waits for the output written just before the exit, but not for a
// background process that kept the pipes open.
func drain(pumps *sync.WaitGroup) {
	done := make(chan struct{})
	go func() { pumps.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
}
