package monitor

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// receiveConsole accepts one connection on ln and receives the pty master
// the OCI runtime sends with SCM_RIGHTS (the --console-socket protocol).
func receiveConsole(ln *os.File) (*os.File, error) {
	conn, err := accept(ln)
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	defer conn.Close()
	name := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, err := recvmsg(conn, name, oob)
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("console socket: no control message")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("console socket: no file descriptor")
	}
	return os.NewFile(uintptr(fds[0]), string(name[:n])), nil
}

func resizePty(f *os.File, rows, cols uint16) {
	_ = unix.IoctlSetWinsize(int(f.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols})
}
