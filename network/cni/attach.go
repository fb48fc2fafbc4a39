package cni

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/internal/flock"
	"github.com/berth-dev/berth/network/netns"
	"github.com/berth-dev/berth/runtime"
)

// AttachRequest joins one container's network namespace to networks.
type AttachRequest struct {
	ContainerID string
	// Name is the container's name; with each network's aliases it is what
	// the network's DNS answers for the container.
	Name string
	// NetNSPath is the bind-mounted namespace, from netns.New.
	NetNSPath string
	// Networks to join, in order: the first becomes eth0. Empty means the
	// default network; Network "" is the default network too.
	Networks []runtime.NetworkAttachment
	// Ports to publish, on the first bridge network. HostPort 0 picks a
	// free port.
	Ports []runtime.PortBinding
	// Isolated attaches to no network at all (Networks and Ports are
	// ignored): the namespace has loopback only, and the attachment exists
	// with no endpoint, so Connect can join networks later, as Docker lets
	// a container disconnected from its last network be connected again.
	Isolated bool
}

// Interface is a container's interface on one network.
type Interface struct {
	Network  string         `json:"network"`
	IfName   string         `json:"ifName"`
	MAC      string         `json:"mac,omitempty"`
	HostIf   string         `json:"hostIf,omitempty"` // the host end of a veth
	IPs      []netip.Prefix `json:"ips,omitempty"`
	Gateways []netip.Addr   `json:"gateways,omitempty"`
}

// Result is what Attach did: an interface per network, and the published
// ports with the host ports chosen.
type Result struct {
	Interfaces []Interface           `json:"interfaces"`
	Ports      []runtime.PortBinding `json:"ports,omitempty"`
}

// Attachment is the record of an attached container, written before any
// plugin runs so that Detach and Cleanup can undo a half-done Attach.
type Attachment struct {
	ContainerID string                `json:"containerId"`
	Name        string                `json:"name,omitempty"`
	NetNSPath   string                `json:"netns"`
	Ports       []runtime.PortBinding `json:"ports,omitempty"`
	Endpoints   []Endpoint            `json:"endpoints"`
}

// Endpoint is one network of an Attachment, with the exact conflist ADD
// ran with, so DEL never depends on the network's record still existing.
type Endpoint struct {
	Interface
	NetworkID      string          `json:"networkId"`
	Aliases        []string        `json:"aliases,omitempty"`
	Conflist       json.RawMessage `json:"conflist"`
	CapabilityArgs map[string]any  `json:"capabilityArgs,omitempty"`
}

func (m *Manager) attachLock() string { return m.runDir("attachments", ".lock") }

func (m *Manager) attachPath(id string) string { return m.runDir("attachments", id+".json") }

func (m *Manager) cni() *libcni.CNIConfig {
	if m.opts.ExecPlugins {
		return libcni.NewCNIConfigWithCacheDir(m.opts.PluginDirs, m.runDir("cache"), nil)
	}
	return libcni.NewCNIConfigWithCacheDir(m.opts.PluginDirs, m.runDir("cache"), &inProcess{hostLock: m.opts.HostLock})
}

// Attach joins the container's namespace to its networks and publishes
// its ports. Call it after the namespace is made (netns.New) and before the
// container's process starts (`runc start`), so the process never sees a
// namespace without its interfaces.
//
// A host port in use (by the host or another container) is ErrConflict,
// before any plugin runs. An attached container is ErrAlreadyExists. If a
// plugin fails, everything done so far is undone before Attach returns.
func (m *Manager) Attach(ctx context.Context, req AttachRequest) (Result, error) {
	if !validName.MatchString(req.ContainerID) || req.NetNSPath == "" {
		return Result{}, fmt.Errorf("attach %q: a container ID ([a-zA-Z0-9][a-zA-Z0-9_.-]*) and a netns path are required: %w", req.ContainerID, errdefs.ErrInvalidArgument)
	}
	nets := req.Networks
	if len(nets) == 0 {
		nets = []runtime.NetworkAttachment{{Network: DefaultName}}
	}
	if req.Isolated {
		nets, req.Ports = nil, nil
	}
	records := make([]Record, len(nets))
	for i, na := range nets {
		r, err := m.ready(ctx, na.Network)
		if err != nil {
			return Result{}, fmt.Errorf("attach %s: %w", req.ContainerID, err)
		}
		if slices.ContainsFunc(records[:i], func(o Record) bool { return o.ID == r.ID }) {
			return Result{}, fmt.Errorf("attach %s: network %s given twice: %w", req.ContainerID, r.Name, errdefs.ErrInvalidArgument)
		}
		records[i] = r
	}
	att, err := m.plan(ctx, req, nets, records)
	if err != nil {
		return Result{}, err
	}
	rt := m.cni()
	for i := range att.Endpoints {
		ep := &att.Endpoints[i]
		list, err := libcni.ConfListFromBytes(ep.Conflist)
		if err != nil {
			m.undo(ctx, att)
			return Result{}, fmt.Errorf("attach %s to %s: %w", req.ContainerID, ep.Network, err)
		}
		res, err := rt.AddNetworkList(ctx, list, &libcni.RuntimeConf{
			ContainerID: req.ContainerID, NetNS: req.NetNSPath, IfName: ep.IfName, CapabilityArgs: ep.CapabilityArgs,
		})
		if err != nil {
			m.undo(ctx, att)
			return Result{}, fmt.Errorf("attach %s to %s: %w", req.ContainerID, ep.Network, err)
		}
		if err := fillInterface(&ep.Interface, res); err != nil {
			m.undo(ctx, att)
			return Result{}, fmt.Errorf("attach %s to %s: %w", req.ContainerID, ep.Network, err)
		}
		announce(req.NetNSPath, ep.Interface)
	}
	if err := atomicfile.WriteJSON(m.attachPath(req.ContainerID), att, 0o600); err != nil {
		m.undo(ctx, att)
		return Result{}, fmt.Errorf("attach %s: %w", req.ContainerID, err)
	}
	if m.opts.EnsureDNS != nil && slices.ContainsFunc(records, HasDNS) {
		if err := m.opts.EnsureDNS(ctx); err != nil {
			m.undo(ctx, att)
			return Result{}, fmt.Errorf("attach %s: start DNS: %w", req.ContainerID, err)
		}
	}
	out := Result{Ports: att.Ports}
	for _, ep := range att.Endpoints {
		out.Interfaces = append(out.Interfaces, ep.Interface)
	}
	return out, nil
}

// plan chooses host ports and writes the attachment record, under the
// attachment lock so two containers never get one host port.
func (m *Manager) plan(ctx context.Context, req AttachRequest, nets []runtime.NetworkAttachment, records []Record) (Attachment, error) {
	lk, err := flock.Acquire(ctx, m.attachLock())
	if err != nil {
		return Attachment{}, fmt.Errorf("attach %s: %w", req.ContainerID, err)
	}
	defer lk.Unlock()
	if _, err := os.Stat(m.attachPath(req.ContainerID)); err == nil {
		return Attachment{}, fmt.Errorf("attach %s: already attached: %w", req.ContainerID, errdefs.ErrAlreadyExists)
	}
	others, err := m.attachments()
	if err != nil {
		return Attachment{}, fmt.Errorf("attach %s: %w", req.ContainerID, err)
	}
	// A network removed since ready() read it must not be attached to.
	for _, r := range records {
		if cur, err := m.records.get(r.Name); err != nil || cur.ID != r.ID {
			return Attachment{}, fmt.Errorf("attach %s: network %s: %w", req.ContainerID, r.Name, errdefs.ErrNotFound)
		}
	}
	ports, err := assignPorts(req.Ports, others, probePort)
	if err != nil {
		return Attachment{}, fmt.Errorf("attach %s: %w", req.ContainerID, err)
	}
	att := Attachment{ContainerID: req.ContainerID, Name: req.Name, NetNSPath: req.NetNSPath, Ports: ports}
	portsOn := slices.IndexFunc(records, func(r Record) bool { return driver(r.Config) == "bridge" })
	if len(ports) > 0 && portsOn < 0 {
		return Attachment{}, fmt.Errorf("attach %s: ports need a bridge network: %w", req.ContainerID, errdefs.ErrInvalidArgument)
	}
	for i, r := range records {
		withPorts := len(ports) > 0 && i == portsOn
		conf, err := Conflist(r, m.ipamDir(), withPorts)
		if err != nil {
			return Attachment{}, fmt.Errorf("attach %s: %w", req.ContainerID, err)
		}
		caps := map[string]any{}
		if withPorts {
			caps["portMappings"] = portMappings(ports)
		}
		maps.Copy(caps, ipsArg(nets[i]))
		att.Endpoints = append(att.Endpoints, Endpoint{
			Interface: Interface{Network: r.Name, IfName: fmt.Sprintf("eth%d", i)},
			NetworkID: r.ID, Aliases: nets[i].Aliases, Conflist: conf, CapabilityArgs: caps,
		})
	}
	if err := os.MkdirAll(filepath.Dir(m.attachPath(req.ContainerID)), 0o700); err != nil {
		return Attachment{}, fmt.Errorf("attach %s: %w", req.ContainerID, err)
	}
	if err := atomicfile.WriteJSON(m.attachPath(req.ContainerID), att, 0o600); err != nil {
		return Attachment{}, fmt.Errorf("attach %s: %w", req.ContainerID, err)
	}
	return att, nil
}

// portMappings is portmap's runtimeConfig.portMappings.
func portMappings(ports []runtime.PortBinding) []map[string]any {
	out := make([]map[string]any, 0, len(ports))
	for _, p := range ports {
		m := map[string]any{"hostPort": int(p.HostPort), "containerPort": int(p.ContainerPort), "protocol": p.Protocol}
		if p.HostIP != "" {
			m["hostIP"] = p.HostIP
		}
		out = append(out, m)
	}
	return out
}

// fillInterface copies the container side of a plugin result into iface.
func fillInterface(iface *Interface, res types.Result) error {
	r, err := types100.GetResult(res)
	if err != nil {
		return err
	}
	idx := -1
	for i, in := range r.Interfaces {
		switch {
		case in.Sandbox != "" && in.Name == iface.IfName:
			idx, iface.MAC = i, in.Mac
		case in.Sandbox == "" && in.Mac != "":
			iface.HostIf = in.Name // bridge, then veth: the last one wins
		}
	}
	for _, ip := range r.IPs {
		if ip.Interface != nil && idx >= 0 && *ip.Interface != idx {
			continue
		}
		addr, ok := netip.AddrFromSlice(ip.Address.IP)
		if !ok {
			continue
		}
		ones, _ := ip.Address.Mask.Size()
		iface.IPs = append(iface.IPs, netip.PrefixFrom(addr.Unmap(), ones))
		if gw, ok := netip.AddrFromSlice(ip.Gateway); ok {
			iface.Gateways = append(iface.Gateways, gw.Unmap())
		}
	}
	return nil
}

func (m *Manager) undo(ctx context.Context, att Attachment) {
	_ = m.detach(context.WithoutCancel(ctx), att)
}

// Detach undoes Attach: runs every plugin's DEL (which releases the IP
// lease, the veth and the port rules) and removes the attachment record.
// Call it after the container's process has exited and before the
// namespace is removed (netns.Remove); netnsPath may be "" or already gone,
// then DEL releases what is outside the namespace. Detaching a container
// that is not attached is a no-op, so it is safe to call again after a
// failure or a crash.
func (m *Manager) Detach(ctx context.Context, containerID, netnsPath string) error {
	att, err := m.attachment(containerID)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("detach %s: %w", containerID, err)
	}
	if netnsPath != "" {
		att.NetNSPath = netnsPath
	}
	return m.detach(ctx, att)
}

// DetachRemove is Detach followed by netns.Remove of netnsPath, for a
// container whose namespace goes with it (the runtime's release after the
// process ended, rm): the container's veths are not deleted one by one
// but go with the namespace, which the kernel destroys in the background,
// many at a time. Deleting a veth waits for the kernel (17-50 ms here,
// serialised under the rtnl lock, so a `down` of 50 paid them one after
// the other). Leases and port rules are released before it returns; the
// host ends of the veths disappear shortly after (host-local hands the
// addresses out again only after going round its range). Idempotent, as
// Detach; with Options.ExecPlugins it is Detach then netns.Remove.
func (m *Manager) DetachRemove(ctx context.Context, containerID, netnsPath string) error {
	att, err := m.attachment(containerID)
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("detach %s: %w", containerID, err)
	}
	if err == nil {
		if netnsPath != "" {
			att.NetNSPath = netnsPath
		}
		if err := m.detachOpts(ctx, att, true); err != nil {
			return err
		}
	}
	if netnsPath == "" {
		return nil
	}
	return netns.Remove(netnsPath)
}

func (m *Manager) detach(ctx context.Context, att Attachment) error {
	return m.detachOpts(ctx, att, false)
}

// detachOpts runs every endpoint's DEL; keepLinks leaves the veths to the
// namespace's destruction (DetachRemove).
func (m *Manager) detachOpts(ctx context.Context, att Attachment, keepLinks bool) error {
	nsPath := att.NetNSPath
	if _, err := os.Stat(nsPath); err != nil {
		nsPath = ""
	}
	att.NetNSPath = nsPath
	var errs []error
	for i := len(att.Endpoints) - 1; i >= 0; i-- {
		if err := m.delEndpointOpts(ctx, att, att.Endpoints[i], keepLinks); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("detach %s: %w", att.ContainerID, err)
	}
	if err := os.Remove(m.attachPath(att.ContainerID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("detach %s: %w", att.ContainerID, err)
	}
	return nil
}

// delEndpoint runs DEL for one endpoint with the list it was added with.
func (m *Manager) delEndpoint(ctx context.Context, att Attachment, ep Endpoint) error {
	return m.delEndpointOpts(ctx, att, ep, false)
}

// keepLinkArg tells the in-process bridge's DEL to leave the container's
// veth to the namespace's destruction; IgnoreUnknown makes host-local's
// argument parser pass over it.
var keepLinkArgs = [][2]string{{"IgnoreUnknown", "1"}, {"BERTH_KEEP_LINK", "1"}}

func (m *Manager) delEndpointOpts(ctx context.Context, att Attachment, ep Endpoint, keepLink bool) error {
	nsPath := att.NetNSPath
	if _, err := os.Stat(nsPath); err != nil {
		nsPath = ""
	}
	list, err := libcni.ConfListFromBytes(ep.Conflist)
	if err != nil {
		return fmt.Errorf("network %s: %w", ep.Network, err)
	}
	rc := &libcni.RuntimeConf{
		ContainerID: att.ContainerID, NetNS: nsPath, IfName: ep.IfName, CapabilityArgs: ep.CapabilityArgs,
	}
	if keepLink && nsPath != "" && !m.opts.ExecPlugins {
		rc.Args = keepLinkArgs
	}
	err = m.cni().DelNetworkList(ctx, list, rc)
	if err != nil {
		return fmt.Errorf("network %s: %w", ep.Network, err)
	}
	if _, ok := ep.CapabilityArgs["portMappings"]; ok && m.opts.ExecPlugins {
		// Ports published in-process (before BERTH_CNI_EXEC=1 was set)
		// are berth's rules, which the portmap binary does not know.
		e := &inProcess{hostLock: m.opts.HostLock}
		if lk, err := e.lockHost(ctx); err == nil {
			args := cniArgs{containerID: att.ContainerID, ifName: ep.IfName}
			_, _ = delPortRules(false, args, nil)
			_, _ = delPortRules(true, args, nil)
			lk.Unlock()
		}
	}
	return nil
}

// Attachment returns the attachment record of a container; not attached is
// ErrNotFound.
func (m *Manager) attachment(id string) (Attachment, error) {
	if !validName.MatchString(id) {
		return Attachment{}, fmt.Errorf("container %q: %w", id, errdefs.ErrNotFound)
	}
	data, err := os.ReadFile(m.attachPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return Attachment{}, fmt.Errorf("container %s not attached: %w", id, errdefs.ErrNotFound)
	}
	if err != nil {
		return Attachment{}, err
	}
	var a Attachment
	if err := json.Unmarshal(data, &a); err != nil {
		return Attachment{}, fmt.Errorf("read attachment %s: %w", id, err)
	}
	return a, nil
}

// Attachment returns what a container is attached to, for `berth port` and
// inspect; not attached is ErrNotFound.
func (m *Manager) Attachment(ctx context.Context, containerID string) (Attachment, error) {
	return m.attachment(containerID)
}

// Attachments returns every attachment record, for the DNS server.
func (m *Manager) Attachments(ctx context.Context) ([]Attachment, error) {
	return m.attachments()
}

// WatchPaths are the directories whose modification time changes whenever a
// network or an attachment is added or removed (records are renamed into
// and removed from them); the DNS server polls them to reload.
func (m *Manager) WatchPaths() []string {
	return []string{m.records.dir, m.runDir("attachments")}
}

// HasDNS reports whether containers on net resolve each other by name:
// user bridge networks do, the default network does not (as in Docker),
// nor do macvlan and ipvlan, whose host cannot reach its containers.
func HasDNS(net Record) bool {
	return driver(net.Config) == "bridge" && !net.Default
}

// attachments returns every attachment record.
func (m *Manager) attachments() ([]Attachment, error) {
	entries, err := os.ReadDir(m.runDir("attachments"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Attachment
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(id, ".") {
			continue
		}
		a, err := m.attachment(id)
		if errdefs.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// EndpointInfo is one container on a network, for `network inspect`.
type EndpointInfo struct {
	ContainerID string
	Name        string
	Interface
}

// Endpoints lists the containers attached to the named network.
func (m *Manager) Endpoints(ctx context.Context, network string) ([]EndpointInfo, error) {
	return m.endpoints(network)
}

func (m *Manager) endpoints(name string) ([]EndpointInfo, error) {
	all, err := m.attachments()
	if err != nil {
		return nil, err
	}
	var out []EndpointInfo
	for _, a := range all {
		for _, ep := range a.Endpoints {
			if ep.Network == name {
				out = append(out, EndpointInfo{ContainerID: a.ContainerID, Name: a.Name, Interface: ep.Interface})
			}
		}
	}
	return out, nil
}
