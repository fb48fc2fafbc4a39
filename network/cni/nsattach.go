package cni

import (
	"context"
	"net/netip"

	"github.com/berth-dev/berth/network/netns"
)

// NamespaceAttacher gives short-lived processes that are not containers (a
// build's RUN steps) a network namespace of their own under Dir, attached
// to the default network as ID, and takes it away again: what
// images/build's NetworkAttacher asks for.
type NamespaceAttacher struct {
	M   *Manager
	Dir string
}

// Attach makes the namespace Dir/id and joins it to the default network,
// returning its path and addresses. On failure nothing is left.
func (n NamespaceAttacher) Attach(ctx context.Context, id string) (string, []netip.Addr, error) {
	path, err := netns.New(n.Dir, id)
	if err != nil {
		return "", nil, err
	}
	res, err := n.M.Attach(ctx, AttachRequest{ContainerID: id, Name: id, NetNSPath: path})
	if err != nil {
		_ = netns.Remove(path)
		return "", nil, err
	}
	var ips []netip.Addr
	for _, itf := range res.Interfaces {
		for _, p := range itf.IPs {
			ips = append(ips, p.Addr())
		}
	}
	return path, ips, nil
}

// Release detaches id and removes its namespace.
func (n NamespaceAttacher) Release(ctx context.Context, id string) error {
	return n.M.DetachRemove(ctx, id, netns.Path(n.Dir, id))
}
