package runc

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

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
		"Networks": nets, "Ports": Ports(rec.Config.Ports, livePorts(att, rec), rec.ImageConfig.ExposedPorts),
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
		EndpointID: rec.ID[:12] + "-" + ep.IfName,
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

// Ports is Docker's port map of a container: the bindings it has (live,
// with the host ports chosen) or else asked for, and its image's exposed
// ports without bindings as null. It is pure.
func Ports(asked, live []runtime.PortBinding, exposed map[string]struct{}) PortMap {
	out := PortMap{}
	for k := range exposed {
		if !strings.Contains(k, "/") {
			k += "/tcp"
		}
		out[k] = nil
	}
	bindings := live
	if bindings == nil {
		for _, p := range asked {
			out[portKey(p)] = nil
		}
		return out
	}
	for _, p := range bindings {
		ip := p.HostIP
		if ip == "" {
			ip = "0.0.0.0"
		}
		out[portKey(p)] = append(out[portKey(p)], HostBinding{HostIP: ip, HostPort: strconv.Itoa(int(p.HostPort))})
	}
	return out
}

func portKey(p runtime.PortBinding) string {
	return fmt.Sprintf("%d/%s", p.ContainerPort, cmp.Or(p.Protocol, "tcp"))
}

// FormatPorts is ps's PORTS column, as Docker writes it:
// "0.0.0.0:8080->80/tcp, 443/tcp", published ports first by container port.
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
			parts = append(parts, fmt.Sprintf("%s:%s->%s", b.HostIP, b.HostPort, k))
		}
	}
	return strings.Join(parts, ", ")
}

// PortMap is the container's port map as inspect shows it: live bindings
// while it runs.
func (r *Runtime) PortMap(ctx context.Context, rec *Record, st monitor.State) PortMap {
	var live []runtime.PortBinding
	if isActive(st.Status) && len(rec.Config.Ports) > 0 {
		if att, err := r.NetworkState(ctx, rec.ID); err == nil {
			live = att.Ports
		}
	}
	return Ports(rec.Config.Ports, live, rec.ImageConfig.ExposedPorts)
}

// livePorts are the attachment's bindings, or nil when the container has
// none live (not running), so that Ports shows the asked ones unbound.
func livePorts(att cni.Attachment, rec *Record) []runtime.PortBinding {
	if len(att.Endpoints) == 0 || len(rec.Config.Ports) == 0 {
		return nil
	}
	return att.Ports
}
