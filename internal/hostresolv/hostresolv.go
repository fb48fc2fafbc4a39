// Package hostresolv names the host resolv.conf that containers' DNS
// settings and berth's resolver start from.
//
// It is /etc/resolv.conf unless BERTH_HOST_RESOLV_CONF names another file.
// berth's tests set it to a file whose only nameserver is loopback, so that
// no container and no berth resolver ever sends a query off the machine (a
// container's own loopback answers nothing, and with the variable set
// Docker's public fallback servers are never written either).
package hostresolv

import "os"

// Env is the variable that overrides the host's resolv.conf.
const Env = "BERTH_HOST_RESOLV_CONF"

// Path is the resolv.conf to read.
func Path() string {
	if p := os.Getenv(Env); p != "" {
		return p
	}
	return "/etc/resolv.conf"
}

// Sandboxed reports that the host's resolvers were replaced by Env: then
// no public fallback nameserver may be added either.
func Sandboxed() bool { return os.Getenv(Env) != "" }

// Read returns the content of Path, empty when it cannot be read (as Docker
// treats a missing resolv.conf).
func Read() []byte {
	b, _ := os.ReadFile(Path())
	return b
}
