package cni

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/internal/flock"
	"github.com/berth-dev/berth/network"
)

// DefaultName is the predefined network containers join when they name
// none, like Docker's "bridge" (docker0).
const DefaultName = "bridge"

// Host is the host side of networks: reading the routing table, and setting
// up and tearing down what a network owns on the host (its bridge and its
// iptables rules). The real one is LinuxHost; tests without root use a fake.
type Host interface {
	// Routes returns the destinations of the host's routes, without the
	// default routes.
	Routes() ([]netip.Prefix, error)
	// Setup makes the host side of net. It is idempotent.
	Setup(ctx context.Context, net Record) error
	// Teardown removes the host side of net. It is idempotent.
	Teardown(ctx context.Context, net Record) error
	// Prune removes host rules tagged for networks not in live.
	Prune(ctx context.Context, live []Record) error
}

// Options configure a Manager.
type Options struct {
	Root          string   // persistent state; records in <Root>/networks
	RunRoot       string   // run state; <RunRoot>/cni (leases, attachments, libcni cache)
	PluginDirs    []string // CNI plugin directories; default /usr/lib/cni, /opt/cni/bin
	DefaultBridge string   // host bridge of the default network; default "berth0"
	Pools         []Pool   // default DefaultPools
	Host          Host     // default LinuxHost for Root
	// EnsureDNS, if set, is called after a container joins a network with
	// name resolution (HasDNS); it starts the DNS server unless it runs.
	EnsureDNS func(ctx context.Context) error
	// ExecPlugins runs every CNI plugin as its binary. By default the
	// bridge plugin with host-local IPAM runs inside berth (inProcess),
	// from the same configuration, saving two execs per ADD and DEL.
	ExecPlugins bool
	// HostLock serialises subnet allocation with bridge creation across
	// every berth root on the host, since routes are host-wide; default
	// /run/lock/berth-network.lock.
	HostLock string
}

// Manager is the CNI implementation of network.Manager, with Attach and
// Detach for containers. It keeps no state in memory: every call reads the
// records, so several berth processes can use one root. It is safe for
// concurrent use.
type Manager struct {
	opts    Options
	records store
	lock    string // serialises create and remove
}

// New returns a Manager over opts.
func New(opts Options) *Manager {
	if len(opts.PluginDirs) == 0 {
		opts.PluginDirs = []string{"/usr/lib/cni", "/opt/cni/bin"}
	}
	if opts.DefaultBridge == "" {
		opts.DefaultBridge = "berth0"
	}
	if len(opts.Pools) == 0 {
		opts.Pools = DefaultPools
	}
	if opts.HostLock == "" {
		opts.HostLock = HostLockPath
	}
	if opts.Host == nil {
		opts.Host = LinuxHost{Scope: Scope(opts.Root)}
	}
	dir := filepath.Join(opts.Root, "networks")
	return &Manager{opts: opts, records: store{dir: dir}, lock: filepath.Join(dir, ".lock")}
}

func (m *Manager) runDir(parts ...string) string {
	return filepath.Join(append([]string{m.opts.RunRoot, "cni"}, parts...)...)
}

// ipamDir is host-local's data directory; under run state, so a reboot,
// which ends every container, also ends every lease.
func (m *Manager) ipamDir() string { return m.runDir("ipam") }

var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// Create records a network, allocates its subnet when none is given, and
// sets up its host side (bridge, masquerade and forwarding rules).
// A taken name is ErrAlreadyExists, a subnet overlapping another berth
// network ErrConflict, bad input ErrInvalidArgument.
func (m *Manager) Create(ctx context.Context, cfg network.Config) (network.Network, error) {
	r, err := m.create(ctx, cfg, false)
	if err != nil {
		return network.Network{}, err
	}
	return r.Network(), nil
}

func (m *Manager) create(ctx context.Context, cfg network.Config, isDefault bool) (Record, error) {
	if !validName.MatchString(cfg.Name) || len(cfg.Name) > 64 {
		return Record{}, fmt.Errorf("create network %q: invalid name: %w", cfg.Name, errdefs.ErrInvalidArgument)
	}
	if !isDefault && slices.Contains(predefined, cfg.Name) {
		// As Docker, where they always exist; a user network "bridge"
		// would be taken for the default one.
		return Record{}, errdefs.ErrAlreadyExists.WithMessage(fmt.Sprintf("network with name %s already exists", cfg.Name))
	}
	cfg.Driver = driver(cfg)
	if !slices.Contains([]string{"bridge", "macvlan", "ipvlan"}, cfg.Driver) {
		return Record{}, fmt.Errorf("create network %s: driver %q not supported (bridge, macvlan, ipvlan): %w", cfg.Name, cfg.Driver, errdefs.ErrInvalidArgument)
	}
	if cfg.Driver != "bridge" && cfg.Options[OptParent] == "" {
		return Record{}, fmt.Errorf("create network %s: driver %s needs -o parent=<host interface>: %w", cfg.Name, cfg.Driver, errdefs.ErrInvalidArgument)
	}
	lk, err := flock.Acquire(ctx, m.lock)
	if err != nil {
		return Record{}, fmt.Errorf("create network %s: %w", cfg.Name, err)
	}
	defer lk.Unlock()

	if _, err := m.records.get(cfg.Name); err == nil {
		return Record{}, fmt.Errorf("create network %s: %w", cfg.Name, errdefs.ErrAlreadyExists)
	} else if !errdefs.IsNotFound(err) {
		return Record{}, fmt.Errorf("create network %s: %w", cfg.Name, err)
	}
	others, err := m.records.list()
	if err != nil {
		return Record{}, fmt.Errorf("create network %s: %w", cfg.Name, err)
	}
	// Until the bridge exists its subnet is not in the routing table, so
	// another root's Create must wait to read the routes.
	hostLk, err := flock.Acquire(ctx, m.opts.HostLock)
	if err != nil {
		return Record{}, fmt.Errorf("create network %s: %w", cfg.Name, err)
	}
	defer hostLk.Unlock()
	routes, err := m.opts.Host.Routes()
	if err != nil {
		return Record{}, fmt.Errorf("create network %s: read routes: %w", cfg.Name, err)
	}
	r := Record{ID: newID(), Name: cfg.Name, Created: time.Now().UTC(), Default: isDefault}
	cfg.Labels = maps.Clone(cfg.Labels)
	cfg.Options = maps.Clone(cfg.Options)
	if !isDefault && !slices.ContainsFunc(others, func(o Record) bool { return o.Default }) {
		// Keep the pool's first subnet for the default network, as Docker
		// keeps 172.17.0.0/16 for docker0, until the default exists.
		routes = append(routes, netip.PrefixFrom(m.opts.Pools[0].Base.Masked().Addr(), m.opts.Pools[0].Size))
	}
	cfg.Subnets, err = resolveSubnets(cfg, r.ID, m.opts.Pools, routes, others)
	if err != nil {
		return Record{}, fmt.Errorf("create network %s: %w", cfg.Name, err)
	}
	r.Config = cfg
	if cfg.Driver == "bridge" {
		r.Bridge = cfg.Options[OptBridgeName]
		switch {
		case r.Bridge != "":
		case isDefault:
			r.Bridge = m.opts.DefaultBridge
		default:
			r.Bridge = "berth-" + r.ID[:8]
		}
		if len(r.Bridge) > 15 {
			return Record{}, fmt.Errorf("create network %s: bridge name %q longer than 15: %w", cfg.Name, r.Bridge, errdefs.ErrInvalidArgument)
		}
		for _, o := range others {
			if o.Bridge == r.Bridge {
				return Record{}, fmt.Errorf("create network %s: bridge %s used by network %s: %w", cfg.Name, r.Bridge, o.Name, errdefs.ErrConflict)
			}
		}
	}
	if _, err := Conflist(r, m.ipamDir(), true); err != nil {
		return Record{}, fmt.Errorf("create network %s: %w", cfg.Name, err)
	}
	// The record is written before the host side, so a crash in between
	// leaves a record that Remove or the first Attach can finish.
	if err := m.records.put(r); err != nil {
		return Record{}, fmt.Errorf("create network %s: %w", cfg.Name, err)
	}
	if err := m.opts.Host.Setup(ctx, r); err != nil {
		if terr := m.opts.Host.Teardown(context.WithoutCancel(ctx), r); terr != nil {
			m.markRulesStale() // the next Cleanup lists the rules
		}
		_ = m.records.remove(r.Name)
		return Record{}, fmt.Errorf("create network %s: %w", cfg.Name, err)
	}
	r.Ready = true
	if err := m.records.put(r); err != nil {
		return Record{}, fmt.Errorf("create network %s: %w", cfg.Name, err)
	}
	return r, nil
}

// resolveSubnets validates the subnets of cfg and fills in what Docker
// fills in: an IPv4 subnet from the pool when none is given, a ULA /64 when
// IPv6 is on without an IPv6 subnet, the first host address as gateway.
func resolveSubnets(cfg network.Config, id string, pools []Pool, routes []netip.Prefix, others []Record) ([]network.Subnet, error) {
	var taken []netip.Prefix
	for _, o := range others {
		for _, s := range o.Config.Subnets {
			if p, err := netip.ParsePrefix(s.Subnet); err == nil {
				taken = append(taken, p.Masked())
			}
		}
	}
	var out []network.Subnet
	var has4, has6 bool
	for _, s := range cfg.Subnets {
		p, err := netip.ParsePrefix(s.Subnet)
		if err != nil {
			return nil, fmt.Errorf("subnet %q: %w", s.Subnet, errdefs.ErrInvalidArgument)
		}
		p = p.Masked()
		for _, o := range others {
			for _, os2 := range o.Config.Subnets {
				if q, err := netip.ParsePrefix(os2.Subnet); err == nil && Overlaps(p, q) {
					return nil, fmt.Errorf("subnet %s overlaps %s of network %s: %w", p, q, o.Name, errdefs.ErrConflict)
				}
			}
		}
		if p.Addr().Is4() {
			has4 = true
		} else {
			has6 = true
		}
		s.Subnet = p.String()
		out = append(out, s)
		taken = append(taken, p)
	}
	if has6 && !cfg.IPv6 {
		return nil, fmt.Errorf("IPv6 subnet given without --ipv6: %w", errdefs.ErrInvalidArgument)
	}
	if !has4 {
		p, err := Allocate(pools, append(taken, routes...))
		if err != nil {
			return nil, err
		}
		out = append([]network.Subnet{{Subnet: p.String()}}, out...)
	}
	if cfg.IPv6 && !has6 {
		out = append(out, network.Subnet{Subnet: ulaSubnet(id).String()})
	}
	for i := range out {
		p := netip.MustParsePrefix(out[i].Subnet)
		if out[i].Gateway == "" && driver(cfg) == "bridge" {
			out[i].Gateway = firstHost(p).String()
		}
		if _, err := hostLocalRange(out[i].Subnet, out[i].Gateway, out[i].IPRange); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ulaSubnet derives a unique local /64 (fd00::/8, RFC 4193) from the
// network ID, as Docker does for IPv6 networks without a subnet.
func ulaSubnet(id string) netip.Prefix {
	sum := sha256.Sum256([]byte(id))
	var b [16]byte
	b[0] = 0xfd
	copy(b[1:6], sum[:5])
	return netip.PrefixFrom(netip.AddrFrom16(b), 64)
}

func newID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// predefined are Docker's network names that are not user networks: the
// default network, and the host and none network modes.
var predefined = []string{DefaultName, "host", "none"}

// errPredefined is Docker's refusal to remove a predefined network, with
// the class of its 403 (Forbidden).
func errPredefined(name string) error {
	return errdefs.ErrPermissionDenied.WithMessage(fmt.Sprintf("%s is a pre-defined network and cannot be removed", name))
}

// Remove removes a network by name, ID or ID prefix: its host side, its
// leases and its record. Unknown is ErrNotFound; a network with attached
// containers ErrFailedPrecondition; the default network (and Docker's
// "host" and "none") ErrPermissionDenied, "bridge is a pre-defined network
// and cannot be removed", as Docker refuses to remove its "bridge". A network
// whose removal was interrupted can be removed again.
func (m *Manager) Remove(ctx context.Context, ref string) error {
	lk, err := flock.Acquire(ctx, m.lock)
	if err != nil {
		return fmt.Errorf("remove network %s: %w", ref, err)
	}
	defer lk.Unlock()
	r, err := m.records.find(ref)
	if errdefs.IsNotFound(err) && slices.Contains(predefined, ref) {
		return errPredefined(ref) // host and none: Docker's, never records
	}
	if err != nil {
		return fmt.Errorf("remove network: %w", err)
	}
	if r.Default {
		return errPredefined(r.Name)
	}
	alk, err := flock.Acquire(ctx, m.attachLock())
	if err != nil {
		return fmt.Errorf("remove network %s: %w", r.Name, err)
	}
	defer alk.Unlock()
	eps, err := m.endpoints(r.Name)
	if err != nil {
		return fmt.Errorf("remove network %s: %w", r.Name, err)
	}
	if len(eps) > 0 {
		return fmt.Errorf("remove network %s: has %d active endpoints (container %s): %w", r.Name, len(eps), eps[0].ContainerID, errdefs.ErrFailedPrecondition)
	}
	if err := m.opts.Host.Teardown(ctx, r); err != nil {
		return fmt.Errorf("remove network %s: %w", r.Name, err)
	}
	if err := os.RemoveAll(filepath.Join(m.ipamDir(), r.Name)); err != nil {
		return fmt.Errorf("remove network %s: %w", r.Name, err)
	}
	if err := m.records.remove(r.Name); err != nil {
		return fmt.Errorf("remove network %s: %w", r.Name, err)
	}
	m.pruneChains(ctx, r)
	return nil
}

// chainPruner is a Host that can remove berth's shared chains once empty,
// in the address families of a network just removed.
type chainPruner interface {
	PruneChainsOf(ctx context.Context, net Record) error
}

// pruneChains removes berth's iptables chains when the last network of
// every root is gone, under the host-wide lock Create sets networks up
// with. A failure leaves empty chains, which are harmless.
func (m *Manager) pruneChains(ctx context.Context, removed Record) {
	p, ok := m.opts.Host.(chainPruner)
	if !ok {
		return
	}
	lk, err := flock.Acquire(ctx, m.opts.HostLock)
	if err != nil {
		return
	}
	defer lk.Unlock()
	_ = p.PruneChainsOf(ctx, removed)
}

// List returns every network sorted by name. It does not create the
// default network; EnsureDefault does.
func (m *Manager) List(ctx context.Context) ([]network.Network, error) {
	rs, err := m.records.list()
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	out := make([]network.Network, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Network())
	}
	return out, nil
}

// Records returns the full record of every network, sorted by name.
func (m *Manager) Records(ctx context.Context) ([]Record, error) {
	rs, err := m.records.list()
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	return rs, nil
}

// Get returns the record of a network by name, ID or unique ID prefix;
// unknown is ErrNotFound.
func (m *Manager) Get(ctx context.Context, ref string) (Record, error) {
	return m.records.find(ref)
}

// hostChecker is a Host that can tell whether a network's host side is
// still there: a reboot takes bridges and rules away, not records.
type hostChecker interface {
	Present(net Record) bool
}

// hostSideUp reports whether r's host side is there, as far as the Host
// can tell cheaply (LinuxHost: the bridge exists, one netlink call).
func (m *Manager) hostSideUp(r Record) bool {
	c, ok := m.opts.Host.(hostChecker)
	return !ok || c.Present(r)
}

// setupAgain sets up r's host side, which a crash in Create or a reboot
// left missing, under the host-wide lock Create sets networks up with, so
// concurrent attaches set it up once.
func (m *Manager) setupAgain(ctx context.Context, r Record) error {
	lk, err := flock.Acquire(ctx, m.opts.HostLock)
	if err != nil {
		return fmt.Errorf("network %s: %w", r.Name, err)
	}
	defer lk.Unlock()
	if r.Ready && m.hostSideUp(r) {
		return nil // done by a concurrent attach
	}
	if err := m.opts.Host.Setup(ctx, r); err != nil {
		return fmt.Errorf("network %s: %w", r.Name, err)
	}
	return nil
}

// EnsureDefault returns the default network, creating it on first use
// (172.17.0.0/16 unless the host or another network has it).
func (m *Manager) EnsureDefault(ctx context.Context) (Record, error) {
	r, err := m.records.get(DefaultName)
	if err == nil && (!r.Ready || m.hostSideUp(r)) {
		return r, nil
	}
	if err == nil { // its bridge is gone (a reboot): set it up again
		return r, m.setupAgain(ctx, r)
	}
	if !errdefs.IsNotFound(err) {
		return Record{}, err
	}
	r, err = m.create(ctx, network.Config{Name: DefaultName, Driver: "bridge"}, true)
	if errors.Is(err, errdefs.ErrAlreadyExists) { // made by a concurrent berth
		return m.records.get(DefaultName)
	}
	return r, err
}

// ready returns the record of name, finishing its host side if a crash
// interrupted Create.
func (m *Manager) ready(ctx context.Context, name string) (Record, error) {
	if name == "" || name == DefaultName {
		return m.EnsureDefault(ctx)
	}
	r, err := m.Get(ctx, name)
	if err != nil {
		return r, err
	}
	if r.Ready && m.hostSideUp(r) {
		return r, nil
	}
	if err := m.setupAgain(ctx, r); err != nil {
		return Record{}, err
	}
	r.Ready = true
	lk, err := flock.Acquire(ctx, m.lock)
	if err != nil {
		return Record{}, err
	}
	defer lk.Unlock()
	return r, m.records.put(r)
}

var _ network.Manager = (*Manager)(nil)

// PairSubnets builds the subnets of `network create` from its repeated
// --subnet, --gateway and --ip-range flags, matching each gateway and range
// to the subnet that contains it, as Docker does. It is pure.
func PairSubnets(subnets, gateways, ipRanges []string) ([]network.Subnet, error) {
	out := make([]network.Subnet, len(subnets))
	prefixes := make([]netip.Prefix, len(subnets))
	for i, s := range subnets {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("invalid subnet %q: %w", s, errdefs.ErrInvalidArgument)
		}
		prefixes[i], out[i].Subnet = p.Masked(), p.Masked().String()
	}
	for _, g := range gateways {
		a, err := netip.ParseAddr(g)
		if err != nil {
			return nil, fmt.Errorf("invalid gateway %q: %w", g, errdefs.ErrInvalidArgument)
		}
		i := slices.IndexFunc(prefixes, func(p netip.Prefix) bool { return p.Contains(a) })
		if i < 0 || out[i].Gateway != "" {
			return nil, fmt.Errorf("gateway %s matches no subnet, or a subnet with a gateway already: %w", g, errdefs.ErrInvalidArgument)
		}
		out[i].Gateway = a.String()
	}
	for _, r := range ipRanges {
		q, err := netip.ParsePrefix(r)
		if err != nil {
			return nil, fmt.Errorf("invalid ip-range %q: %w", r, errdefs.ErrInvalidArgument)
		}
		i := slices.IndexFunc(prefixes, func(p netip.Prefix) bool { return p.Bits() <= q.Bits() && p.Contains(q.Addr()) })
		if i < 0 || out[i].IPRange != "" {
			return nil, fmt.Errorf("ip-range %s matches no subnet, or a subnet with a range already: %w", r, errdefs.ErrInvalidArgument)
		}
		out[i].IPRange = q.Masked().String()
	}
	return out, nil
}
