package cni

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"

	"github.com/containerd/errdefs"
	"github.com/docker/go-connections/nat"

	"github.com/berth-dev/berth/runtime"
)

// ParsePorts parses `-p` values, Docker's `[hostip:][hostport:]containerport[/proto]`
// with ranges (`8000-8001:80-81`), into one binding per port. A missing host
// port is 0: any free port, chosen at Attach. A host range for one
// container port (`8000-8010:80`) is HostPort..HostPortEnd, one free port
// of which Attach picks. It is pure; bad input is ErrInvalidArgument.
func ParsePorts(specs []string) ([]runtime.PortBinding, error) {
	var out []runtime.PortBinding
	for _, spec := range specs {
		ms, err := nat.ParsePortSpec(spec)
		if err != nil {
			return nil, fmt.Errorf("publish %q: %v: %w", spec, err, errdefs.ErrInvalidArgument)
		}
		for _, m := range ms {
			if m.Port.Proto() == "sctp" {
				return nil, fmt.Errorf("publish %q: sctp is not supported: %w", spec, errdefs.ErrInvalidArgument)
			}
			b := runtime.PortBinding{HostIP: m.Binding.HostIP, ContainerPort: uint16(m.Port.Int()), Protocol: m.Port.Proto()}
			if m.Binding.HostPort != "" {
				lo, hi, isRange := strings.Cut(m.Binding.HostPort, "-")
				start, err := strconv.ParseUint(lo, 10, 16)
				end := start
				if err == nil && isRange {
					end, err = strconv.ParseUint(hi, 10, 16)
				}
				if err != nil || end < start || isRange && start == 0 {
					return nil, fmt.Errorf("publish %q: host port %q: %w", spec, m.Binding.HostPort, errdefs.ErrInvalidArgument)
				}
				b.HostPort = uint16(start)
				if end > start {
					b.HostPortEnd = uint16(end)
				}
			}
			if b.ContainerPort == 0 {
				return nil, fmt.Errorf("publish %q: container port 0: %w", spec, errdefs.ErrInvalidArgument)
			}
			out = append(out, b)
		}
	}
	return out, nil
}

// probe binds hostIP:port/proto and releases it at once, returning the
// port bound (the kernel's choice for port 0).
type probe func(hostIP string, port uint16, proto string) (uint16, error)

// assignPorts fills in host ports: a free one for HostPort 0, and for a
// given one a check that no other attachment publishes it and that the host
// can bind it. A port in use is ErrConflict.
func assignPorts(req []runtime.PortBinding, others []Attachment, bind probe) ([]runtime.PortBinding, error) {
	var taken []runtime.PortBinding
	for _, a := range others {
		taken = append(taken, a.Ports...)
	}
	out := make([]runtime.PortBinding, 0, len(req))
	for _, p := range req {
		if p.Protocol == "" {
			p.Protocol = "tcp"
		}
		if p.Protocol != "tcp" && p.Protocol != "udp" {
			return nil, fmt.Errorf("publish %d/%s: protocol must be tcp or udp: %w", p.ContainerPort, p.Protocol, errdefs.ErrInvalidArgument)
		}
		if p.HostIP != "" {
			if _, err := netip.ParseAddr(p.HostIP); err != nil {
				return nil, fmt.Errorf("publish %d/%s: host ip %q: %w", p.ContainerPort, p.Protocol, p.HostIP, errdefs.ErrInvalidArgument)
			}
		}
		if p.HostPortEnd > p.HostPort {
			port, err := pickInRange(p, taken, bind)
			if err != nil {
				return nil, err
			}
			p.HostPort, p.HostPortEnd = port, 0
		} else if p.HostPort != 0 {
			p.HostPortEnd = 0
			if conflicts(p, taken) {
				return nil, fmt.Errorf("bind for %s failed: port is already allocated: %w", hostAddr(p), errdefs.ErrConflict)
			}
			if _, err := bind(p.HostIP, p.HostPort, p.Protocol); err != nil {
				return nil, fmt.Errorf("bind for %s failed: %w", hostAddr(p), portErr(err))
			}
		} else {
			found := false
			for range 32 {
				port, err := bind(p.HostIP, 0, p.Protocol)
				if err != nil {
					return nil, fmt.Errorf("publish %d/%s: pick a host port: %w", p.ContainerPort, p.Protocol, portErr(err))
				}
				p.HostPort = port
				if !conflicts(p, taken) {
					found = true
					break
				}
			}
			if !found {
				return nil, fmt.Errorf("publish %d/%s: no free host port: %w", p.ContainerPort, p.Protocol, errdefs.ErrResourceExhausted)
			}
		}
		taken = append(taken, p)
		out = append(out, p)
	}
	return out, nil
}

// pickInRange returns the first port of p's host range that no other
// binding publishes and the host can bind, as Docker's allocator does.
// A range with none free is ErrConflict.
func pickInRange(p runtime.PortBinding, taken []runtime.PortBinding, bind probe) (uint16, error) {
	var last error
	for port := uint32(p.HostPort); port <= uint32(p.HostPortEnd); port++ {
		c := p
		c.HostPort, c.HostPortEnd = uint16(port), 0
		if conflicts(c, taken) {
			continue
		}
		if _, err := bind(c.HostIP, c.HostPort, c.Protocol); err != nil {
			last = err
			continue
		}
		return c.HostPort, nil
	}
	ip := p.HostIP
	if ip == "" {
		ip = "0.0.0.0"
	}
	addr := fmt.Sprintf("%s:%d-%d/%s", ip, p.HostPort, p.HostPortEnd, p.Protocol)
	if last != nil && !errors.Is(last, syscall.EADDRINUSE) {
		return 0, fmt.Errorf("bind for %s failed: %w", addr, portErr(last))
	}
	return 0, fmt.Errorf("bind for %s failed: port is already allocated: %w", addr, errdefs.ErrConflict)
}

// conflicts reports whether p's host side clashes with one of taken: same
// protocol and port, and either side on all addresses or the same address.
func conflicts(p runtime.PortBinding, taken []runtime.PortBinding) bool {
	for _, t := range taken {
		if t.Protocol == p.Protocol && t.HostPort == p.HostPort &&
			(t.HostIP == "" || p.HostIP == "" || t.HostIP == p.HostIP) {
			return true
		}
	}
	return false
}

func hostAddr(p runtime.PortBinding) string {
	ip := p.HostIP
	if ip == "" {
		ip = "0.0.0.0"
	}
	return net.JoinHostPort(ip, strconv.Itoa(int(p.HostPort))) + "/" + p.Protocol
}

func portErr(err error) error {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("port is already allocated: %w", errdefs.ErrConflict)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Errorf("host address not available: %w", errdefs.ErrInvalidArgument)
	}
	return err
}

// probePort is the real probe: listen, read the port, close.
func probePort(hostIP string, port uint16, proto string) (uint16, error) {
	addr := net.JoinHostPort(hostIP, strconv.Itoa(int(port)))
	if proto == "udp" {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return uint16(c.LocalAddr().(*net.UDPAddr).Port), nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port), nil
}
