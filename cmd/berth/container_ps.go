package main

import (
	"context"
	"fmt"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/runc"
)

type psOptions struct {
	all, quiet, latest, size, noTrunc bool
	last                              int
	filters                           []string
	format                            string
}

func newPsCmd(g *globals, use string) *cobra.Command {
	var o psOptions
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS]",
		Short: "List containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			f, err := parsePsFilters(o.filters)
			if err != nil {
				return err
			}
			list, err := rt.ListObserved(cmd.Context())
			if err != nil {
				return err
			}
			sort.Slice(list, func(i, j int) bool { return list[i].Record.Created.After(list[j].Record.Created) })
			if o.latest {
				o.last = 1
			}
			var sizes *imageSizes
			if o.size {
				store, err := openImageStore(g)
				if err != nil {
					return err
				}
				sizes = newImageSizes(store)
			}
			now := time.Now()
			var rows []psRow
			for _, c := range list {
				if !o.all && o.last <= 0 && !f.hasStatus && c.State.Status != "running" && c.State.Status != "paused" && c.State.Status != "restarting" {
					continue
				}
				if !f.match(c) {
					continue
				}
				r := newPsRow(rt, c, o, now)
				if o.size {
					if r.Size, err = sizes.column(cmd.Context(), rt, c.Record); err != nil {
						return err
					}
				}
				rows = append(rows, r)
				if o.last > 0 && len(rows) == o.last {
					break
				}
			}
			out := cmd.OutOrStdout()
			if o.quiet {
				for _, r := range rows {
					fmt.Fprintln(out, r.ID)
				}
				return nil
			}
			def := "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
			if o.size {
				def += "\t{{.Size}}"
			}
			return renderImageRows(out, o.format, def, psHeader, rows)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&o.all, "all", "a", false, "Show all containers (default shows just running)")
	fl.BoolVarP(&o.quiet, "quiet", "q", false, "Only display container IDs")
	fl.BoolVarP(&o.latest, "latest", "l", false, "Show the latest created container (includes all states)")
	fl.IntVarP(&o.last, "last", "n", -1, "Show n last created containers (includes all states)")
	fl.BoolVarP(&o.size, "size", "s", false, "Display total file sizes")
	fl.BoolVar(&o.noTrunc, "no-trunc", false, "Don't truncate output")
	stringArrayVarP(fl, &o.filters, "filter", "f", nil, "Filter output based on conditions provided")
	fl.StringVar(&o.format, "format", "", "Format output using a custom template: 'table', 'table TEMPLATE', 'json', 'TEMPLATE'")
	return cmd
}

// psRow is one line of `ps`, with Docker's field names for --format.
type psRow struct {
	ID           string `json:"ID"`
	Image        string `json:"Image"`
	Command      string `json:"Command"`
	CreatedAt    string `json:"CreatedAt"`
	RunningFor   string `json:"RunningFor"`
	Ports        string `json:"Ports"`
	State        string `json:"State"`
	Status       string `json:"Status"`
	Size         string `json:"Size"`
	Names        string `json:"Names"`
	Labels       string `json:"Labels"`
	Mounts       string `json:"Mounts"`
	Networks     string `json:"Networks"`
	LocalVolumes string `json:"LocalVolumes"`

	labels map[string]string // for {{.Label "key"}}
	header bool              // the table's header row
}

// Label is the value of the container's label name, "" if it has none; in
// the header row, the column title: the key's last dotted part, as Docker's.
func (r psRow) Label(name string) string {
	if r.header {
		return labelHeader(name)
	}
	return r.labels[name]
}

// labelHeader is the title of a {{.Label "key"}} column in Docker's table
// formats: the key's last dotted part, with - and _ as spaces.
func labelHeader(name string) string {
	parts := strings.Split(name, ".")
	return strings.NewReplacer("-", " ", "_", " ").Replace(parts[len(parts)-1])
}

var psHeader = psRow{ID: "CONTAINER ID", Image: "IMAGE", Command: "COMMAND", CreatedAt: "CREATED AT", RunningFor: "CREATED", Ports: "PORTS", State: "STATE", Status: "STATUS", Size: "SIZE", Names: "NAMES", Labels: "LABELS", Mounts: "MOUNTS", Networks: "NETWORKS", LocalVolumes: "LOCAL VOLUMES", header: true}

func newPsRow(rt *runc.Runtime, c runc.Observed, o psOptions, now time.Time) psRow {
	rec := c.Record
	cmd := strings.Join(append([]string{rec.Path}, rec.Args...), " ")
	id := rec.ID
	if !o.noTrunc {
		id = runc.ShortID(id)
		cmd = ellipsis(cmd, 20) // by runes: bytes could split a UTF-8 character
	}
	var labels []string
	for k, v := range rec.Config.Labels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	var mounts []string
	for _, m := range rec.Config.Mounts {
		if m.Type != "volume" {
			mounts = append(mounts, m.Source)
		}
	}
	for _, v := range rec.Volumes {
		mounts = append(mounts, v.Name)
	}
	r := psRow{
		ID: id, Image: rec.Image, Command: strconv.Quote(cmd),
		CreatedAt:  rec.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"),
		RunningFor: units.HumanDuration(now.Sub(rec.Created)) + " ago",
		State:      c.State.Status, Status: statusText(c, now), Names: rec.Name,
		Labels: strings.Join(labels, ","), labels: rec.Config.Labels, Mounts: strings.Join(mounts, ","),
		LocalVolumes: strconv.Itoa(len(rec.Volumes)),
		Ports:        runc.FormatPorts(rt.PortMap(context.Background(), rec, c.State)),
	}
	r.Networks = strings.Join(networkNames(rec), ",")
	return r
}

// column is ps -s's SIZE column for the container rec.
func (s *imageSizes) column(ctx context.Context, rt *runc.Runtime, rec *runc.Record) (string, error) {
	image, err := s.of(ctx, rec.ImageID)
	if err != nil {
		return "", err
	}
	return psSize(rt.SizeRw(rec.ID), image), nil // one walk of the upper dir
}

// psSize is ps -s's SIZE column, Docker's "2B (virtual 4.3MB)": the
// container's writable layer (SizeRw) and, as the virtual size, that plus
// its image's size (Docker's SizeRootFs), since the container sees both.
func psSize(rw, image int64) string {
	return humanSize(rw) + " (virtual " + humanSize(rw+image) + ")"
}

// imageSizer is what ps -s needs of the image store (*images.Store).
type imageSizer interface {
	Size(ctx context.Context, ref string) (int64, error)
}

// imageSizes gives image sizes by ID for one ps, asking the store once per
// image however many containers share it. Not safe for concurrent use.
type imageSizes struct {
	store imageSizer
	byID  map[string]int64
}

func newImageSizes(store imageSizer) *imageSizes {
	return &imageSizes{store: store, byID: map[string]int64{}}
}

// of is the size of the image with ID id. An image no longer stored (a
// container's image removed since, or a record without one) is 0: the
// container's virtual size is then its writable layer alone. Other store
// errors are returned.
func (s *imageSizes) of(ctx context.Context, id string) (int64, error) {
	if id == "" {
		return 0, nil
	}
	if n, ok := s.byID[id]; ok {
		return n, nil
	}
	n, err := s.store.Size(ctx, id)
	if errdefs.IsNotFound(err) {
		n, err = 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("size of image %s: %w", id, err)
	}
	s.byID[id] = n
	return n, nil
}

// statusText is Docker's STATUS column: "Up 3 seconds (healthy)",
// "Exited (0) 2 minutes ago", "Created", "Restarting (1) 1 second ago".
func statusText(c runc.Observed, now time.Time) string {
	st := c.State
	switch st.Status {
	case "running", "paused":
		s := "Up " + units.HumanDuration(now.Sub(st.StartedAt))
		if st.Status == "paused" {
			return s + " (Paused)"
		}
		if st.Health != nil {
			switch st.Health.Status {
			case "starting":
				s += " (health: starting)"
			case "healthy", "unhealthy":
				s += " (" + st.Health.Status + ")"
			}
		}
		return s
	case "restarting":
		return fmt.Sprintf("Restarting (%d) %s ago", st.ExitCode, units.HumanDuration(now.Sub(st.FinishedAt)))
	case "exited":
		if st.FinishedAt.IsZero() {
			return fmt.Sprintf("Exited (%d)", st.ExitCode)
		}
		return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, units.HumanDuration(now.Sub(st.FinishedAt)))
	case "dead":
		return "Dead"
	}
	return "Created"
}

func humanSize(n int64) string { return units.HumanSizeWithPrecision(float64(n), 3) }

// psFilter is ps's --filter: each key's values are ORed, keys ANDed.
type psFilter struct {
	by        map[string][]string
	hasStatus bool
}

func parsePsFilters(args []string) (*psFilter, error) {
	by, err := filterValues(args, "name", "label", "status", "ancestor", "health", "exited", "id", "before", "since", "until", "network", "volume", "publish", "expose")
	if err != nil {
		return nil, err
	}
	for _, v := range by["status"] {
		switch v {
		case "created", "restarting", "running", "removing", "paused", "exited", "dead":
		default:
			return nil, invalidFilter("status=" + v)
		}
	}
	_, status := by["status"]
	_, exited := by["exited"]
	return &psFilter{by: by, hasStatus: status || exited}, nil
}

func (f *psFilter) match(c runc.Observed) bool {
	rec, st := c.Record, c.State
	for k, vals := range f.by {
		// Docker's: several values of a key match any one of them,
		// except labels, which must all be there.
		some := slices.ContainsFunc[[]string]
		if k == "label" {
			some = func(vals []string, pred func(string) bool) bool { return allOf(vals, pred) }
		}
		ok := some(vals, func(v string) bool {
			switch k {
			case "name":
				return strings.Contains(rec.Name, strings.TrimPrefix(v, "/"))
			case "id":
				return strings.HasPrefix(rec.ID, v)
			case "label":
				return hasLabel(rec.Config.Labels, v)
			case "status":
				return st.Status == v
			case "health":
				h := "none"
				if st.Health != nil {
					h = st.Health.Status
				}
				return h == v
			case "exited":
				n, err := strconv.Atoi(v)
				return err == nil && st.Status == "exited" && st.ExitCode == n
			case "ancestor":
				return ancestorMatch(rec, v)
			case "network":
				return slices.Contains(networkNames(rec), v)
			case "volume":
				return slices.ContainsFunc(rec.Volumes, func(m runc.VolumeMount) bool { return m.Name == v || m.Target == v }) ||
					slices.ContainsFunc(rec.Config.Mounts, func(m runtime.Mount) bool { return m.Type == "bind" && (m.Source == v || m.Target == v) })
			case "publish", "expose":
				return portFilter(rec, k, v)
			case "until":
				t, err := parseTimeArg(v, time.Now())
				return err == nil && rec.Created.Before(t)
			}
			return true
		})
		if !ok {
			return false
		}
	}
	return true
}

// ancestorMatch matches an image by reference (with or without tag) or ID.
func ancestorMatch(rec *runc.Record, v string) bool {
	if rec.Image == v || rec.ImageID == v || strings.HasPrefix(strings.TrimPrefix(rec.ImageID, "sha256:"), strings.TrimPrefix(v, "sha256:")) {
		return true
	}
	name, _, _ := strings.Cut(rec.Image, ":")
	if name == v || path.Base(name) == v {
		return true
	}
	return rec.Image == v+":latest"
}

// networkNames are the networks a container is on, by name, as ps's
// NETWORKS column and its network= filter see them.
func networkNames(rec *runc.Record) []string {
	if nets := rec.Config.Networks; len(nets) > 0 {
		names := make([]string, len(nets))
		for i, n := range nets {
			names[i] = n.Network
		}
		return names
	}
	if m := rec.Config.NetworkMode; m != "" {
		return []string{m}
	}
	return []string{"bridge"}
}

// portFilter is Docker's publish= and expose= filters: PORT[/PROTO] among
// the published host ports or the container ports (asked or exposed).
func portFilter(rec *runc.Record, kind, v string) bool {
	num, proto, _ := strings.Cut(v, "/")
	if proto == "" {
		proto = "tcp"
	}
	for _, p := range rec.Config.Ports {
		port := p.ContainerPort
		if kind == "publish" {
			port = p.HostPort
		}
		if strconv.Itoa(int(port)) == num && p.Protocol == proto {
			return true
		}
	}
	if kind == "expose" {
		_, ok := rec.ImageConfig.ExposedPorts[num+"/"+proto]
		return ok
	}
	return false
}
