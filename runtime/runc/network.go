package runc

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/internal/flock"
	"github.com/berth-dev/berth/internal/hostresolv"
	"github.com/berth-dev/berth/network/cni"
	"github.com/berth-dev/berth/network/netns"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/ocispec"
	"github.com/berth-dev/berth/runtime/runc/monitor"
)

// Networks is what the runtime needs of the network manager (network/cni's
// Manager): attaching a container's namespace at start, detaching it when
// the container's process has ended for good, and repairing what a killed
// berth left.
type Networks interface {
	Attach(ctx context.Context, req cni.AttachRequest) (cni.Result, error)
	Detach(ctx context.Context, containerID, netnsPath string) error
	Attachment(ctx context.Context, containerID string) (cni.Attachment, error)
	Get(ctx context.Context, ref string) (cni.Record, error)
	Cleanup(ctx context.Context, netnsDir string, exists func(containerID string) bool) error
}

// Connector is the part of the network manager `network connect` and
// `network disconnect` of a running container need.
type Connector interface {
	Connect(ctx context.Context, containerID string, na runtime.NetworkAttachment) (cni.Interface, error)
	Disconnect(ctx context.Context, containerID, network string) error
}

// renamer is a network manager that can change the name DNS answers for.
type renamer interface {
	Rename(ctx context.Context, containerID, name string) error
}

// netKind is how a container is networked.
type netKind int

const (
	netNone      netKind = iota // its own namespace, loopback only (runc makes it)
	netHost                     // the host's namespace
	netContainer                // another container's namespace
	netAttached                 // a berth namespace joined to CNI networks
)

func kindOf(mode string) netKind {
	switch {
	case mode == "none":
		return netNone
	case mode == "host":
		return netHost
	case strings.HasPrefix(mode, "container:"):
		return netContainer
	}
	return netAttached
}

// isDefaultNetwork tells the names Docker gives the default network.
func isDefaultNetwork(name string) bool {
	return name == "" || name == cni.DefaultName || name == "default"
}

// attachments are the networks a container joins, first one eth0: its
// Networks, else its NetworkMode when that names a user network, else the
// default network (empty list). It is pure.
func attachments(cfg runtime.Config) []runtime.NetworkAttachment {
	if len(cfg.Networks) > 0 {
		out := slices.Clone(cfg.Networks)
		for i := range out {
			if isDefaultNetwork(out[i].Network) {
				out[i].Network = cni.DefaultName
			}
		}
		return out
	}
	if !isDefaultNetwork(cfg.NetworkMode) {
		return []runtime.NetworkAttachment{{Network: cfg.NetworkMode}}
	}
	return nil
}

// netnsDir holds the containers' namespaces, <run-root>/netns/<id>.
func (r *Runtime) netnsDir() string           { return filepath.Join(r.opts.RunRoot, "netns") }
func (r *Runtime) netnsPath(id string) string { return netns.Path(r.netnsDir(), id) }

// dirExists is Cleanup's hook: a container exists from the moment its
// directory is made, before any namespace of it, until it is removed; other
// attachments as Options.Attached says.
func (r *Runtime) dirExists(id string) bool {
	if _, err := os.Stat(r.containerDir(id)); err == nil {
		return true
	}
	return r.opts.Attached != nil && r.opts.Attached(id)
}

func (r *Runtime) hasNetNS(rec *Record) bool {
	_, err := os.Stat(r.netnsPath(rec.ID))
	return err == nil
}

func (r *Runtime) networksWired() bool         { return r.opts.Networks != nil }
func (r *Runtime) bundleSpec(id string) string { return filepath.Join(r.runDir(id), "config.json") }
func (r *Runtime) resolvPath(id string) string {
	return filepath.Join(r.containerDir(id), "resolv.conf")
}
func (r *Runtime) hostsPath(id string) string { return filepath.Join(r.containerDir(id), "hosts") }
func containerRef(mode string) (string, bool) { return strings.CutPrefix(mode, "container:") }
func attachedKind(rec *Record) bool           { return kindOf(rec.Config.NetworkMode) == netAttached }
func anyIPv6(ips []netip.Addr) bool           { return slices.ContainsFunc(ips, netip.Addr.Is6) }

func (r *Runtime) hostnameOf(id string) string {
	b, _ := os.ReadFile(filepath.Join(r.containerDir(id), "hostname"))
	return strings.TrimSpace(string(b))
}

func errNoNetworks(mode string) error {
	return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("network mode %q needs berth's networks, which this runtime was built without", mode))
}

func firstOr(a []netip.Addr) netip.Addr {
	if len(a) > 0 {
		return a[0]
	}
	return netip.Addr{}
}

// checkNetworks validates a container's network configuration at create:
// the networks it names must exist (Docker: "network X not found") and
// container:X must name a container.
func (r *Runtime) checkNetworks(ctx context.Context, cfg runtime.Config) error {
	switch kindOf(cfg.NetworkMode) {
	case netNone, netHost:
		if len(cfg.Ports) > 0 && cfg.NetworkMode == "none" {
			return errdefs.ErrInvalidArgument.WithMessage("published ports are discarded when using the none network mode")
		}
		return nil
	case netContainer:
		ref, _ := containerRef(cfg.NetworkMode)
		if _, err := r.Resolve(ctx, ref); err != nil {
			return fmt.Errorf("network mode %s: %w", cfg.NetworkMode, err)
		}
		if len(cfg.Ports) > 0 {
			return errdefs.ErrInvalidArgument.WithMessage("conflicting options: port publishing and the container type network mode")
		}
		return nil
	}
	if !r.networksWired() {
		return errNoNetworks(cfg.NetworkMode)
	}
	for _, na := range attachments(cfg) {
		if isDefaultNetwork(na.Network) {
			continue
		}
		if _, err := r.opts.Networks.Get(ctx, na.Network); err != nil {
			if errdefs.IsNotFound(err) {
				return errdefs.ErrNotFound.WithMessage(fmt.Sprintf("network %s not found", na.Network))
			}
			return err
		}
	}
	return nil
}

// specNetNS is the network namespace path written in the spec at create:
// the container's own berth namespace (made at start), or the other
// container's for container:X (set again at start, as X may have restarted).
func (r *Runtime) specNetNS(ctx context.Context, cfg runtime.Config, id string) (string, error) {
	switch kindOf(cfg.NetworkMode) {
	case netAttached:
		return r.netnsPath(id), nil
	case netContainer:
		ref, _ := containerRef(cfg.NetworkMode)
		other, err := r.Resolve(ctx, ref)
		if err != nil {
			return "", err
		}
		return r.netnsPath(other), nil
	}
	return "", nil
}

// setupNetwork prepares the container's network before its monitor starts:
// for a container on networks a fresh namespace attached to them (after
// releasing what an earlier run left), its /etc/hosts and /etc/resolv.conf
// from the addresses it got; for container:X the other container's
// namespace in the bundle's spec. On error nothing of it is left.
func (r *Runtime) setupNetwork(ctx context.Context, rec *Record) error {
	switch kindOf(rec.Config.NetworkMode) {
	case netContainer:
		return r.joinContainer(ctx, rec)
	case netAttached:
	default:
		return nil
	}
	if !r.networksWired() {
		return errNoNetworks(rec.Config.NetworkMode)
	}
	// What this container's earlier run left (a berth killed between
	// attach and start, or a monitor that died).
	r.releaseNetwork(ctx, rec)
	path, err := netns.New(r.netnsDir(), rec.ID)
	if err != nil {
		return fmt.Errorf("start %s: %w", rec.Name, err)
	}
	req := cni.AttachRequest{ContainerID: rec.ID, Name: rec.Name, NetNSPath: path, Networks: rec.networks(), Ports: rec.Config.Ports, Isolated: rec.NoNetworks}
	res, err := r.opts.Networks.Attach(ctx, req)
	if err != nil && !errdefs.IsInvalidArgument(err) && !errdefs.IsNotFound(err) {
		// A port or an address may be held by what others left: exited
		// containers not released yet, removed ones a killed berth did
		// not detach (Cleanup). Both are repaired here, on failure only,
		// because Cleanup reads the host's rules (tens of ms).
		r.releaseExited(ctx, rec.ID)
		if cerr := r.opts.Networks.Cleanup(ctx, r.netnsDir(), r.dirExists); cerr == nil {
			res, err = r.opts.Networks.Attach(ctx, req)
		}
	}
	if err != nil {
		_ = netns.Remove(path)
		return fmt.Errorf("start %s: %w", rec.Name, err)
	}
	if err := r.writeNetworkFiles(ctx, rec, res); err != nil {
		r.releaseNetwork(ctx, rec)
		return fmt.Errorf("start %s: %w", rec.Name, err)
	}
	return nil
}

// writeNetworkFiles rewrites /etc/hosts and /etc/resolv.conf (in place: the
// bind mounts pin the inodes) with the addresses the container got: its own
// IPs under its hostname, and on a user network berth's name server (the
// network's gateway) as the only nameserver, as Docker's embedded DNS.
func (r *Runtime) writeNetworkFiles(ctx context.Context, rec *Record, res cni.Result) error {
	var ips, gateways []netip.Addr
	var internalNS netip.Addr
	for _, itf := range res.Interfaces {
		for _, p := range itf.IPs {
			ips = append(ips, p.Addr())
		}
		gateways = append(gateways, itf.Gateways...)
		if internalNS.IsValid() {
			continue
		}
		net, err := r.opts.Networks.Get(ctx, itf.Network)
		if err != nil || !cni.HasDNS(net) {
			continue
		}
		for _, s := range net.Config.Subnets {
			if gw, err := netip.ParseAddr(s.Gateway); err == nil && gw.Is4() {
				internalNS = gw
				break
			}
		}
	}
	hosts, err := ocispec.HostsFile(ocispec.Hosts{
		Hostname: r.hostnameOf(rec.ID), Domainname: rec.Config.Domainname,
		ExtraHosts: rec.Config.ExtraHosts, HostGateway: firstOr(gateways), IPs: ips, NoIPv6: !anyIPv6(ips),
	})
	if err != nil {
		return err
	}
	if err := writeFile(r.hostsPath(rec.ID), hosts, 0o644); err != nil {
		return err
	}
	hostResolv := hostresolv.Read()
	resolv, _, err := ocispec.ResolvConf(hostResolv, ocispec.DNS{
		Nameservers: rec.Config.DNS, Search: rec.Config.DNSSearch, Options: rec.Config.DNSOptions,
		IPv6: anyIPv6(ips), InternalNS: internalNS, NoFallback: hostresolv.Sandboxed(),
	})
	if err != nil {
		return err
	}
	return writeFile(r.resolvPath(rec.ID), resolv, 0o644)
}

// joinContainer points the bundle's spec at the namespace of the container
// named by container:X, which must be running: its berth namespace, or its
// init's when it has a runc-made one (--network none).
func (r *Runtime) joinContainer(ctx context.Context, rec *Record) error {
	ref, _ := containerRef(rec.Config.NetworkMode)
	id, err := r.Resolve(ctx, ref)
	if err != nil {
		return fmt.Errorf("start %s: joining network of %s: %w", rec.Name, ref, err)
	}
	other, err := r.readRecord(id)
	if err != nil {
		return fmt.Errorf("start %s: %w", rec.Name, err)
	}
	st, err := r.observe(ctx, other)
	if err != nil {
		return fmt.Errorf("start %s: %w", rec.Name, err)
	}
	if st.Status != monitor.Running && st.Status != monitor.Paused {
		return errdefs.ErrFailedPrecondition.WithMessage(fmt.Sprintf("cannot join network namespace of a non running container: %s", other.Name))
	}
	var path string
	switch kindOf(other.Config.NetworkMode) {
	case netHost:
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("cannot join the network namespace of %s: it uses the host's", other.Name))
	case netAttached:
		path = r.netnsPath(other.ID)
	default:
		path = fmt.Sprintf("/proc/%d/ns/net", st.Pid)
	}
	var spec specs.Spec
	data, err := os.ReadFile(r.bundleSpec(rec.ID))
	if err != nil {
		return fmt.Errorf("start %s: %w", rec.Name, err)
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		return fmt.Errorf("start %s: %w", rec.Name, err)
	}
	for i, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			spec.Linux.Namespaces[i].Path = path
		}
	}
	// Share the other container's view of names too, as Docker does.
	for _, f := range []string{"hosts", "resolv.conf", "hostname"} {
		if b, err := os.ReadFile(filepath.Join(r.containerDir(other.ID), f)); err == nil {
			_ = writeFile(filepath.Join(r.containerDir(rec.ID), f), b, 0o644)
		}
	}
	if err := atomicfile.ReplaceJSON(r.bundleSpec(rec.ID), &spec, 0o600); err != nil {
		return fmt.Errorf("start %s: %w", rec.Name, err)
	}
	return nil
}

// releaseNetwork detaches the container from its networks (leases, veths,
// port rules) and removes its namespace. It is idempotent; the caller holds
// the container's operation lock and its process has ended.
func (r *Runtime) releaseNetwork(ctx context.Context, rec *Record) {
	if !attachedKind(rec) || !r.networksWired() {
		return
	}
	path := r.netnsPath(rec.ID)
	if dr, ok := r.opts.Networks.(detachRemover); ok {
		_ = dr.DetachRemove(ctx, rec.ID, path) // on error the namespace stays, as below
		return
	}
	if err := r.opts.Networks.Detach(ctx, rec.ID, path); err != nil {
		return // the namespace stays so the next release or Cleanup can retry
	}
	_ = netns.Remove(path)
}

// detachRemover is a network manager that detaches and removes the
// namespace in one, leaving the veths to the namespace's destruction
// (cheaper than deleting each: network/cni's DetachRemove).
type detachRemover interface {
	DetachRemove(ctx context.Context, containerID, netnsPath string) error
}

// Release releases the network of a container whose process has ended for
// good: what the monitor asks for (through `berth`) after a final exit, so
// that its address, ports and name go at once, as in Docker. token is the
// one of the monitor's run: a container started again meanwhile (a new
// monitor config, a new token) keeps its network.
func (r *Runtime) Release(ctx context.Context, ref, token string) error {
	rec, unlock, err := r.lockedRecord(ctx, ref)
	if err != nil {
		return err
	}
	defer unlock()
	if cfg, err := monitor.ReadConfig(r.runDir(rec.ID)); err == nil && (len(cfg.OnExit) == 0 || cfg.OnExit[len(cfg.OnExit)-1] != token) {
		return nil
	}
	st, err := r.observe(ctx, rec)
	if err != nil {
		return err
	}
	if !isActive(st.Status) {
		r.releaseNetwork(ctx, rec)
	}
	return nil
}

// releaseExited releases the networks of exited containers that still hold
// them (their monitor's release has not run yet), except skip's. It only
// takes containers whose operation lock is free at once. It returns how many
// it released.
func (r *Runtime) releaseExited(ctx context.Context, skip string) int {
	ents, err := os.ReadDir(r.netnsDir())
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		id := e.Name()
		if id == skip || !isID(id) {
			continue
		}
		rec, err := r.readRecord(id)
		if err != nil {
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
		l, err := flock.AcquireIn(lctx, filepath.Join(r.containerDir(id), "op.lock"))
		cancel()
		if err != nil {
			continue
		}
		if st, err := r.observe(ctx, rec); err == nil && !isActive(st.Status) {
			r.releaseNetwork(ctx, rec)
			n++
		}
		l.Unlock()
	}
	return n
}

// NetworkState is what inspect, ps and port show of a container's
// networks: its attachment while it has one (ErrNotFound otherwise).
func (r *Runtime) NetworkState(ctx context.Context, id string) (cni.Attachment, error) {
	if !r.networksWired() {
		return cni.Attachment{}, errdefs.ErrNotFound
	}
	return r.opts.Networks.Attachment(ctx, id)
}

// Connect joins a container to one more network (`network connect`): a
// running one at once (and its /etc/hosts follows), a stopped one at its
// next start; either way the record keeps it, as Docker does.
func (r *Runtime) Connect(ctx context.Context, ref string, na runtime.NetworkAttachment) error {
	return r.changeNetworks(ctx, ref, func(rec *Record, attached bool) error {
		if kindOf(rec.Config.NetworkMode) != netAttached {
			return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("container %s is in network mode %q: it cannot be connected to networks", rec.Name, rec.Config.NetworkMode))
		}
		if _, err := r.opts.Networks.Get(ctx, na.Network); err != nil {
			return err
		}
		nets := rec.networks()
		if len(nets) == 0 && !rec.NoNetworks {
			nets = []runtime.NetworkAttachment{{Network: cni.DefaultName}}
		}
		if slices.ContainsFunc(nets, func(o runtime.NetworkAttachment) bool { return o.Network == na.Network }) {
			return errdefs.ErrAlreadyExists.WithMessage(fmt.Sprintf("endpoint with name %s already exists in network %s", rec.Name, na.Network))
		}
		if attached {
			c, ok := r.opts.Networks.(Connector)
			if !ok {
				return errdefs.ErrNotImplemented.WithMessage("network connect of a running container")
			}
			if _, err := c.Connect(ctx, rec.ID, na); err != nil {
				return err
			}
		}
		rec.Config.Networks = append(nets, na)
		switch {
		case rec.NoNetworks:
			rec.Config.NetworkMode, rec.NoNetworks = na.Network, false
		case rec.Config.NetworkMode == "":
			rec.Config.NetworkMode = cni.DefaultName
		}
		return nil
	})
}

// Disconnect takes a container off a network (`network disconnect`).
func (r *Runtime) Disconnect(ctx context.Context, ref, network string) error {
	return r.changeNetworks(ctx, ref, func(rec *Record, attached bool) error {
		nets := rec.networks()
		if len(nets) == 0 && !rec.NoNetworks {
			nets = []runtime.NetworkAttachment{{Network: cni.DefaultName}}
		}
		i := slices.IndexFunc(nets, func(o runtime.NetworkAttachment) bool { return o.Network == network })
		if i < 0 {
			return errdefs.ErrNotFound.WithMessage(fmt.Sprintf("container %s is not connected to network %s", rec.Name, network))
		}
		if attached {
			c, ok := r.opts.Networks.(Connector)
			if !ok {
				return errdefs.ErrNotImplemented.WithMessage("network disconnect of a running container")
			}
			if err := c.Disconnect(ctx, rec.ID, network); err != nil && !errdefs.IsNotFound(err) {
				return err
			}
		}
		rec.Config.Networks = slices.Delete(nets, i, i+1)
		if len(rec.Config.Networks) == 0 {
			rec.Config.Networks, rec.NoNetworks = nil, true
		} else if rec.Config.NetworkMode == network {
			rec.Config.NetworkMode = rec.Config.Networks[0].Network
		}
		return nil
	})
}

// changeNetworks runs change on the container's record under its operation
// lock, telling it whether the container is attached now, and saves the
// record; a running container's /etc/hosts is rewritten from its new
// attachment.
func (r *Runtime) changeNetworks(ctx context.Context, ref string, change func(rec *Record, attached bool) error) error {
	if !r.networksWired() {
		return errNoNetworks("")
	}
	rec, unlock, err := r.lockedRecord(ctx, ref)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := r.observe(ctx, rec)
	if err != nil {
		return err
	}
	attached := isActive(st.Status) && r.hasNetNS(rec)
	if err := change(rec, attached); err != nil {
		return err
	}
	if err := r.writeRecord(rec); err != nil {
		return fmt.Errorf("update %s: %w", rec.Name, err)
	}
	if attached {
		if att, err := r.opts.Networks.Attachment(ctx, rec.ID); err == nil {
			res := cni.Result{Ports: att.Ports}
			for _, ep := range att.Endpoints {
				res.Interfaces = append(res.Interfaces, ep.Interface)
			}
			_ = r.writeNetworkFiles(ctx, rec, res)
		}
	}
	return nil
}

// Active reports whether a status is one of a container whose process is
// (or is about to be) running: running, paused, restarting.
func Active(status string) bool { return isActive(status) }
