package cni

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/containerd/errdefs"
)

// Docker's driver options berth honours.
const (
	OptBridgeName = "com.docker.network.bridge.name"
	OptMTU        = "com.docker.network.driver.mtu"
	OptMasquerade = "com.docker.network.bridge.enable_ip_masquerade"
	OptParent     = "parent"       // macvlan, ipvlan: the host interface
	OptMacvlan    = "macvlan_mode" // bridge (default), private, vepa, passthru
	OptIpvlan     = "ipvlan_mode"  // l2 (default), l3, l3s
)

// cniVersion is the spec version of the generated lists; Debian 12's
// plugins (1.1.1) speak up to 1.0.0.
const cniVersion = "1.0.0"

// conflist is the JSON shape of a CNI network configuration list.
type conflist struct {
	CNIVersion string `json:"cniVersion"`
	Name       string `json:"name"`
	Plugins    []any  `json:"plugins"`
}

type bridgeConf struct {
	Type         string          `json:"type"`
	Bridge       string          `json:"bridge"`
	IsGateway    bool            `json:"isGateway"`
	IPMasq       bool            `json:"ipMasq"`
	HairpinMode  bool            `json:"hairpinMode"`
	MTU          int             `json:"mtu,omitempty"`
	Capabilities map[string]bool `json:"capabilities,omitempty"`
	IPAM         ipamConf        `json:"ipam"`
}

type vlanConf struct { // macvlan and ipvlan
	Type         string          `json:"type"`
	Master       string          `json:"master"`
	Mode         string          `json:"mode,omitempty"`
	MTU          int             `json:"mtu,omitempty"`
	Capabilities map[string]bool `json:"capabilities,omitempty"`
	IPAM         ipamConf        `json:"ipam"`
}

type ipamConf struct {
	Type    string        `json:"type"`
	Ranges  [][]ipamRange `json:"ranges"`
	Routes  []ipamRoute   `json:"routes,omitempty"`
	DataDir string        `json:"dataDir"`
}

type ipamRange struct {
	Subnet     string `json:"subnet"`
	RangeStart string `json:"rangeStart,omitempty"`
	RangeEnd   string `json:"rangeEnd,omitempty"`
	Gateway    string `json:"gateway,omitempty"`
}

type ipamRoute struct {
	Dst string `json:"dst"`
}

type portmapConf struct {
	Type         string          `json:"type"`
	Capabilities map[string]bool `json:"capabilities"`
	SNAT         bool            `json:"snat"`
}

// Conflist generates the CNI configuration list a container is attached to
// net with. It is pure.
//
// Per-network work (masquerade, forwarding rules) is not in the list: it is
// installed once when the network is created (see rules.go), because the
// bridge plugin's ipMasq and the firewall plugin would redo it for every
// container (measured ~11 ms and ~25 ms per ADD). Loopback is brought up
// when the namespace is made (network/netns), saving an exec per container.
// portmap is added only when withPorts, for containers that publish ports.
func Conflist(net Record, ipamDir string, withPorts bool) ([]byte, error) {
	ipam, err := ipamFor(net, ipamDir)
	if err != nil {
		return nil, err
	}
	mtu := 0
	if s := net.Config.Options[OptMTU]; s != "" {
		if mtu, err = strconv.Atoi(s); err != nil || mtu < 68 {
			return nil, fmt.Errorf("network %s: option %s=%q: %w", net.Name, OptMTU, s, errdefs.ErrInvalidArgument)
		}
	}
	caps := map[string]bool{"ips": true, "mac": true}
	var main any
	switch driver(net.Config) {
	case "bridge":
		main = bridgeConf{
			Type: "bridge", Bridge: net.Bridge, IsGateway: true, HairpinMode: true,
			MTU: mtu, Capabilities: caps, IPAM: ipam,
		}
	case "macvlan":
		main = vlanConf{Type: "macvlan", Master: net.Config.Options[OptParent], Mode: net.Config.Options[OptMacvlan],
			MTU: mtu, Capabilities: caps, IPAM: ipam}
	case "ipvlan":
		main = vlanConf{Type: "ipvlan", Master: net.Config.Options[OptParent], Mode: net.Config.Options[OptIpvlan],
			MTU: mtu, Capabilities: map[string]bool{"ips": true}, IPAM: ipam}
	default:
		return nil, fmt.Errorf("network %s: driver %q: %w", net.Name, net.Config.Driver, errdefs.ErrInvalidArgument)
	}
	list := conflist{CNIVersion: cniVersion, Name: net.Name, Plugins: []any{main}}
	if withPorts {
		list.Plugins = append(list.Plugins, portmapConf{
			Type: "portmap", Capabilities: map[string]bool{"portMappings": true}, SNAT: true,
		})
	}
	return json.MarshalIndent(list, "", "  ")
}

func driver(cfg networkConfig) string {
	if cfg.Driver == "" {
		return "bridge"
	}
	return cfg.Driver
}

// ipamFor is host-local IPAM over every subnet of net, one range set per
// subnet, with a default route unless the network is internal.
func ipamFor(net Record, ipamDir string) (ipamConf, error) {
	ipam := ipamConf{Type: "host-local", DataDir: ipamDir}
	var v4, v6 bool
	for _, s := range net.Config.Subnets {
		r, err := hostLocalRange(s.Subnet, s.Gateway, s.IPRange)
		if err != nil {
			return ipamConf{}, fmt.Errorf("network %s: %w", net.Name, err)
		}
		ipam.Ranges = append(ipam.Ranges, []ipamRange{r})
		if netip.MustParsePrefix(r.Subnet).Addr().Is4() {
			v4 = true
		} else {
			v6 = true
		}
	}
	if len(ipam.Ranges) == 0 {
		return ipamConf{}, fmt.Errorf("network %s: no subnet: %w", net.Name, errdefs.ErrInvalidArgument)
	}
	if !net.Config.Internal {
		if v4 {
			ipam.Routes = append(ipam.Routes, ipamRoute{Dst: "0.0.0.0/0"})
		}
		if v6 {
			ipam.Routes = append(ipam.Routes, ipamRoute{Dst: "::/0"})
		}
	}
	return ipam, nil
}

// hostLocalRange turns Docker's subnet/gateway/ip-range into a host-local
// range; host-local takes a start and an end address, not a CIDR.
func hostLocalRange(subnet, gateway, ipRange string) (ipamRange, error) {
	sn, err := netip.ParsePrefix(subnet)
	if err != nil {
		return ipamRange{}, fmt.Errorf("subnet %q: %w", subnet, errdefs.ErrInvalidArgument)
	}
	sn = sn.Masked()
	r := ipamRange{Subnet: sn.String()}
	if gateway != "" {
		gw, err := netip.ParseAddr(gateway)
		if err != nil || !sn.Contains(gw) {
			return ipamRange{}, fmt.Errorf("gateway %q not in subnet %s: %w", gateway, sn, errdefs.ErrInvalidArgument)
		}
		r.Gateway = gw.String()
	}
	if ipRange != "" {
		ir, err := netip.ParsePrefix(ipRange)
		if err != nil || !Overlaps(sn, ir) || ir.Bits() < sn.Bits() {
			return ipamRange{}, fmt.Errorf("ip-range %q not in subnet %s: %w", ipRange, sn, errdefs.ErrInvalidArgument)
		}
		ir = ir.Masked()
		start, end := ir.Addr(), lastAddr(ir)
		if start == sn.Addr() {
			start = start.Next()
		}
		if end == lastAddr(sn) && sn.Addr().Is4() {
			end = end.Prev()
		}
		r.RangeStart, r.RangeEnd = start.String(), end.String()
	}
	return r, nil
}
