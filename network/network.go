// Package network owns the network concept: the configuration a network is
// created from, a network as observed, and the interface that manages them.
//
// It holds types and interfaces only; implementations (network/cni, and the
// in-memory network/fake) live in their own packages.
package network

import "context"

// Config is what a network is created from, following Compose's network
// definition.
type Config struct {
	Name       string
	Driver     string // "bridge" (default), "macvlan", "ipvlan"
	Labels     map[string]string
	Internal   bool
	Attachable bool
	IPv6       bool
	Subnets    []Subnet
	Options    map[string]string
}

// Subnet is one IPAM pool of a network.
type Subnet struct {
	Subnet  string // CIDR
	Gateway string
	IPRange string
}

// Network is a network as observed.
type Network struct {
	ID     string
	Name   string
	Config Config
}

// Manager creates, removes and lists networks.
//
// Errors are classified with containerd/errdefs: ErrNotFound for an unknown
// network, ErrAlreadyExists for a name taken, ErrFailedPrecondition when a
// network still has endpoints.
type Manager interface {
	Create(ctx context.Context, cfg Config) (Network, error)
	Remove(ctx context.Context, name string) error
	List(ctx context.Context) ([]Network, error)
}
