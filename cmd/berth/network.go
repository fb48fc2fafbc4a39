package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/network/cni"
	"github.com/berth-dev/berth/network/dnsctl"
	"github.com/berth-dev/berth/runtime"
)

// addNetworkCommands adds `berth network create|ls|inspect|rm|prune|connect|disconnect`.
// connect and disconnect work on containers attached to a network (running
// in a berth namespace); connecting a stopped container, applied at its
// next start as Docker does, needs the runtime's record (TODO(#5)).
func addNetworkCommands(root *cobra.Command, g *globals) {
	cmd := &cobra.Command{Use: "network", Short: "Manage networks"}
	cmd.AddCommand(newNetworkCreateCmd(g), newNetworkLsCmd(g), newNetworkInspectCmd(g),
		newNetworkRmCmd(g), newNetworkPruneCmd(g), newNetworkConnectCmd(g), newNetworkDisconnectCmd(g))
	root.AddCommand(cmd, newDNSServeCmd(g))
}

// networkManager is the CNI manager over the global roots. Joining a user
// network starts the DNS server (`berth dns-serve`, of berth-full in the
// lean binary) unless it runs. BERTH_DEFAULT_BRIDGE names the default
// network's host bridge (berth0), for a second berth root on one host, such
// as tests. BERTH_CNI_EXEC=1 runs the bridge and host-local plugins as
// binaries, not in-process.
func networkManager(g *globals) *cni.Manager {
	return cni.New(cni.Options{Root: g.root, RunRoot: g.runRoot, DefaultBridge: os.Getenv("BERTH_DEFAULT_BRIDGE"),
		ExecPlugins: os.Getenv("BERTH_CNI_EXEC") == "1", EnsureDNS: func(ctx context.Context) error {
			exe, err := fullExecutable()
			if err != nil {
				return err
			}
			return dnsctl.Ensure(ctx, dnsDir(g), []string{exe, "--root", g.root, "--run-root", g.runRoot, "dns-serve"})
		}})
}

func dnsDir(g *globals) string { return filepath.Join(g.runRoot, "dns") }

// netnsDir is where berth bind-mounts container namespaces.
func netnsDir(g *globals) string { return filepath.Join(g.runRoot, "netns") }

// containerExists is Cleanup's hook: a container exists while its record
// directory does (runtime/runc keeps <root>/containers/<id>/).
func containerExists(g *globals) func(string) bool {
	build := buildAttached(g)
	return func(id string) bool {
		_, err := os.Stat(filepath.Join(g.root, "containers", id))
		return !errors.Is(err, fs.ErrNotExist) || build(id)
	}
}

// cleanupNetworks removes what vanished containers left; a failure is
// reported but does not fail the command that asked.
func cleanupNetworks(ctx context.Context, g *globals, m *cni.Manager) {
	if err := m.Cleanup(ctx, netnsDir(g), containerExists(g)); err != nil {
		fmt.Fprintln(os.Stderr, "berth: warning:", err)
	}
}

type networkCreateOptions struct {
	driver                    string
	subnets, gateways, ranges []string
	internal, ipv6, attach    bool
	labels, opts              []string
}

func newNetworkCreateCmd(g *globals) *cobra.Command {
	var o networkCreateOptions
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] NETWORK",
		Short: "Create a network",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := o.config(args[0])
			if err != nil {
				return err
			}
			n, err := networkManager(g).Create(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), n.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.driver, "driver", "d", "bridge", "driver to manage the network: bridge, macvlan, ipvlan")
	f.StringSliceVar(&o.subnets, "subnet", nil, "subnet in CIDR format")
	f.StringSliceVar(&o.gateways, "gateway", nil, "gateway for the master subnet")
	f.StringSliceVar(&o.ranges, "ip-range", nil, "allocate container IPs from a sub-range")
	f.BoolVar(&o.internal, "internal", false, "restrict external access to the network")
	f.BoolVar(&o.ipv6, "ipv6", false, "enable IPv6 networking")
	f.BoolVar(&o.attach, "attachable", false, "enable manual container attachment")
	stringArrayVar(f, &o.labels, "label", nil, "set metadata on a network")
	stringArrayVarP(f, &o.opts, "opt", "o", nil, "set driver specific options")
	return cmd
}

func (o networkCreateOptions) config(name string) (network.Config, error) {
	subnets, err := cni.PairSubnets(o.subnets, o.gateways, o.ranges)
	if err != nil {
		return network.Config{}, err
	}
	labels, err := keyValues("label", o.labels)
	if err != nil {
		return network.Config{}, err
	}
	opts, err := keyValues("opt", o.opts)
	if err != nil {
		return network.Config{}, err
	}
	return network.Config{
		Name: name, Driver: o.driver, Labels: labels, Options: opts, Internal: o.internal,
		Attachable: o.attach, IPv6: o.ipv6, Subnets: subnets,
	}, nil
}

// keyValues parses repeated key=value flags; a bare key has an empty value.
func keyValues(flag string, kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		if k == "" {
			return nil, fmt.Errorf("--%s %q: empty key: %w", flag, kv, errdefs.ErrInvalidArgument)
		}
		out[k] = v
	}
	return out, nil
}

// networkRow is one line of `network ls`, with Docker's template fields.
type networkRow struct {
	ID, Name, Driver, Scope, IPv6, Internal, Labels, CreatedAt string

	rec    cni.Record
	header bool // the table's header row
}

// Label is the value of the network's label k; in the header row, the
// column title (the key's last dotted part), as Docker's.
func (r networkRow) Label(k string) string {
	if r.header {
		return labelHeader(k)
	}
	return r.rec.Config.Labels[k]
}

func newNetworkRow(r cni.Record, noTrunc bool) networkRow {
	row := networkRow{ID: r.ID, Name: r.Name, Driver: r.Config.Driver, Scope: "local",
		IPv6: fmt.Sprint(r.Config.IPv6), Internal: fmt.Sprint(r.Config.Internal),
		Labels: joinLabels(r.Config.Labels), CreatedAt: r.Created.Format("2006-01-02 15:04:05.999999999 -0700 MST"), rec: r}
	if !noTrunc {
		row.ID = r.ID[:12]
	}
	return row
}

func newNetworkLsCmd(g *globals) *cobra.Command {
	var (
		filters        []string
		format         string
		quiet, noTrunc bool
	)
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			match, err := networkFilter(filters)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			m := networkManager(g)
			cleanupNetworks(ctx, g, m)
			// Listing changes nothing: the default network appears once a
			// container has used it (creating it here left a bridge and
			// firewall rules behind on every throw-away root).
			recs, err := m.Records(ctx)
			if err != nil {
				return err
			}
			var rows []networkRow
			for _, r := range recs {
				if !match(r) {
					continue
				}
				rows = append(rows, newNetworkRow(r, noTrunc))
			}
			out := cmd.OutOrStdout()
			if quiet {
				for _, r := range rows {
					fmt.Fprintln(out, r.ID)
				}
				return nil
			}
			return renderNetworkRows(out, format, rows)
		},
	}
	f := cmd.Flags()
	stringArrayVarP(f, &filters, "filter", "f", nil, "filter output (driver=, id=, label=, name=, type=custom|builtin)")
	f.StringVar(&format, "format", "", "format output: table, json, or a Go template")
	f.BoolVarP(&quiet, "quiet", "q", false, "only display network IDs")
	f.BoolVar(&noTrunc, "no-trunc", false, "do not truncate the output")
	return cmd
}

func joinLabels(l map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		parts = append(parts, k+"="+l[k])
	}
	return strings.Join(parts, ",")
}

// networkHeader is the header row of a `network ls` table.
var networkHeader = networkRow{ID: "NETWORK ID", Name: "NAME", Driver: "DRIVER", Scope: "SCOPE", IPv6: "IPV6",
	Internal: "INTERNAL", Labels: "LABELS", CreatedAt: "CREATED AT", header: true}

// renderNetworkRows writes `network ls` rows per --format, through the
// image commands' template machinery: Docker's template functions, header
// functions for a table's header row, "table" with or without a space.
func renderNetworkRows(out io.Writer, format string, rows []networkRow) error {
	return renderImageRows(out, format, "{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}", networkHeader, rows)
}

// networkFilter parses Docker's `network ls --filter` terms; terms with one
// key OR together, different keys AND.
func networkFilter(terms []string) (func(cni.Record) bool, error) {
	by := map[string][]string{}
	for _, t := range terms {
		k, v, ok := strings.Cut(t, "=")
		switch {
		case !ok:
			return nil, fmt.Errorf("filter %q: want key=value: %w", t, errdefs.ErrInvalidArgument)
		case !slices.Contains([]string{"driver", "id", "label", "name", "type", "scope", "dangling"}, k):
			return nil, fmt.Errorf("filter %q: unknown key %s: %w", t, k, errdefs.ErrInvalidArgument)
		}
		by[k] = append(by[k], v)
	}
	return func(r cni.Record) bool {
		for k, vs := range by {
			if !slices.ContainsFunc(vs, func(v string) bool { return filterTerm(r, k, v) }) {
				return false
			}
		}
		return true
	}, nil
}

func filterTerm(r cni.Record, k, v string) bool {
	switch k {
	case "driver":
		return r.Config.Driver == v
	case "id":
		return strings.HasPrefix(r.ID, v)
	case "name":
		return strings.Contains(r.Name, v)
	case "scope":
		return v == "local"
	case "type":
		return (v == "builtin") == r.Default
	case "label":
		lk, lv, hasV := strings.Cut(v, "=")
		got, ok := r.Config.Labels[lk]
		return ok && (!hasV || got == lv)
	}
	return false
}

// networkInspect is Docker's `network inspect` document.
type networkInspect struct {
	Name       string
	ID         string `json:"Id"`
	Created    time.Time
	Scope      string
	Driver     string
	EnableIPv6 bool
	IPAM       ipamInspect
	Internal   bool
	Attachable bool
	Ingress    bool
	Containers map[string]endpointInspect
	Options    map[string]string
	Labels     map[string]string
}

type ipamInspect struct {
	Driver  string
	Options map[string]string
	Config  []ipamConfigInspect
}

type ipamConfigInspect struct {
	Subnet  string
	Gateway string `json:",omitempty"`
	IPRange string `json:",omitempty"`
}

type endpointInspect struct {
	Name        string
	EndpointID  string
	MacAddress  string
	IPv4Address string
	IPv6Address string
}

func inspectDoc(r cni.Record, eps []cni.EndpointInfo) networkInspect {
	doc := networkInspect{
		Name: r.Name, ID: r.ID, Created: r.Created, Scope: "local", Driver: r.Config.Driver,
		EnableIPv6: r.Config.IPv6, Internal: r.Config.Internal, Attachable: r.Config.Attachable,
		IPAM:       ipamInspect{Driver: "default", Config: []ipamConfigInspect{}},
		Containers: map[string]endpointInspect{}, Options: r.Config.Options, Labels: r.Config.Labels,
	}
	if doc.Options == nil {
		doc.Options = map[string]string{}
	}
	if doc.Labels == nil {
		doc.Labels = map[string]string{}
	}
	if r.Bridge != "" {
		doc.Options = maps.Clone(doc.Options)
		doc.Options[cni.OptBridgeName] = r.Bridge
	}
	for _, s := range r.Config.Subnets {
		doc.IPAM.Config = append(doc.IPAM.Config, ipamConfigInspect{Subnet: s.Subnet, Gateway: s.Gateway, IPRange: s.IPRange})
	}
	for _, ep := range eps {
		e := endpointInspect{Name: ep.Name, EndpointID: cni.EndpointID(ep.ContainerID, r.ID), MacAddress: ep.MAC}
		for _, ip := range ep.IPs {
			if ip.Addr().Is4() {
				e.IPv4Address = ip.String()
			} else {
				e.IPv6Address = ip.String()
			}
		}
		doc.Containers[ep.ContainerID] = e
	}
	return doc
}

func newNetworkInspectCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NETWORK [NETWORK...]",
		Short: "Display detailed information on one or more networks",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			m := networkManager(g)
			var docs []networkInspect
			var errs []error
			for _, ref := range args {
				if ref == cni.DefaultName {
					if _, err := m.EnsureDefault(ctx); err != nil {
						return err
					}
				}
				r, err := m.Get(ctx, ref)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				eps, err := m.Endpoints(ctx, r.Name)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				docs = append(docs, inspectDoc(r, eps))
			}
			if err := writeInspect(cmd.OutOrStdout(), format, docs, nil); err != nil {
				return err
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "format output: json or a Go template")
	return cmd
}

func newNetworkRmCmd(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm NETWORK [NETWORK...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more networks",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m := networkManager(g)
			cleanupNetworks(cmd.Context(), g, m) // endpoints of vanished containers do not count
			var errs []error
			for _, ref := range args {
				err := m.Remove(cmd.Context(), ref)
				if err == nil {
					fmt.Fprintln(cmd.OutOrStdout(), ref)
					continue
				}
				if !(force && errdefs.IsNotFound(err)) {
					errs = append(errs, err)
				}
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not error if the network does not exist")
	return cmd
}

func newNetworkPruneCmd(g *globals) *cobra.Command {
	var (
		force   bool
		filters []string
	)
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all unused networks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := parsePruneFilters(filters, time.Now(), "until", "label", "label!")
			if err != nil {
				return err
			}
			if !force {
				if !confirmed(cmd.ErrOrStderr(), cmd.InOrStdin(), "WARNING! This will remove all custom networks not used by at least one container.") {
					return nil
				}
			}
			ctx := cmd.Context()
			m := networkManager(g)
			cleanupNetworks(ctx, g, m)
			// Cleanup lists the host's rules only on a sign of stale ones;
			// prune is where the user asks for a sweep.
			if err := m.PruneRules(ctx); err != nil {
				fmt.Fprintln(os.Stderr, "berth: warning:", err)
			}
			recs, err := m.Records(ctx)
			if err != nil {
				return err
			}
			var removed []string
			for _, r := range recs {
				if r.Default || !f.match(r.Created, r.Config.Labels) {
					continue
				}
				if err := m.Remove(ctx, r.Name); err != nil {
					if errdefs.IsFailedPrecondition(err) {
						continue // in use
					}
					return err
				}
				removed = append(removed, r.Name)
			}
			if len(removed) > 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "Deleted Networks:")
				for _, n := range removed {
					fmt.Fprintln(cmd.OutOrStdout(), n)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	stringArrayVar(cmd.Flags(), &filters, "filter", nil, "provide filter values (e.g. \"until=<timestamp>\", \"label=<key>[=<value>]\")")
	return cmd
}

func newNetworkConnectCmd(g *globals) *cobra.Command {
	var (
		aliases  []string
		ip4, ip6 string
	)
	cmd := &cobra.Command{
		Use:   "connect [OPTIONS] NETWORK CONTAINER",
		Short: "Connect a container to a network",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			m := networkManager(g)
			r, err := m.Get(ctx, args[0])
			if err != nil {
				return err
			}
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			// A running container joins at once, a stopped one at its next
			// start; the record keeps it either way.
			return rt.Connect(ctx, args[1], runtime.NetworkAttachment{Network: r.Name, Aliases: aliases, IPv4: ip4, IPv6: ip6})
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&aliases, "alias", nil, "add network-scoped alias for the container")
	f.StringVar(&ip4, "ip", "", "IPv4 address (e.g. 172.30.100.104)")
	f.StringVar(&ip6, "ip6", "", "IPv6 address (e.g. 2001:db8::33)")
	return cmd
}

func newNetworkDisconnectCmd(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "disconnect [OPTIONS] NETWORK CONTAINER",
		Short: "Disconnect a container from a network",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			m := networkManager(g)
			name := args[0]
			if r, err := m.Get(ctx, args[0]); err == nil {
				name = r.Name
			} else if !force {
				return err
			}
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			return rt.Disconnect(ctx, args[1], name)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "force the container to disconnect from a network")
	return cmd
}
