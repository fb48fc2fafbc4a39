package runc

import (
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/ocispec"
)

// writeEtcFiles writes the container's /etc/hostname, /etc/hosts and
// /etc/resolv.conf into its state directory, to be bind-mounted; their
// content is ocispec's (Docker's rules). The network code will rewrite hosts
// and resolv.conf when it attaches the container to networks.
func writeEtcFiles(dir, hostname string, cfg runtime.Config) error {
	if err := atomicfile.Write(filepath.Join(dir, "hostname"), []byte(hostname+"\n"), 0o644); err != nil {
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
	if err := atomicfile.Write(filepath.Join(dir, "hosts"), hosts, 0o644); err != nil {
		return err
	}
	hostResolv, _ := os.ReadFile("/etc/resolv.conf")
	resolv, _, err := ocispec.ResolvConf(hostResolv, ocispec.DNS{Nameservers: cfg.DNS, Search: cfg.DNSSearch, Options: cfg.DNSOptions, HostNetwork: host})
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "resolv.conf"), resolv, 0o644)
}
