package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/docker/go-units"
	"github.com/moby/sys/mountinfo"
	"github.com/spf13/cobra"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/images/buildcache"
	"github.com/berth-dev/berth/network/cni"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/runc"
)

// newSystemCmd is Docker's and Podman's `system` group: df, prune, info and
// events as Docker has them, and Podman's reset (docs/cli.md).
func newSystemCmd(g *globals) *cobra.Command {
	group := &cobra.Command{Use: "system", Short: "Manage berth"}
	group.AddCommand(newSystemDfCmd(g), newSystemPruneCmd(g), newSystemResetCmd(g), newInfoCmd(g), newEventsCmd(g))
	return group
}

// ---- system df -------------------------------------------------------------

// diskUsage is what `system df` reports on, read from the stores; the
// summary and the tables are pure functions of it.
type diskUsage struct {
	Images []*images.Image
	// ImageUsers counts the containers (in any state) of each image ID.
	ImageUsers map[string]int
	Containers []containerUsage
	Volumes    []volumeUsage
	// BuildCache are the cache's records and mounts, each record's layers
	// those still stored.
	BuildCache []buildcache.Entry
}

type containerUsage struct {
	runc.Observed
	SizeRw int64 // its writable layer (upper dir)
}

type volumeUsage struct {
	Name  string
	Links int // containers that mount it
	Size  int64
}

// active is Docker's test for a container counted ACTIVE: it runs.
func (c containerUsage) active() bool {
	switch c.State.Status {
	case "running", "paused", "restarting":
		return true
	}
	return false
}

// imageSpace is the images' sizes as `system df` counts them: each layer
// (by chain ID) once however many images share it. shared counts the
// images of each layer.
type imageSpace struct {
	total, reclaimable int64
	shared             map[string]int
}

func (u diskUsage) imageSpace() imageSpace {
	sp := imageSpace{shared: map[string]int{}}
	size := map[string]int64{}
	used := map[string]bool{}
	for _, im := range u.Images {
		for _, l := range im.Layers {
			c := l.ChainID.String()
			sp.shared[c]++
			size[c] = l.Size
			if u.ImageUsers[im.ID] > 0 {
				used[c] = true
			}
		}
	}
	for c, n := range size {
		sp.total += n
		if !used[c] {
			sp.reclaimable += n
		}
	}
	return sp
}

// sharedSize is the bytes of im's layers that another image has too.
func (sp imageSpace) sharedSize(im *images.Image) int64 {
	var n int64
	for _, l := range im.Layers {
		if sp.shared[l.ChainID.String()] > 1 {
			n += l.Size
		}
	}
	return n
}

// buildCacheSizes are the bytes of each cache entry: its own files plus
// the layers that only the cache keeps (no image has them), each counted
// for the first entry that names it.
func (u diskUsage) buildCacheSizes() []int64 {
	inImage := map[string]bool{}
	for _, im := range u.Images {
		for _, l := range im.Layers {
			inImage[l.ChainID.String()] = true
		}
	}
	counted := map[string]bool{}
	out := make([]int64, len(u.BuildCache))
	for i, e := range u.BuildCache {
		out[i] = e.Size
		for _, l := range e.Layers {
			c := l.ChainID.String()
			if !inImage[c] && !counted[c] {
				counted[c] = true
				out[i] += l.Size
			}
		}
	}
	return out
}

// dfRow is a line of `system df`, with Docker's field names (and its JSON
// key order) for --format.
type dfRow struct {
	Active      string
	Reclaimable string
	Size        string
	TotalCount  string
	Type        string
}

var dfHeader = dfRow{Active: "ACTIVE", Reclaimable: "RECLAIMABLE", Size: "SIZE", TotalCount: "TOTAL", Type: "TYPE"}

const dfTable = "{{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"

// reclaimable is Docker's RECLAIMABLE cell: the size and its share of total.
func reclaimable(n, total int64) string {
	if total > 0 {
		return fmt.Sprintf("%s (%d%%)", units.HumanSize(float64(n)), n*100/total)
	}
	return units.HumanSize(float64(n))
}

// dfSummary is the four lines of `system df`.
func dfSummary(u diskUsage) []dfRow {
	sp := u.imageSpace()
	activeImages := 0
	for _, im := range u.Images {
		if u.ImageUsers[im.ID] > 0 {
			activeImages++
		}
	}
	var cTotal, cFree int64
	activeContainers := 0
	for _, c := range u.Containers {
		cTotal += c.SizeRw
		if c.active() {
			activeContainers++
		} else {
			cFree += c.SizeRw
		}
	}
	var vTotal, vFree int64
	activeVolumes := 0
	for _, v := range u.Volumes {
		vTotal += v.Size
		if v.Links > 0 {
			activeVolumes++
		} else {
			vFree += v.Size
		}
	}
	var bTotal int64
	for _, n := range u.buildCacheSizes() {
		bTotal += n
	}
	return []dfRow{
		{Type: "Images", TotalCount: strconv.Itoa(len(u.Images)), Active: strconv.Itoa(activeImages),
			Size: units.HumanSize(float64(sp.total)), Reclaimable: reclaimable(sp.reclaimable, sp.total)},
		{Type: "Containers", TotalCount: strconv.Itoa(len(u.Containers)), Active: strconv.Itoa(activeContainers),
			Size: units.HumanSize(float64(cTotal)), Reclaimable: reclaimable(cFree, cTotal)},
		{Type: "Local Volumes", TotalCount: strconv.Itoa(len(u.Volumes)), Active: strconv.Itoa(activeVolumes),
			Size: units.HumanSize(float64(vTotal)), Reclaimable: reclaimable(vFree, vTotal)},
		// No build runs in a berth that reads the cache: none is in use.
		{Type: "Build Cache", TotalCount: strconv.Itoa(len(u.BuildCache)), Active: "0",
			Size: units.HumanSize(float64(bTotal)), Reclaimable: units.HumanSize(float64(bTotal))},
	}
}

// dfContainerRow is a line of `system df -v`'s containers.
type dfContainerRow struct {
	ID, Image, Command, LocalVolumes, Size, RunningFor, Status, Names string
}

var dfContainerHeader = dfContainerRow{ID: "CONTAINER ID", Image: "IMAGE", Command: "COMMAND", LocalVolumes: "LOCAL VOLUMES",
	Size: "SIZE", RunningFor: "CREATED", Status: "STATUS", Names: "NAMES"}

const dfContainerTable = "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}"

type dfVolumeRow struct{ Name, Links, Size string }

var dfVolumeHeader = dfVolumeRow{Name: "VOLUME NAME", Links: "LINKS", Size: "SIZE"}

const dfVolumeTable = "{{.Name}}\t{{.Links}}\t{{.Size}}"

type dfCacheRow struct {
	ID, CacheType, Size, CreatedSince, LastUsedSince, UsageCount, Shared string
}

var dfCacheHeader = dfCacheRow{ID: "CACHE ID", CacheType: "CACHE TYPE", Size: "SIZE", CreatedSince: "CREATED",
	LastUsedSince: "LAST USED", UsageCount: "USAGE", Shared: "SHARED"}

const dfCacheTable = "{{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}"

const dfImageTable = "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}"

// dfVerbose is `system df -v`: the tables, and with --format json one
// object of them, as Docker prints it.
type dfVerbose struct {
	Images     []imageRow
	Containers []dfContainerRow
	Volumes    []dfVolumeRow
	BuildCache []dfCacheRow
	// cacheSize is the build cache's total, for its heading.
	cacheSize int64
}

func dfDetails(u diskUsage, now time.Time) dfVerbose {
	var v dfVerbose
	sp := u.imageSpace()
	for _, im := range u.Images {
		shared := sp.sharedSize(im)
		for _, r := range imageRows(im, nil, now) {
			r.ID = images.ShortID(r.ID)
			r.SharedSize = units.HumanSizeWithPrecision(float64(shared), 3)
			r.UniqueSize = units.HumanSizeWithPrecision(float64(im.Size-shared), 3)
			r.Containers = strconv.Itoa(u.ImageUsers[im.ID])
			v.Images = append(v.Images, r)
		}
	}
	for _, c := range u.Containers {
		rec := c.Record
		cmd := strings.Join(append([]string{rec.Path}, rec.Args...), " ")
		v.Containers = append(v.Containers, dfContainerRow{
			ID: runc.ShortID(rec.ID), Image: rec.Image, Command: strconv.Quote(ellipsis(cmd, 20)),
			LocalVolumes: strconv.Itoa(len(rec.Volumes)), Size: humanSize(c.SizeRw),
			RunningFor: units.HumanDuration(now.Sub(rec.Created)) + " ago", Status: statusText(c.Observed, now), Names: rec.Name,
		})
	}
	for _, vol := range u.Volumes {
		v.Volumes = append(v.Volumes, dfVolumeRow{Name: vol.Name, Links: strconv.Itoa(vol.Links), Size: units.HumanSize(float64(vol.Size))})
	}
	inImage := map[string]bool{}
	for _, im := range u.Images {
		for _, l := range im.Layers {
			inImage[l.ChainID.String()] = true
		}
	}
	for i, n := range u.buildCacheSizes() {
		e := u.BuildCache[i]
		v.cacheSize += n
		id := e.ID
		if len(id) > 12 {
			id = id[:12]
		}
		// A step's record is shared when an image has the layer it made.
		shared := len(e.Layers) > 0 && inImage[e.Layers[len(e.Layers)-1].ChainID.String()]
		v.BuildCache = append(v.BuildCache, dfCacheRow{
			ID: id, CacheType: e.Type, Size: units.HumanSizeWithPrecision(float64(n), 3),
			CreatedSince: units.HumanDuration(now.Sub(e.Created)) + " ago", LastUsedSince: "N/A", UsageCount: "N/A",
			Shared: strconv.FormatBool(shared),
		})
	}
	return v
}

// writeDfVerbose writes the tables under Docker's headings.
func writeDfVerbose(out io.Writer, v dfVerbose) error {
	fmt.Fprint(out, "Images space usage:\n\n")
	if err := renderImageRows(out, "", dfImageTable, imageHeader, v.Images); err != nil {
		return err
	}
	fmt.Fprint(out, "\nContainers space usage:\n\n")
	if err := renderImageRows(out, "", dfContainerTable, dfContainerHeader, v.Containers); err != nil {
		return err
	}
	fmt.Fprint(out, "\nLocal Volumes space usage:\n\n")
	if err := renderImageRows(out, "", dfVolumeTable, dfVolumeHeader, v.Volumes); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nBuild cache usage: %s\n\n", units.HumanSize(float64(v.cacheSize)))
	return renderImageRows(out, "", dfCacheTable, dfCacheHeader, v.BuildCache)
}

// writeDf writes `system df` per -v and --format.
func writeDf(out io.Writer, u diskUsage, verbose bool, format string, now time.Time) error {
	if !verbose {
		return renderImageRows(out, format, dfTable, dfHeader, dfSummary(u))
	}
	v := dfDetails(u, now)
	switch {
	case format == "" || format == "table":
		return writeDfVerbose(out, v)
	case format == "json":
		enc := json.NewEncoder(out)
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	case strings.HasPrefix(format, "table"):
		return &exitError{code: 1, err: errors.New("system df -v takes --format json or a template, not a table")}
	}
	t, err := parseImageTemplate(format)
	if err != nil {
		return err
	}
	if err := t.Execute(out, v); err != nil {
		return err
	}
	_, err = fmt.Fprintln(out)
	return err
}

// readDiskUsage reads the stores of g's root. It creates nothing but the
// stores' own empty directories.
func readDiskUsage(ctx context.Context, g *globals) (diskUsage, error) {
	u := diskUsage{ImageUsers: map[string]int{}}
	store, err := openImageStore(g)
	if err != nil {
		return u, err
	}
	if u.Images, err = store.List(ctx); err != nil {
		return u, err
	}
	rt, err := newRuntime(g)
	if err != nil {
		return u, err
	}
	obs, err := rt.ListObserved(ctx)
	if err != nil {
		return u, err
	}
	links := map[string]map[string]bool{} // volume -> container IDs
	for _, o := range obs {
		u.ImageUsers[o.Record.ImageID]++
		u.Containers = append(u.Containers, containerUsage{Observed: o, SizeRw: rt.SizeRw(o.Record.ID)})
		for _, m := range o.Record.Volumes {
			if links[m.Name] == nil {
				links[m.Name] = map[string]bool{}
			}
			links[m.Name][o.Record.ID] = true
		}
	}
	vols, err := openVolumes(g)
	if err != nil {
		return u, err
	}
	recs, err := vols.Records(ctx)
	if err != nil {
		return u, err
	}
	for _, r := range recs {
		users := links[r.Name]
		for _, id := range r.Users {
			if users == nil {
				users = map[string]bool{}
			}
			users[id] = true
		}
		u.Volumes = append(u.Volumes, volumeUsage{Name: r.Name, Links: len(users), Size: int64(r.DiskUsage())})
	}
	entries, err := buildCache(g).Entries()
	if err != nil {
		return u, err
	}
	for i := range entries {
		entries[i].Layers = slices.DeleteFunc(entries[i].Layers, func(l buildcache.EntryLayer) bool { return !store.HasLayer(l.ChainID) })
	}
	u.BuildCache = entries
	return u, nil
}

func buildCache(g *globals) *buildcache.Cache {
	return &buildcache.Cache{Dir: filepath.Join(g.root, "build-cache")}
}

func newSystemDfCmd(g *globals) *cobra.Command {
	var (
		verbose bool
		format  string
	)
	cmd := &cobra.Command{
		Use:   "df [OPTIONS]",
		Short: "Show berth disk usage",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := readDiskUsage(cmd.Context(), g)
			if err != nil {
				return err
			}
			return writeDf(cmd.OutOrStdout(), u, verbose, format, time.Now())
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "Show detailed information on space usage")
	cmd.Flags().StringVar(&format, "format", "", "Format output using a custom template: 'table', 'table TEMPLATE', 'json', 'TEMPLATE'")
	return cmd
}

// ---- system prune ----------------------------------------------------------

type systemPruneOptions struct {
	all, volumes, force bool
	filters             []string
}

// systemPruneWarning is Docker's confirmation text for these options.
func systemPruneWarning(o systemPruneOptions) string {
	w := []string{"all stopped containers", "all networks not used by at least one container"}
	if o.volumes {
		w = append(w, "all anonymous volumes not used by at least one container")
	}
	if o.all {
		w = append(w, "all images without at least one container associated to them", "all build cache")
	} else {
		w = append(w, "all dangling images", "unused build cache")
	}
	var b strings.Builder
	b.WriteString("WARNING! This will remove:\n")
	for _, s := range w {
		b.WriteString("  - " + s + "\n")
	}
	if len(o.filters) > 0 {
		fs := slices.Clone(o.filters)
		sort.Strings(fs)
		b.WriteString("\n  Items to be pruned will be filtered with:\n")
		for _, f := range fs {
			b.WriteString("  - " + f + "\n")
		}
	}
	return b.String()
}

// pruneStage is one prune command that system prune runs, with the
// arguments it gets, or why it is skipped (a filter it cannot apply:
// pruning without it would remove what the filter keeps).
type pruneStage struct {
	name string
	cmd  func(*globals) *cobra.Command
	args []string
	skip string
}

// systemPruneStages are the prune commands `system prune` runs, in
// Docker's order, each given the filters it understands. Filters are
// Docker's label=, label!= and until=, checked here (parsePruneFilters)
// so that a bad one stops the prune before it starts.
func systemPruneStages(o systemPruneOptions) ([]pruneStage, error) {
	if _, err := parsePruneFilters(o.filters, time.Now(), "until", "label", "label!"); err != nil {
		return nil, err
	}
	var labels, until []string // label= and label!=, until=
	for _, f := range o.filters {
		if strings.HasPrefix(f, "until=") {
			until = append(until, f)
		} else {
			labels = append(labels, f)
		}
	}
	withFilters := func(args []string, fs ...[]string) []string {
		for _, l := range fs {
			for _, f := range l {
				args = append(args, "--filter", f)
			}
		}
		return args
	}
	flagAll := func(args []string) []string {
		if o.all {
			return append(args, "--all")
		}
		return args
	}
	unsupported := func(what string, fs []string) string {
		if len(fs) > 0 {
			return fmt.Sprintf("%s: --filter %s is not supported, skipped", what, fs[0])
		}
		return ""
	}
	stages := []pruneStage{
		{name: "containers", cmd: newContainerPruneCmd, args: withFilters([]string{"--force"}, labels, until)},
		{name: "networks", cmd: newNetworkPruneCmd, args: withFilters([]string{"--force"}, labels, until)},
	}
	if o.volumes {
		// Docker's system prune prunes anonymous volumes only, -a or not.
		// Docker's volume prune takes no until= (it rejects it).
		stages = append(stages, pruneStage{name: "volumes", cmd: newVolumePruneCmd, args: withFilters([]string{"--force"}, labels), skip: unsupported("volume prune", until)})
	}
	stages = append(stages,
		pruneStage{name: "images", cmd: newImagePruneCmd, args: withFilters(flagAll([]string{"--force"}), labels, until)},
		// Build cache records have no labels.
		pruneStage{name: "build cache", cmd: newBuilderPruneCmd, args: withFilters(flagAll([]string{"--force"}), until), skip: unsupported("builder prune", labels)},
	)
	return stages, nil
}

// pruneReport splits a prune command's output into what it deleted (its
// report, trailing blank lines dropped) and its "Total reclaimed space"
// in bytes (units parse back what units printed, to its precision).
func pruneReport(out string) (string, int64) {
	var keep []string
	var space int64
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "Total reclaimed space:"); ok {
			if n, err := units.FromHumanSize(strings.TrimSpace(v)); err == nil {
				space += n
			}
			continue
		}
		if strings.HasSuffix(line, ": 0 records, 0 cache mounts") {
			continue // builder prune's line when it deleted nothing
		}
		keep = append(keep, line)
	}
	return strings.TrimRight(strings.Join(keep, "\n"), "\n"), space
}

// runPruneStage runs one prune command of this berth, as its own command
// line would, and returns its report and the bytes it freed.
func runPruneStage(ctx context.Context, g *globals, st pruneStage, stderr io.Writer) (string, int64, error) {
	c := st.cmd(g)
	var out bytes.Buffer
	c.SetArgs(st.args)
	c.SetOut(&out)
	c.SetErr(stderr)
	c.SetIn(strings.NewReader(""))
	c.SilenceUsage, c.SilenceErrors = true, true
	err := c.ExecuteContext(ctx)
	report, space := pruneReport(out.String())
	if err != nil {
		err = fmt.Errorf("prune %s: %w", st.name, err)
	}
	return report, space, err
}

func newSystemPruneCmd(g *globals) *cobra.Command {
	var o systemPruneOptions
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused data",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			stages, err := systemPruneStages(o)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if !o.force && !confirmed(out, cmd.InOrStdin(), systemPruneWarning(o)) {
				fmt.Fprintln(out)
				return errors.New("system prune has been cancelled")
			}
			var total int64
			var errs []error
			for _, st := range stages {
				if st.skip != "" {
					fmt.Fprintln(cmd.ErrOrStderr(), "berth: warning:", st.skip)
					continue
				}
				report, space, err := runPruneStage(cmd.Context(), g, st, cmd.ErrOrStderr())
				total += space
				if report != "" {
					fmt.Fprintf(out, "%s\n\n", report)
				}
				if err != nil {
					errs = append(errs, err)
				}
			}
			fmt.Fprintln(out, "Total reclaimed space:", units.HumanSize(float64(total)))
			return errors.Join(errs...)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&o.all, "all", "a", false, "Remove all unused images not just dangling ones")
	fl.BoolVar(&o.volumes, "volumes", false, "Prune anonymous volumes")
	fl.BoolVarP(&o.force, "force", "f", false, "Do not prompt for confirmation")
	stringArrayVar(fl, &o.filters, "filter", nil, `Provide filter values (e.g. "label=<key>=<value>", "until=<timestamp>")`)
	return cmd
}

// ---- system reset ----------------------------------------------------------

// resetWarning is Podman's confirmation text, for berth's objects and
// roots; bridge is the default network's host bridge, "" if none is set up.
func resetWarning(g *globals, bridge string) string {
	nets := "all networks"
	if bridge != "" {
		nets += fmt.Sprintf(", and the default network's bridge %s with its iptables rules", bridge)
	}
	return fmt.Sprintf(`WARNING! This will remove:
        - all containers
        - all images
        - %s
        - all build cache
        - all volumes
        - the root directory: %q
        - the run root directory: %q`, nets, g.root, g.runRoot)
}

// checkResetRoots refuses roots whose contents must never be removed
// wholesale: relative paths and the file system's root.
func checkResetRoots(g *globals) error {
	for _, d := range []string{g.root, g.runRoot} {
		if !filepath.IsAbs(d) || filepath.Clean(d) == "/" {
			return &exitError{code: 125, err: fmt.Errorf("system reset: refusing to empty %q: not an absolute directory below /", d)}
		}
	}
	return nil
}

func newSystemResetCmd(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "reset [OPTIONS]",
		Short: "Reset berth's storage back to its initial state",
		Long: `Remove every container, image, volume, network and the build cache of
--root, the default network's bridge and iptables rules, stop the DNS server
of --run-root, and empty both directories. Other roots are not touched.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkResetRoots(g); err != nil {
				return err
			}
			if !force {
				bridge := ""
				if recs, err := networkManager(g).Records(cmd.Context()); err == nil {
					for _, r := range recs {
						if r.Default {
							bridge = r.Bridge
						}
					}
				}
				if !confirmed(cmd.OutOrStdout(), cmd.InOrStdin(), resetWarning(g, bridge)) {
					return nil
				}
			}
			return resetRoot(cmd.Context(), g, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	return cmd
}

// resetRoot removes everything of g's roots, going on after a failure so
// that as much as possible is gone; it returns every failure. The roots'
// contents are removed only when nothing is mounted below them any more:
// removing through a mount would delete what is not berth's.
func resetRoot(ctx context.Context, g *globals, stderr io.Writer) error {
	var errs []error
	note := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	// The host ends of the containers' veths: the kernel deletes them
	// when the namespaces go, a moment after the containers are removed.
	var veths []string
	if atts, err := networkManager(g).Attachments(ctx); err == nil {
		for _, a := range atts {
			for _, ep := range a.Endpoints {
				veths = append(veths, ep.HostIf)
			}
		}
	}
	// Containers first: they hold networks, volumes and images.
	if rt, err := newRuntime(g); err != nil {
		note(err)
	} else {
		obs, err := rt.ListObserved(ctx)
		note(err)
		for _, o := range obs {
			note(rt.Remove(ctx, o.Record.ID, runtime.RemoveOptions{Force: true, RemoveVolumes: true}))
		}
		_, err = rt.RemoveOrphans(0)
		note(err)
	}
	note(waitLinksGone(veths, 5*time.Second))
	note(resetNetworks(ctx, g, stderr))
	if vols, err := openVolumes(g); err != nil {
		note(err)
	} else if recs, err := vols.Records(ctx); err != nil {
		note(err)
	} else {
		for _, r := range recs {
			note(vols.Remove(ctx, r.Name, true))
		}
	}
	if store, err := openImageStore(g); err != nil {
		note(err)
	} else {
		_, _, err := store.Prune(ctx, true)
		note(err)
		_, err = buildCache(g).Prune(true, nil)
		note(err)
		_, err = store.GC(ctx)
		note(err)
	}
	note(stopDNS(g))
	for _, dir := range []string{g.root, g.runRoot} {
		note(emptyDir(dir))
	}
	return errors.Join(errs...)
}

// resetNetworks removes the user networks (bridges and rules, through the
// manager) and the default network's host side, which berth never removes
// otherwise: its rules, and its bridge unless a link of another root is
// still on it. Then it drops any rule left with this root's tag and
// berth's chains if no root has rules in them any more.
func resetNetworks(ctx context.Context, g *globals, stderr io.Writer) error {
	m := networkManager(g)
	cleanupNetworks(ctx, g, m)
	recs, err := m.Records(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range recs {
		if !r.Default {
			errs = append(errs, m.Remove(ctx, r.Name))
			continue
		}
		if ports := bridgePorts(r.Bridge); len(ports) > 0 {
			fmt.Fprintf(stderr, "berth: warning: bridge %s kept: links of another berth root are on it: %s\n", r.Bridge, strings.Join(ports, ", "))
			r.Bridge = ""
		}
		errs = append(errs, m.TeardownHost(ctx, r))
	}
	// Rules left with this root's tag, then the chains if no root has any.
	errs = append(errs, cni.LinuxHost{Scope: cni.Scope(g.root)}.Prune(ctx, nil), m.PruneChains(ctx))
	return errors.Join(errs...)
}

// waitLinksGone waits until no link of these names is left, for up to
// timeout, and says which are left if some are.
func waitLinksGone(names []string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var left []string
		for _, n := range names {
			if _, err := netlink.LinkByName(n); err == nil {
				left = append(left, n)
			}
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("links of removed containers still there after %s: %s", timeout, strings.Join(left, ", "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// bridgePorts lists the links enslaved to the bridge name.
func bridgePorts(name string) []string {
	br, err := netlink.LinkByName(name)
	if err != nil {
		return nil
	}
	links, err := netlink.LinkList()
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range links {
		if l.Attrs().MasterIndex == br.Attrs().Index {
			out = append(out, l.Attrs().Name)
		}
	}
	return out
}

// stopDNS ends the DNS server of g's run root, if one runs: the process
// its pid file names, if that is `berth ... --run-root RUNROOT dns-serve`.
func stopDNS(g *globals) error {
	b, err := os.ReadFile(filepath.Join(dnsDir(g), "pid"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop dns server: %w", err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	isOurs := func() bool {
		argv, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		return err == nil && slices.Contains(strings.Split(string(argv), "\x00"), "dns-serve") &&
			slices.Contains(strings.Split(string(argv), "\x00"), g.runRoot)
	}
	if pid <= 0 || !isOurs() {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if !isOurs() {
			return nil
		}
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	return nil
}

// emptyDir unmounts whatever is mounted below dir (never dir itself),
// then removes dir's contents, keeping dir. If a mount stays, nothing is
// removed.
func emptyDir(dir string) error {
	real, err := filepath.EvalSymlinks(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("empty %s: %w", dir, err)
	}
	below := func() ([]string, error) {
		ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(real))
		if err != nil {
			return nil, err
		}
		var out []string
		for _, m := range ms {
			if m.Mountpoint != real {
				out = append(out, m.Mountpoint)
			}
		}
		// Deepest first: a mount on top of another goes first.
		sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
		return out, nil
	}
	ms, err := below()
	if err != nil {
		return fmt.Errorf("empty %s: %w", dir, err)
	}
	for _, m := range ms {
		if unix.Unmount(m, 0) != nil {
			_ = unix.Unmount(m, unix.MNT_DETACH)
		}
	}
	if ms, err = below(); err != nil || len(ms) > 0 {
		return fmt.Errorf("empty %s: still mounted below it: %v (%v): %w", dir, ms, err, fs.ErrExist)
	}
	ents, err := os.ReadDir(real)
	if err != nil {
		return fmt.Errorf("empty %s: %w", dir, err)
	}
	var errs []error
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(real, e.Name())); err != nil {
			errs = append(errs, fmt.Errorf("empty %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}
