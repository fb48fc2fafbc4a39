package runc

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/fvbommel/sortorder"

	"github.com/berth-dev/berth/network/cni"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/runc/monitor"
)

// EndpointSettings is one network of Docker's NetworkSettings.Networks.
type EndpointSettings struct {
	Aliases             []string `json:"Aliases"`
	DNSNames            []string `json:"DNSNames"`
	MacAddress          string   `json:"MacAddress"`
	NetworkID           string   `json:"NetworkID"`
	EndpointID          string   `json:"EndpointID"`
	Gateway             string   `json:"Gateway"`
	IPAddress           string   `json:"IPAddress"`
	IPPrefixLen         int      `json:"IPPrefixLen"`
	IPv6Gateway         string   `json:"IPv6Gateway"`
	GlobalIPv6Address   string   `json:"GlobalIPv6Address"`
	GlobalIPv6PrefixLen int      `json:"GlobalIPv6PrefixLen"`
}

// PortMap is Docker's NetworkSettings.Ports: "80/tcp" to its host
// bindings, null for a port exposed but not published.
type PortMap map[string][]HostBinding

// HostBinding is one host side of a published port.
type HostBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string `json:"HostPort"`
}

// networkSettings is Docker's NetworkSettings of a container: its networks
// with the addresses it has while it runs (empty while stopped) and its
// ports.
func (r *Runtime) networkSettings(ctx context.Context, rec *Record, st monitor.State) map[string]any {
	var att cni.Attachment
	if isActive(st.Status) {
		att, _ = r.NetworkState(ctx, rec.ID)
	}
	nets := map[string]EndpointSettings{}
	if kindOf(rec.Config.NetworkMode) == netAttached {
		for _, na := range rec.networks() {
			nets[na.Network] = EndpointSettings{Aliases: na.Aliases}
		}
		if len(nets) == 0 {
			nets[cni.DefaultName] = EndpointSettings{}
		}
	} else if m := rec.Config.NetworkMode; m == "none" || m == "host" {
		nets[m] = EndpointSettings{}
	}
	for _, ep := range att.Endpoints {
		nets[ep.Network] = endpointSettings(rec, ep)
	}
	ns := map[string]any{
		"Networks": nets, "Ports": portMapOf(rec, att),
		"SandboxKey": "", "SandboxID": "",
		"IPAddress": "", "Gateway": "", "MacAddress": "", "IPPrefixLen": 0,
	}
	if len(att.Endpoints) > 0 {
		ns["SandboxKey"], ns["SandboxID"] = att.NetNSPath, rec.ID
	}
	if d, ok := nets[cni.DefaultName]; ok && d.IPAddress != "" {
		// Docker repeats the default network's address at the top level.
		ns["IPAddress"], ns["Gateway"], ns["MacAddress"], ns["IPPrefixLen"] = d.IPAddress, d.Gateway, d.MacAddress, d.IPPrefixLen
	}
	return ns
}

func endpointSettings(rec *Record, ep cni.Endpoint) EndpointSettings {
	es := EndpointSettings{
		Aliases: ep.Aliases, MacAddress: ep.MAC, NetworkID: ep.NetworkID,
		EndpointID: cni.EndpointID(rec.ID, ep.NetworkID),
		DNSNames:   append([]string{rec.Name, ShortID(rec.ID)}, ep.Aliases...),
	}
	for _, p := range ep.IPs {
		if p.Addr().Is4() && es.IPAddress == "" {
			es.IPAddress, es.IPPrefixLen = p.Addr().String(), p.Bits()
		} else if p.Addr().Is6() && es.GlobalIPv6Address == "" {
			es.GlobalIPv6Address, es.GlobalIPv6PrefixLen = p.Addr().String(), p.Bits()
		}
	}
	for _, g := range ep.Gateways {
		if g.Is4() && es.Gateway == "" {
			es.Gateway = g.String()
		} else if g.Is6() && es.IPv6Gateway == "" {
			es.IPv6Gateway = g.String()
		}
	}
	return es
}

// Families are the address families a container's published ports are
// forwarded in: those of the addresses of the interface carrying them.
type Families struct{ V4, V6 bool }

// Ports is Docker's NetworkSettings.Ports: what is bound now. Nothing
// unless the container runs attached to a network (Docker forgets the
// bindings when it stops); then every port its image exposes, null, and
// every port it publishes with the host bindings it has. A binding on no
// particular host address is listed once per family the port is forwarded
// in, 0.0.0.0 and ::, as Docker lists them. It is pure.
func Ports(attached bool, live []runtime.PortBinding, exposed map[string]struct{}, fam Families) PortMap {
	out := PortMap{}
	if !attached {
		return out
	}
	for k := range exposed {
		if !strings.Contains(k, "/") {
			k += "/tcp"
		}
		out[k] = nil
	}
	if !fam.V4 && !fam.V6 {
		fam.V4 = true
	}
	for _, p := range live {
		k, port := portKey(p), strconv.Itoa(int(p.HostPort))
		if p.HostIP != "" {
			out[k] = append(out[k], HostBinding{HostIP: p.HostIP, HostPort: port})
			continue
		}
		if fam.V4 {
			out[k] = append(out[k], HostBinding{HostIP: "0.0.0.0", HostPort: port})
		}
		if fam.V6 {
			out[k] = append(out[k], HostBinding{HostIP: "::", HostPort: port})
		}
		if out[k] == nil {
			out[k] = []HostBinding{}
		}
	}
	return out
}

// PortBindings is Docker's HostConfig.PortBindings: the ports asked with
// -p, as asked (HostIp "" for no address, HostPort "" for any free port,
// "8000-8010" for a range to pick from), one key per container port, a
// range of container ports expanded. It is pure.
func PortBindings(asked []runtime.PortBinding) PortMap {
	out := PortMap{}
	for _, p := range asked {
		port := ""
		switch {
		case p.HostPortEnd > p.HostPort:
			port = fmt.Sprintf("%d-%d", p.HostPort, p.HostPortEnd)
		case p.HostPort != 0:
			port = strconv.Itoa(int(p.HostPort))
		}
		out[portKey(p)] = append(out[portKey(p)], HostBinding{HostIP: p.HostIP, HostPort: port})
	}
	return out
}

// ExposedPorts is Docker's Config.ExposedPorts: the image's and the
// published ones; nil when none. It is pure.
func ExposedPorts(image map[string]struct{}, ports []runtime.PortBinding) map[string]struct{} {
	if len(image) == 0 && len(ports) == 0 {
		return nil
	}
	out := map[string]struct{}{}
	for k := range image {
		if !strings.Contains(k, "/") {
			k += "/tcp"
		}
		out[k] = struct{}{}
	}
	for _, p := range ports {
		out[portKey(p)] = struct{}{}
	}
	return out
}

// askedPorts are the ports the container was created with -p.
func askedPorts(rec *Record) []runtime.PortBinding {
	if rec.PublishAll {
		return rec.PortBindings
	}
	return rec.Config.Ports
}

// PortLines is `docker port`'s output: for private "" every binding as
// "80/tcp -> 0.0.0.0:8080", else the bindings of that port ("80" is
// 80/tcp) as "0.0.0.0:8080"; in natural order, as Docker sorts them. ok
// is false when private has no binding. It is pure.
func PortLines(m PortMap, private string) (lines []string, ok bool) {
	if private != "" {
		if !strings.Contains(private, "/") {
			private += "/tcp"
		}
		for _, b := range m[private] {
			lines = append(lines, net.JoinHostPort(b.HostIP, b.HostPort))
		}
		if len(lines) == 0 {
			return nil, false
		}
	} else {
		for k, bs := range m {
			for _, b := range bs {
				lines = append(lines, k+" -> "+net.JoinHostPort(b.HostIP, b.HostPort))
			}
		}
	}
	slices.SortFunc(lines, func(a, b string) int {
		if sortorder.NaturalLess(a, b) {
			return -1
		}
		if sortorder.NaturalLess(b, a) {
			return 1
		}
		return 0
	})
	return lines, true
}

func portKey(p runtime.PortBinding) string {
	return fmt.Sprintf("%d/%s", p.ContainerPort, cmp.Or(p.Protocol, "tcp"))
}

// FormatPorts is ps's PORTS column, as Docker writes it:
// "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp, 443/tcp", by container port
// (an IPv6 address in brackets, as current Docker CLIs write it).
// It is pure.
func FormatPorts(m PortMap) string {
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int {
		na, _ := strconv.Atoi(strings.SplitN(a, "/", 2)[0])
		nb, _ := strconv.Atoi(strings.SplitN(b, "/", 2)[0])
		return cmp.Or(cmp.Compare(na, nb), cmp.Compare(a, b))
	})
	var parts []string
	for _, k := range keys {
		if len(m[k]) == 0 {
			parts = append(parts, k)
			continue
		}
		for _, b := range m[k] {
			parts = append(parts, net.JoinHostPort(b.HostIP, b.HostPort)+"->"+k)
		}
	}
	return strings.Join(parts, ", ")
}

// PortMap is the container's NetworkSettings.Ports as inspect shows it:
// the live bindings while it runs.
func (r *Runtime) PortMap(ctx context.Context, rec *Record, st monitor.State) PortMap {
	var att cni.Attachment
	if isActive(st.Status) {
		att, _ = r.NetworkState(ctx, rec.ID)
	}
	return portMapOf(rec, att)
}

// portMapOf is the port map of a container with attachment att (empty
// when it does not run).
func portMapOf(rec *Record, att cni.Attachment) PortMap {
	var fam Families
	for _, ep := range att.Endpoints {
		if _, ok := ep.CapabilityArgs["portMappings"]; !ok {
			continue
		}
		for _, p := range ep.IPs {
			fam.V4 = fam.V4 || p.Addr().Is4()
			fam.V6 = fam.V6 || p.Addr().Is6()
		}
	}
	return Ports(len(att.Endpoints) > 0, att.Ports, rec.ImageConfig.ExposedPorts, fam)
}
