//go:build !lean

package main

import (
	"net"
	"path/filepath"
	"testing"

	"github.com/containerd/errdefs"
)

func TestParseBuildSSH(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, tc := range []struct {
		flag, agent, id, sock string
		err                   error
	}{
		{flag: "default", agent: sock, id: "default", sock: sock},
		{flag: "default=" + sock, id: "default", sock: sock},
		{flag: "gh=" + sock, agent: "/elsewhere", id: "gh", sock: sock},
		{flag: "default", err: errdefs.ErrInvalidArgument},                     // no SSH_AUTH_SOCK
		{flag: "=" + sock, err: errdefs.ErrInvalidArgument},                    // no ID
		{flag: "default=" + dir, err: errdefs.ErrNotImplemented},               // not a socket (a key file would be refused too)
		{flag: "default=" + sock + "," + sock, err: errdefs.ErrNotImplemented}, // key list
		{flag: "default=" + filepath.Join(dir, "missing"), err: errdefs.ErrInvalidArgument},
	} {
		id, s, err := parseBuildSSH(tc.flag, tc.agent)
		if tc.err != nil {
			if !errdefs.IsNotImplemented(err) && tc.err == errdefs.ErrNotImplemented || !errdefs.IsInvalidArgument(err) && tc.err == errdefs.ErrInvalidArgument {
				t.Errorf("%s: error %v, want %v", tc.flag, err, tc.err)
			}
			continue
		}
		if err != nil || id != tc.id || s != tc.sock {
			t.Errorf("%s: %q %q %v, want %q %q", tc.flag, id, s, err, tc.id, tc.sock)
		}
	}
}
