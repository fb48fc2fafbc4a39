package runc

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/runtime"
)

// writeEtcFiles writes the container's /etc/hostname, /etc/hosts and
// /etc/resolv.conf into its state directory, to be bind-mounted. The network
// issue will rewrite hosts and resolv.conf when it attaches the container.
func writeEtcFiles(dir, hostname string, cfg runtime.Config) error {
	if err := atomicfile.Write(filepath.Join(dir, "hostname"), []byte(hostname+"\n"), 0o644); err != nil {
		return err
	}
	var hosts strings.Builder
	if cfg.NetworkMode == "host" {
		b, _ := os.ReadFile("/etc/hosts")
		hosts.Write(b)
	} else {
		hosts.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
	}
	for _, h := range cfg.ExtraHosts {
		name, ip, ok := strings.Cut(h, ":")
		if ok {
			hosts.WriteString(ip + "\t" + name + "\n")
		}
	}
	if err := atomicfile.Write(filepath.Join(dir, "hosts"), []byte(hosts.String()), 0o644); err != nil {
		return err
	}
	host, _ := os.ReadFile("/etc/resolv.conf")
	return atomicfile.Write(filepath.Join(dir, "resolv.conf"), []byte(resolvConf(string(host), cfg)), 0o644)
}

// resolvConf is Docker's: the host's file without loopback name servers
// (unreachable from another network namespace), Google's public servers if
// none is left, and the container's --dns, --dns-search and --dns-option.
func resolvConf(host string, cfg runtime.Config) string {
	var ns, search, opts []string
	for _, line := range strings.Split(host, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if cfg.NetworkMode == "host" || !(strings.HasPrefix(f[1], "127.") || f[1] == "::1") {
				ns = append(ns, f[1])
			}
		case "search":
			search = f[1:]
		case "options":
			opts = append(opts, f[1:]...)
		}
	}
	if len(cfg.DNS) > 0 {
		ns = cfg.DNS
	}
	if len(ns) == 0 {
		ns = []string{"8.8.8.8", "8.8.4.4"}
	}
	if len(cfg.DNSSearch) > 0 {
		search = cfg.DNSSearch
	}
	if len(cfg.DNSOptions) > 0 {
		opts = cfg.DNSOptions
	}
	var b strings.Builder
	for _, n := range ns {
		b.WriteString("nameserver " + n + "\n")
	}
	if len(search) > 0 {
		b.WriteString("search " + strings.Join(search, " ") + "\n")
	}
	if len(opts) > 0 {
		b.WriteString("options " + strings.Join(opts, " ") + "\n")
	}
	return b.String()
}
