package runc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/runtime/ocispec"
	"github.com/berth-dev/berth/runtime/runc/monitor"
)

// ExecOptions are `docker exec` flags and the process's stdio.
type ExecOptions struct {
	Cmd        []string
	Env        []string
	WorkingDir string
	User       string
	Tty        bool
	Detach     bool
	Privileged bool
	Stdin      io.Reader // nil: /dev/null
	Stdout     io.Writer
	Stderr     io.Writer
}

// Exec runs a process in a running container and returns its exit code:
// 126 when the command cannot be executed and 127 when it is not found, as
// in Docker. With Tty the OCI runtime makes the pty and copies between it and
// the given stdio.
func (r *Runtime) Exec(ctx context.Context, ref string, o ExecOptions) (int, error) {
	rec, st, err := r.State(ctx, ref)
	if err != nil {
		return 0, err
	}
	switch st.Status {
	case monitor.Running:
	case monitor.Paused:
		return 0, errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("container %s is paused, unpause the container before exec", rec.ID))
	default:
		return 0, notRunning(rec)
	}
	if len(o.Cmd) == 0 {
		return 0, errdefs.ErrInvalidArgument.WithMessage("no command specified")
	}
	e := execSpec{ID: rec.ID, Args: o.Cmd, Env: o.Env, Cwd: o.WorkingDir, Tty: o.Tty, Detach: o.Detach}
	if o.User != "" {
		root, err := os.OpenRoot(r.rootfs(rec.ID))
		if err != nil {
			return 0, fmt.Errorf("exec: %w", err)
		}
		u, err := ocispec.ResolveUser(root.FS(), o.User, nil)
		root.Close()
		if err != nil {
			return 0, err
		}
		e.User = strconv.FormatUint(uint64(u.UID), 10) + ":" + strconv.FormatUint(uint64(u.GID), 10)
	}
	if o.Privileged {
		have := boundingCaps()
		for _, c := range capNames {
			if have == nil || have[c] {
				e.Caps = append(e.Caps, c)
			}
		}
	}
	cmd := exec.CommandContext(ctx, r.opts.Runtime, execArgs(r.opts.RuntimeRoot, e)...)
	var errs bytes.Buffer
	cmd.Stdin = o.Stdin
	cmd.Stdout = o.Stdout
	cmd.Stderr = io.MultiWriter(orDiscard(o.Stderr), &capped{b: &errs, max: 4096})
	if o.Detach {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, &capped{b: &errs, max: 4096}
	}
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code := ee.ExitCode()
		if code == 255 || code == 1 && o.Detach {
			if c := startErrorCode(errs.String()); c != 0 {
				return c, nil
			}
		}
		return code, nil
	}
	if err != nil {
		return 0, fmt.Errorf("exec in %s: %w", rec.Name, err)
	}
	return 0, nil
}

// startErrorCode recognises the runtime's message for a command that could
// not start; 0 if it is not one.
func startErrorCode(msg string) int {
	switch {
	case bytes.Contains([]byte(msg), []byte("executable file not found")), bytes.Contains([]byte(msg), []byte("no such file or directory")):
		return 127
	case bytes.Contains([]byte(msg), []byte("permission denied")):
		return 126
	}
	return 0
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

type capped struct {
	b   *bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.b.Len(); room > 0 {
		c.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// AttachOptions say which streams an attach client wants.
type AttachOptions struct {
	Stdin  io.Reader // nil: no input
	Stdout io.Writer // nil: not wanted
	Stderr io.Writer // nil: not wanted
	// Resize delivers terminal sizes (rows, cols) for a tty container.
	Resize <-chan [2]uint16
	// Removes tells the monitor that this client removes the container
	// after its exit (run --rm), so that it need not.
	Removes bool
}

// Attach connects to the container's monitor and copies its output until
// the container's process exits (exited true, with its code) or the monitor
// goes away (exited false: read the state for the outcome).
func (r *Runtime) Attach(ctx context.Context, ref string, o AttachOptions) (code int, exited bool, err error) {
	rec, st, err := r.State(ctx, ref)
	if err != nil {
		return 0, false, err
	}
	if !isActive(st.Status) && st.Status != monitor.Created {
		return 0, false, errdefs.ErrFailedPrecondition.WithMessage("you cannot attach to a stopped container, start it first")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", filepath.Join(r.runDir(rec.ID), monitor.AttachSocket))
	if err != nil {
		return 0, false, fmt.Errorf("attach %s: %w", rec.Name, err)
	}
	defer conn.Close()
	var want byte
	if o.Stdin != nil {
		want |= monitor.WantStdin
	}
	if o.Stdout != nil {
		want |= monitor.WantStdout
	}
	if o.Stderr != nil {
		want |= monitor.WantStderr
	}
	if o.Removes {
		want |= monitor.Removes
	}
	if err := monitor.WriteFrame(conn, monitor.KindHello, []byte{want}); err != nil {
		return 0, false, fmt.Errorf("attach %s: %w", rec.Name, err)
	}
	go func() {
		<-ctx.Done()
		conn.Close()
	}()
	if o.Stdin != nil {
		go func() {
			buf := make([]byte, 32*1024)
			for {
				n, err := o.Stdin.Read(buf)
				if n > 0 && monitor.WriteFrame(conn, monitor.KindStdin, buf[:n]) != nil {
					return
				}
				if err != nil {
					_ = monitor.WriteFrame(conn, monitor.KindStdinClose, nil)
					return
				}
			}
		}()
	}
	if o.Resize != nil {
		go func() {
			for sz := range o.Resize {
				p := []byte{byte(sz[0] >> 8), byte(sz[0]), byte(sz[1] >> 8), byte(sz[1])}
				if monitor.WriteFrame(conn, monitor.KindResize, p) != nil {
					return
				}
			}
		}()
	}
	sweeps := false // the monitor said it deletes what our remove moves aside
	for {
		kind, p, err := monitor.ReadFrame(conn)
		if err != nil {
			// The monitor went away without an exit: a start that failed
			// after the client attached says why in the state.
			if st, _ := monitor.ReadState(r.containerDir(rec.ID)); st.Status == monitor.Created && st.Error != "" {
				return 0, false, &StartError{Code: st.ExitCode, Msg: fmt.Sprintf("start %s: %s", rec.Name, st.Error)}
			}
			return 0, false, nil
		}
		switch kind {
		case monitor.KindStdout:
			if o.Stdout != nil {
				_, _ = o.Stdout.Write(p)
			}
		case monitor.KindStderr:
			if o.Stderr != nil {
				_, _ = o.Stderr.Write(p)
			}
		case monitor.KindSweeps:
			sweeps = true
		case monitor.KindExit:
			if len(p) == 4 {
				if o.Removes && sweeps {
					r.mu.Lock()
					if r.removerOf == nil {
						r.removerOf = map[string]bool{}
					}
					r.removerOf[rec.ID] = true
					r.mu.Unlock()
				}
				return int(int32(uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3]))), true, nil
			}
		}
	}
}
