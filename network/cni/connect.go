package cni

import (
	"context"
	"fmt"
	"slices"

	"github.com/containerd/errdefs"
	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/internal/flock"
	"github.com/berth-dev/berth/runtime"
)

// Connect joins an attached container to one more network (`network
// connect`), on the next free ethN. Not attached is ErrNotFound, already on
// the network ErrAlreadyExists. Calls for one container must not run
// concurrently (the runtime serialises them); a failure undoes itself.
func (m *Manager) Connect(ctx context.Context, containerID string, na runtime.NetworkAttachment) (Interface, error) {
	r, err := m.ready(ctx, na.Network)
	if err != nil {
		return Interface{}, fmt.Errorf("connect %s: %w", containerID, err)
	}
	att, ep, err := m.addEndpoint(ctx, containerID, r, na)
	if err != nil {
		return Interface{}, err
	}
	list, err := libcni.ConfListFromBytes(ep.Conflist)
	if err == nil {
		var res types.Result
		res, err = m.cni().AddNetworkList(ctx, list, &libcni.RuntimeConf{
			ContainerID: containerID, NetNS: att.NetNSPath, IfName: ep.IfName, CapabilityArgs: ep.CapabilityArgs,
		})
		if err == nil {
			err = fillInterface(&ep.Interface, res)
		}
		if err == nil {
			announce(att.NetNSPath, ep.Interface)
		}
	}
	if err == nil {
		att.Endpoints[len(att.Endpoints)-1] = ep
		err = atomicfile.WriteJSON(m.attachPath(containerID), att, 0o600)
	}
	if err == nil && m.opts.EnsureDNS != nil && HasDNS(r) {
		err = m.opts.EnsureDNS(ctx)
	}
	if err != nil {
		_ = m.Disconnect(context.WithoutCancel(ctx), containerID, r.Name)
		return Interface{}, fmt.Errorf("connect %s to %s: %w", containerID, r.Name, err)
	}
	return ep.Interface, nil
}

// addEndpoint records the new endpoint before its ADD runs, so a crash
// leaves it for Detach or Cleanup.
func (m *Manager) addEndpoint(ctx context.Context, id string, r Record, na runtime.NetworkAttachment) (Attachment, Endpoint, error) {
	lk, err := flock.Acquire(ctx, m.attachLock())
	if err != nil {
		return Attachment{}, Endpoint{}, fmt.Errorf("connect %s: %w", id, err)
	}
	defer lk.Unlock()
	att, err := m.attachment(id)
	if err != nil {
		return Attachment{}, Endpoint{}, fmt.Errorf("connect: %w", err)
	}
	if cur, err := m.records.get(r.Name); err != nil || cur.ID != r.ID {
		return Attachment{}, Endpoint{}, fmt.Errorf("connect %s: network %s: %w", id, r.Name, errdefs.ErrNotFound)
	}
	if slices.ContainsFunc(att.Endpoints, func(e Endpoint) bool { return e.Network == r.Name }) {
		return Attachment{}, Endpoint{}, fmt.Errorf("connect %s: already on network %s: %w", id, r.Name, errdefs.ErrAlreadyExists)
	}
	conf, err := Conflist(r, m.ipamDir(), false)
	if err != nil {
		return Attachment{}, Endpoint{}, fmt.Errorf("connect %s: %w", id, err)
	}
	ep := Endpoint{Interface: Interface{Network: r.Name, IfName: freeIfName(att.Endpoints)},
		NetworkID: r.ID, Aliases: na.Aliases, Conflist: conf, CapabilityArgs: ipsArg(na)}
	att.Endpoints = append(att.Endpoints, ep)
	if err := atomicfile.WriteJSON(m.attachPath(id), att, 0o600); err != nil {
		return Attachment{}, Endpoint{}, fmt.Errorf("connect %s: %w", id, err)
	}
	return att, ep, nil
}

// freeIfName is the first ethN no endpoint uses.
func freeIfName(eps []Endpoint) string {
	for i := 0; ; i++ {
		name := fmt.Sprintf("eth%d", i)
		if !slices.ContainsFunc(eps, func(e Endpoint) bool { return e.IfName == name }) {
			return name
		}
	}
}

// ipsArg is the `ips` capability for a requested static address.
func ipsArg(na runtime.NetworkAttachment) map[string]any {
	var ips []string
	for _, ip := range []string{na.IPv4, na.IPv6} {
		if ip != "" {
			ips = append(ips, ip)
		}
	}
	if len(ips) == 0 {
		return map[string]any{}
	}
	return map[string]any{"ips": ips}
}

// Disconnect takes an attached container off one network (`network
// disconnect`): DEL of that endpoint, and its published ports if they were
// on it. Not on the network is ErrNotFound. Calls for one container must
// not run concurrently.
func (m *Manager) Disconnect(ctx context.Context, containerID, network string) error {
	att, err := m.attachment(containerID)
	if err != nil {
		return fmt.Errorf("disconnect: %w", err)
	}
	i := slices.IndexFunc(att.Endpoints, func(e Endpoint) bool { return e.Network == network })
	if i < 0 {
		return fmt.Errorf("disconnect %s: not on network %s: %w", containerID, network, errdefs.ErrNotFound)
	}
	ep := att.Endpoints[i]
	if err := m.delEndpoint(ctx, att, ep); err != nil {
		return fmt.Errorf("disconnect %s from %s: %w", containerID, network, err)
	}
	att.Endpoints = slices.Delete(att.Endpoints, i, i+1)
	if _, ok := ep.CapabilityArgs["portMappings"]; ok {
		att.Ports = nil
	}
	if err := atomicfile.WriteJSON(m.attachPath(containerID), att, 0o600); err != nil {
		return fmt.Errorf("disconnect %s: %w", containerID, err)
	}
	return nil
}

// Rename changes the name an attached container is found by in DNS
// (`berth rename`), and has the DNS server read it at once, as after a
// connect. Not attached is no error: the next Attach takes the new name.
func (m *Manager) Rename(ctx context.Context, containerID, name string) error {
	att, err := m.renameAttachment(ctx, containerID, name)
	if err != nil || att == nil || m.opts.EnsureDNS == nil {
		return err
	}
	for _, ep := range att.Endpoints {
		if r, err := m.Get(ctx, ep.Network); err == nil && HasDNS(r) {
			return m.opts.EnsureDNS(ctx)
		}
	}
	return nil
}

// renameAttachment writes the new name into the container's attachment;
// nil when it has none.
func (m *Manager) renameAttachment(ctx context.Context, containerID, name string) (*Attachment, error) {
	lk, err := flock.Acquire(ctx, m.attachLock())
	if err != nil {
		return nil, fmt.Errorf("rename %s: %w", containerID, err)
	}
	defer lk.Unlock()
	att, err := m.attachment(containerID)
	if errdefs.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("rename %s: %w", containerID, err)
	}
	att.Name = name
	if err := atomicfile.WriteJSON(m.attachPath(containerID), att, 0o600); err != nil {
		return nil, fmt.Errorf("rename %s: %w", containerID, err)
	}
	return &att, nil
}
