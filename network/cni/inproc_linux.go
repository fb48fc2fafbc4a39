package cni

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/containernetworking/cni/pkg/invoke"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/ip"
	"github.com/containernetworking/plugins/pkg/ipam"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/utils/sysctl"
	"github.com/containernetworking/plugins/plugins/ipam/host-local/backend/allocator"
	"github.com/containernetworking/plugins/plugins/ipam/host-local/backend/disk"
	"github.com/vishvananda/netlink"
)

// inProcess is libcni's plugin executor (invoke.Exec) that runs the
// bridge plugin with host-local IPAM inside berth instead of as two
// binaries: an exec of a CNI plugin costs 15-20 ms here, and a bridge ADD
// execs two (bridge, then host-local from it), a DEL two more. portmap is
// replaced by berth's own rules (PortRules, one iptables-restore), as the
// plugin execs iptables a dozen times per ADD and DEL (~120 ms each).
//
// It does what the standard plugins do for the conflists berth generates
// (Conflist: bridge with isGateway and hairpinMode, no ipMasq, host-local
// ranges and routes), with the containernetworking/plugins packages those
// plugins are made of (pkg/ip, pkg/ipam, host-local's allocator and disk
// store): the same veth set-up, the same lease files under the same lock,
// the same result, so libcni's cache, DEL by the binaries and leases made
// by either side all agree. Any other plugin, command or configuration
// (another field, ipMasq, another IPAM) runs the binary found in the path.
type inProcess struct {
	raw invoke.RawExec
	version.PluginDecoder
	hostLock string // the host-wide network lock, for port rules
}

var _ invoke.Exec = (*inProcess)(nil)

func (e *inProcess) FindInPath(plugin string, paths []string) (string, error) {
	return e.raw.FindInPath(plugin, paths)
}

func (e *inProcess) ExecPlugin(ctx context.Context, pluginPath string, stdin []byte, environ []string) ([]byte, error) {
	if filepath.Base(pluginPath) == "portmap" {
		if conf, ok := inProcessPortmap(stdin); ok {
			args := pluginArgs(environ)
			switch args.command {
			case "ADD":
				return e.portsAdd(ctx, conf, args)
			case "DEL":
				found, err := e.portsDel(ctx, conf, args)
				if found || err != nil {
					return nil, err
				}
				// None of berth's: the portmap binary's, if any.
				return e.raw.ExecPlugin(ctx, pluginPath, stdin, environ)
			}
		}
	}
	if filepath.Base(pluginPath) == "bridge" {
		if conf, ok := inProcessBridge(stdin); ok {
			args := pluginArgs(environ)
			switch args.command {
			case "ADD":
				return bridgeAdd(conf, stdin, args)
			case "DEL":
				return nil, bridgeDel(stdin, args)
			}
		}
	}
	return e.raw.ExecPlugin(ctx, pluginPath, stdin, environ)
}

// cniArgs are the CNI_* variables a plugin is run with.
type cniArgs struct {
	command, containerID, netns, ifName, args string
}

func pluginArgs(environ []string) cniArgs {
	var a cniArgs
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "CNI_COMMAND":
			a.command = v
		case "CNI_CONTAINERID":
			a.containerID = v
		case "CNI_NETNS":
			a.netns = v
		case "CNI_IFNAME":
			a.ifName = v
		case "CNI_ARGS":
			a.args = v
		}
	}
	return a
}

// bridgeNet is the part of a bridge plugin configuration run in-process.
type bridgeNet struct {
	CNIVersion    string `json:"cniVersion"`
	Bridge        string `json:"bridge"`
	IsGateway     bool   `json:"isGateway"`
	HairpinMode   bool   `json:"hairpinMode"`
	MTU           int    `json:"mtu"`
	RuntimeConfig struct {
		Mac string `json:"mac"`
	} `json:"runtimeConfig"`
}

// inProcessBridge decodes a bridge configuration that the in-process
// bridge does exactly as the binary would: only the fields berth's
// conflists use, host-local IPAM, no ipMasq. It is pure.
func inProcessBridge(stdin []byte) (bridgeNet, bool) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(stdin, &fields); err != nil {
		return bridgeNet{}, false
	}
	known := []string{"cniVersion", "name", "type", "bridge", "isGateway", "ipMasq", "hairpinMode", "mtu",
		"capabilities", "ipam", "runtimeConfig", "prevResult"}
	for k := range fields {
		if !slices.Contains(known, k) {
			return bridgeNet{}, false
		}
	}
	var c struct {
		bridgeNet
		IPMasq bool `json:"ipMasq"`
		IPAM   struct {
			Type string `json:"type"`
		} `json:"ipam"`
		RuntimeConfig map[string]json.RawMessage `json:"runtimeConfig"`
	}
	if err := json.Unmarshal(stdin, &c); err != nil || c.IPMasq || c.IPAM.Type != "host-local" || c.Bridge == "" {
		return bridgeNet{}, false
	}
	for k := range c.RuntimeConfig {
		if k != "ips" && k != "mac" {
			return bridgeNet{}, false
		}
	}
	if err := json.Unmarshal(stdin, &c.bridgeNet); err != nil {
		return bridgeNet{}, false
	}
	return c.bridgeNet, true
}

// bridgeAdd is the bridge plugin's ADD: a veth pair with one end in the
// container's namespace as args.ifName and the other on the bridge, an
// address from host-local, routes, the gateway on the bridge. On error
// nothing of it is left.
func bridgeAdd(conf bridgeNet, stdin []byte, args cniArgs) (out []byte, err error) {
	link, err := netlink.LinkByName(conf.Bridge)
	if err != nil {
		return nil, fmt.Errorf("bridge %s: %w", conf.Bridge, err)
	}
	br, ok := link.(*netlink.Bridge)
	if !ok {
		return nil, fmt.Errorf("%s is not a bridge", conf.Bridge)
	}
	netns, err := ns.GetNS(args.netns)
	if err != nil {
		return nil, fmt.Errorf("open netns %q: %w", args.netns, err)
	}
	defer netns.Close()

	var hostVeth, contVeth net.Interface
	err = netns.Do(func(hostNS ns.NetNS) error {
		var err error
		hostVeth, contVeth, err = ip.SetupVeth(args.ifName, conf.MTU, conf.RuntimeConfig.Mac, hostNS)
		return err
	})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = netns.Do(func(ns.NetNS) error { return ip.DelLinkByName(args.ifName) })
		}
	}()
	host, err := netlink.LinkByName(hostVeth.Name)
	if err != nil {
		return nil, fmt.Errorf("lookup %s: %w", hostVeth.Name, err)
	}
	if err := netlink.LinkSetMaster(host, br); err != nil {
		return nil, fmt.Errorf("connect %s to bridge %s: %w", hostVeth.Name, conf.Bridge, err)
	}
	if err := netlink.LinkSetHairpin(host, conf.HairpinMode); err != nil {
		return nil, fmt.Errorf("hairpin mode of %s: %w", hostVeth.Name, err)
	}

	ipamRes, err := hostLocalAdd(stdin, args)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = hostLocalDel(stdin, args)
		}
	}()
	res := &current.Result{
		CNIVersion: current.ImplementedSpecVersion,
		Interfaces: []*current.Interface{
			{Name: conf.Bridge},
			{Name: hostVeth.Name},
			{Name: contVeth.Name, Mac: contVeth.HardwareAddr.String(), Sandbox: netns.Path()},
		},
		IPs: ipamRes.IPs, Routes: ipamRes.Routes, DNS: ipamRes.DNS,
	}
	if len(res.IPs) == 0 {
		return nil, errors.New("IPAM plugin returned missing IP config")
	}
	var gateways []*net.IPNet
	for _, ipc := range res.IPs {
		ipc.Interface = current.Int(2)
		if conf.IsGateway && ipc.Gateway == nil {
			ipc.Gateway = ip.NextIP(ipc.Address.IP.Mask(ipc.Address.Mask))
		}
		if conf.IsGateway {
			gateways = append(gateways, &net.IPNet{IP: ipc.Gateway, Mask: ipc.Address.Mask})
		}
	}
	err = netns.Do(func(ns.NetNS) error {
		_, _ = sysctl.Sysctl(fmt.Sprintf("net/ipv6/conf/%s/accept_dad", args.ifName), "0")
		_, _ = sysctl.Sysctl(fmt.Sprintf("net/ipv4/conf/%s/arp_notify", args.ifName), "1")
		return ipam.ConfigureIface(args.ifName, res)
	})
	if err != nil {
		return nil, err
	}
	for _, gw := range gateways {
		if err := netlink.AddrAdd(br, &netlink.Addr{IPNet: gw}); err != nil && !errors.Is(err, syscall.EEXIST) {
			return nil, fmt.Errorf("set bridge address %s: %w", gw, err)
		}
		enable := ip.EnableIP4Forward
		if gw.IP.To4() == nil {
			enable = ip.EnableIP6Forward
		}
		if err := enable(); err != nil {
			return nil, fmt.Errorf("enable forwarding: %w", err)
		}
	}
	// As the plugin: the port must be up before ADD returns. It usually
	// is at once; the plugin's first retry is after 50 ms, this polls.
	deadline := time.Now().Add(2500 * time.Millisecond)
	for {
		if host, err = netlink.LinkByName(hostVeth.Name); err != nil {
			return nil, err
		}
		if host.Attrs().OperState == netlink.OperUp {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("bridge port in error state: %s", host.Attrs().OperState)
		}
		time.Sleep(2 * time.Millisecond)
	}
	res.Interfaces[1].Mac = host.Attrs().HardwareAddr.String()
	if link, err := netlink.LinkByName(conf.Bridge); err == nil {
		res.Interfaces[0].Mac = link.Attrs().HardwareAddr.String()
	}
	return resultBytes(res, conf.CNIVersion)
}

// bridgeDel is the bridge plugin's DEL: the container's veth (if the
// namespace is still there, and unless CNI_ARGS has BERTH_KEEP_LINK=1:
// DetachRemove leaves it to the namespace's destruction) and the lease.
// Idempotent.
func bridgeDel(stdin []byte, args cniArgs) error {
	if args.netns != "" && !strings.Contains(";"+args.args+";", ";BERTH_KEEP_LINK=1;") {
		err := ns.WithNetNSPath(args.netns, func(ns.NetNS) error {
			if err := ip.DelLinkByName(args.ifName); err != nil && !errors.Is(err, ip.ErrLinkNotFound) {
				return err
			}
			return nil
		})
		var gone ns.NSPathNotExistErr
		if err != nil && !errors.As(err, &gone) {
			return err
		}
	}
	return hostLocalDel(stdin, args)
}

// hostLocalAdd is host-local's ADD on the bridge's configuration (the
// plugin hands IPAM its own stdin).
func hostLocalAdd(stdin []byte, args cniArgs) (*current.Result, error) {
	conf, _, err := allocator.LoadIPAMConfig(stdin, args.args)
	if err != nil {
		return nil, err
	}
	store, err := disk.New(conf.Name, conf.DataDir)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	requested := map[string]net.IP{}
	for _, a := range conf.IPArgs {
		requested[a.String()] = a
	}
	res := &current.Result{CNIVersion: current.ImplementedSpecVersion, Routes: conf.Routes}
	var used []*allocator.IPAllocator
	release := func() {
		for _, a := range used {
			_ = a.Release(args.containerID, args.ifName)
		}
	}
	for i := range conf.Ranges {
		a := allocator.NewIPAllocator(&conf.Ranges[i], store, i)
		var want net.IP
		for k, r := range requested {
			if conf.Ranges[i].Contains(r) {
				want = r
				delete(requested, k)
				break
			}
		}
		ipc, err := a.Get(args.containerID, args.ifName, want)
		if err != nil {
			release()
			return nil, fmt.Errorf("failed to allocate for range %d: %v", i, err)
		}
		used = append(used, a)
		res.IPs = append(res.IPs, ipc)
	}
	if len(requested) > 0 {
		release()
		var ips []string
		for k := range requested {
			ips = append(ips, k)
		}
		return nil, fmt.Errorf("failed to allocate all requested IPs: %s", strings.Join(ips, " "))
	}
	return res, nil
}

// hostLocalDel releases every lease of the container's interface.
func hostLocalDel(stdin []byte, args cniArgs) error {
	conf, _, err := allocator.LoadIPAMConfig(stdin, args.args)
	if err != nil {
		return err
	}
	store, err := disk.New(conf.Name, conf.DataDir)
	if err != nil {
		return err
	}
	defer store.Close()
	if releasePrev(store, stdin, conf.DataDir, conf.Name, args) {
		return nil
	}
	var errs []error
	for i := range conf.Ranges {
		errs = append(errs, allocator.NewIPAllocator(&conf.Ranges[i], store, i).Release(args.containerID, args.ifName))
	}
	return errors.Join(errs...)
}

// releasePrev releases the leases named by the DEL's prevResult (libcni
// hands the cached ADD result to every plugin of the list) by their files,
// and reports whether it could: host-local's own release reads every lease
// file of the network under the network's lock, so 50 containers leaving
// at once queued ~3 s behind one another. A lease whose file is missing is
// already released; one that belongs to another container, or no
// prevResult, sends the caller to host-local's release.
func releasePrev(store *disk.Store, stdin []byte, dataDir, network string, args cniArgs) bool {
	var conf struct {
		PrevResult *struct {
			IPs []struct {
				Address string `json:"address"`
			} `json:"ips"`
		} `json:"prevResult"`
	}
	if json.Unmarshal(stdin, &conf) != nil || conf.PrevResult == nil || len(conf.PrevResult.IPs) == 0 {
		return false
	}
	var files []string
	for _, a := range conf.PrevResult.IPs {
		addr, _, err := net.ParseCIDR(a.Address)
		if err != nil {
			return false
		}
		files = append(files, filepath.Join(dataDir, network, addr.String()))
	}
	if err := store.Lock(); err != nil {
		return false
	}
	defer store.Unlock()
	want := strings.TrimSpace(args.containerID) + disk.LineBreak + args.ifName
	for _, f := range files {
		data, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil || strings.TrimSpace(string(data)) != want {
			return false
		}
	}
	for _, f := range files {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return false
		}
	}
	return true
}

// resultBytes is what the plugin prints: the result in the
// configuration's version.
func resultBytes(res *current.Result, cniVersion string) ([]byte, error) {
	r, err := res.GetAsVersion(cniVersion)
	if err != nil {
		return nil, err
	}
	return json.Marshal(r)
}
