package runc

import (
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/internal/hostresolv"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/ocispec"
)

// writeEtcFiles writes the container's /etc/hostname, /etc/hosts and
// /etc/resolv.conf into its state directory, to be bind-mounted; their
// content is ocispec's (Docker's rules). They are not records but generated
// content, written in place on purpose: a bind mount pins the inode, so the
// network code must rewrite them in place too (as Docker does), and a rename
// would detach the container's view.
func writeEtcFiles(dir, hostname string, cfg runtime.Config) error {
	if err := writeFile(filepath.Join(dir, "hostname"), []byte(hostname+"\n"), 0o644); err != nil {
		return err
	}
	host := cfg.NetworkMode == "host"
	var hosts []byte
	if host && len(cfg.ExtraHosts) == 0 {
		hosts, _ = os.ReadFile("/etc/hosts") // Docker copies the host's file
	} else {
		var err error
		if hosts, err = ocispec.HostsFile(ocispec.Hosts{Hostname: hostname, Domainname: cfg.Domainname, ExtraHosts: cfg.ExtraHosts}); err != nil {
			return err
		}
	}
	if err := writeFile(filepath.Join(dir, "hosts"), hosts, 0o644); err != nil {
		return err
	}
	hostResolv := hostresolv.Read()
	resolv, _, err := ocispec.ResolvConf(hostResolv, ocispec.DNS{Nameservers: cfg.DNS, Search: cfg.DNSSearch, Options: cfg.DNSOptions, HostNetwork: host, NoFallback: hostresolv.Sandboxed()})
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, "resolv.conf"), resolv, 0o644)
}

func writeFile(path string, data []byte, perm os.FileMode) error {
	return os.WriteFile(path, data, perm)
}
