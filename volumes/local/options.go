package local

import (
	"context"
	"fmt"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
)

// mountSpec is what the local driver mounts on a volume's _data directory
// at its first Mount; the zero value means a plain directory, no mount.
type mountSpec struct {
	Type    string // filesystem type for mount(2): tmpfs, none (bind), nfs, ext4, ...
	Device  string // source: "tmpfs", a host path for binds, ":/export" for nfs
	Options string // Docker's "o": flags (ro, bind, nosuid, ...) and fs data (size=100m, addr=...)
}

// needsMount reports whether the spec mounts anything.
func (s mountSpec) needsMount() bool { return s.Type != "" || s.Device != "" }

// mandatoryOptions is Docker's local driver rule: an option present needs
// the listed others.
var mandatoryOptions = []struct {
	opt      string
	requires []string
}{
	{"type", []string{"device"}},
	{"device", []string{"type"}},
	{"o", []string{"device", "type"}},
}

// parseOptions validates the local driver's options (type, device, o) as
// Docker does and returns what to mount. Errors are ErrInvalidArgument.
func parseOptions(opts map[string]string) (mountSpec, error) {
	if len(opts) == 0 {
		return mountSpec{}, nil
	}
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		switch k {
		case "type", "device", "o":
		case "size":
			return mountSpec{}, fmt.Errorf("quota size requested but no quota support: %w", errdefs.ErrInvalidArgument)
		default:
			return mountSpec{}, fmt.Errorf("invalid option: %q: %w", k, errdefs.ErrInvalidArgument)
		}
	}
	for _, m := range mandatoryOptions {
		if _, ok := opts[m.opt]; !ok {
			continue
		}
		for _, r := range m.requires {
			if _, ok := opts[r]; !ok {
				return mountSpec{}, fmt.Errorf("missing required option: %q: %w", r, errdefs.ErrInvalidArgument)
			}
		}
	}
	s := mountSpec{Type: opts["type"], Device: opts["device"], Options: opts["o"]}
	if s.Type == "" || s.Device == "" {
		return mountSpec{}, fmt.Errorf("options type and device must not be empty: %w", errdefs.ErrInvalidArgument)
	}
	if hasOption(s.Options, "bind") || hasOption(s.Options, "rbind") {
		if !filepath.IsAbs(s.Device) {
			return mountSpec{}, fmt.Errorf("bind mount device %q must be an absolute path: %w", s.Device, errdefs.ErrInvalidArgument)
		}
	}
	return s, nil
}

// hasOption reports whether the comma-separated list o holds the flag name.
func hasOption(o, name string) bool {
	return slices.Contains(strings.Split(o, ","), name)
}

// optionValue returns the value of key=value in the comma-separated list o.
func optionValue(o, key string) (string, bool) {
	for _, f := range strings.Split(o, ",") {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v, true
		}
	}
	return "", false
}

// resolveAddr replaces a host name in nfs's addr= option with its IP
// address, as Docker does: the kernel's nfs client takes addresses only.
func resolveAddr(ctx context.Context, s mountSpec, lookup func(ctx context.Context, host string) ([]net.IPAddr, error)) (mountSpec, error) {
	if s.Type != "nfs" && s.Type != "nfs4" {
		return s, nil
	}
	addr, ok := optionValue(s.Options, "addr")
	if !ok || addr == "" || net.ParseIP(addr) != nil {
		return s, nil
	}
	ips, err := lookup(ctx, addr)
	if err != nil {
		return s, fmt.Errorf("resolve nfs addr %s: %w", addr, err)
	}
	if len(ips) == 0 {
		return s, fmt.Errorf("resolve nfs addr %s: no address", addr)
	}
	fields := strings.Split(s.Options, ",")
	for i, f := range fields {
		if f == "addr="+addr {
			fields[i] = "addr=" + ips[0].IP.String()
		}
	}
	s.Options = strings.Join(fields, ",")
	return s, nil
}

// maskPassword hides cifs's password= in an error message.
func maskPassword(msg, o string) string {
	if p, ok := optionValue(o, "password"); ok && p != "" {
		return strings.ReplaceAll(msg, "password="+p, "password=********")
	}
	return msg
}
