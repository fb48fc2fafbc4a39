// Package monitor is the small process that watches over one container: it
// runs the OCI runtime's create and start, holds the container's stdio, writes
// the JSON log, records the exit atomically, restarts by policy with back-off,
// runs the healthcheck, and serves attach clients on a unix socket.
//
// It is paid once per running container, so it imports the standard library,
// golang.org/x/sys and berth's two tiny state helpers only. The CLI side of
// the runtime (package runc) shares its record types and the attach protocol
// from here; this package must never import runc, spec or any large library.
package monitor
