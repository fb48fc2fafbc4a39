package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	"github.com/docker/cli/templates"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/volumes"
	"github.com/berth-dev/berth/volumes/local"
)

// addVolumeCommands adds `berth volume create|ls|inspect|rm|prune`, with
// docker volume's flags and output.
func addVolumeCommands(root *cobra.Command, g *globals) {
	cmd := &cobra.Command{
		Use:   "volume",
		Short: "Manage volumes",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(
		newVolumeCreateCmd(g),
		newVolumeLsCmd(g),
		newVolumeInspectCmd(g),
		newVolumeRmCmd(g),
		newVolumePruneCmd(g),
	)
	root.AddCommand(cmd)
}

func openVolumes(g *globals) (*local.Manager, error) { return local.New(g.root) }

func newVolumeCreateCmd(g *globals) *cobra.Command {
	var (
		name, driver string
		opts, labels []string
	)
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] [VOLUME]",
		Short: "Create a volume",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if name != "" {
					return errors.New("conflicting options: cannot specify a volume-name through both --name and as a positional arg")
				}
				name = args[0]
			}
			cfg := volumes.Config{Name: name, Driver: driver}
			var err error
			if cfg.Labels, err = volumeLabels(labels); err != nil {
				return err
			}
			cfg.Options = volumeOptions(opts)
			m, err := openVolumes(g)
			if err != nil {
				return err
			}
			v, err := m.Create(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), v.Name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&driver, "driver", "d", local.DriverName, "Specify volume driver name")
	f.StringVar(&name, "name", "", "Specify volume name")
	_ = f.MarkHidden("name")
	stringArrayVarP(f, &opts, "opt", "o", nil, "Set driver specific options")
	stringArrayVar(f, &labels, "label", nil, "Set metadata for a volume")
	return cmd
}

// volumeLabels turns --label key[=value] flags into a map, rejecting an
// empty key as Docker does.
func volumeLabels(flags []string) (map[string]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, l := range flags {
		k, v, _ := strings.Cut(l, "=")
		if strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("invalid label '%s': empty name", l)
		}
		if strings.ContainsAny(k, " \t\n") {
			return nil, fmt.Errorf("label '%s' contains whitespaces", k)
		}
		out[k] = v
	}
	return out, nil
}

// volumeOptions turns -o key=value flags into a map; the value may hold
// more '=' (o=size=100m).
func volumeOptions(flags []string) map[string]string {
	if len(flags) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, o := range flags {
		k, v, _ := strings.Cut(o, "=")
		out[k] = v
	}
	return out
}

func newVolumeLsCmd(g *globals) *cobra.Command {
	var (
		quiet   bool
		format  string
		filters []string
	)
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List volumes",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := parseVolumeFilters(filters, "dangling", "driver", "label", "label!", "name")
			if err != nil {
				return err
			}
			m, err := openVolumes(g)
			if err != nil {
				return err
			}
			rs, err := m.Records(cmd.Context())
			if err != nil {
				return err
			}
			var rows []volumeRow
			for _, r := range rs {
				if f.match(r) {
					rows = append(rows, volumeRow{r})
				}
			}
			sort.SliceStable(rows, func(i, j int) bool { return naturalLess(rows[i].r.Name, rows[j].r.Name) })
			return writeVolumeRows(cmd.OutOrStdout(), volumeListFormat(format, quiet), rows)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&quiet, "quiet", "q", false, "Only display volume names")
	f.StringVar(&format, "format", "", "Format output using a custom template: 'table', 'table TEMPLATE', 'json', 'TEMPLATE'")
	stringArrayVarP(f, &filters, "filter", "f", nil, `Provide filter values (e.g. "dangling=true")`)
	return cmd
}

// volumeListFormat is docker's NewVolumeFormat: the default table, -q's
// names, or the user's format.
func volumeListFormat(format string, quiet bool) string {
	switch format {
	case "", "table":
		if quiet {
			return "{{.Name}}"
		}
		return "table {{.Driver}}\t{{.Name}}"
	case "raw":
		if quiet {
			return `name: {{.Name}}`
		}
		return `name: {{.Name}}\ndriver: {{.Driver}}\n`
	}
	return format
}

// volumeRow is one volume in `volume ls` templates, with the fields of
// docker's volume formatter.
type volumeRow struct{ r local.Record }

func (v volumeRow) Name() string         { return v.r.Name }
func (v volumeRow) Driver() string       { return v.r.Driver }
func (v volumeRow) Scope() string        { return "local" }
func (v volumeRow) Mountpoint() string   { return v.r.Mountpoint }
func (v volumeRow) Links() string        { return "N/A" }
func (v volumeRow) Size() string         { return "N/A" }
func (v volumeRow) Group() string        { return "N/A" }
func (v volumeRow) Availability() string { return "N/A" }
func (v volumeRow) Status() string       { return "N/A" }
func (v volumeRow) Label(name string) string {
	return v.r.Labels[name]
}

// Labels are key=value pairs, sorted, comma-separated.
func (v volumeRow) Labels() string {
	var kv []string
	for k, val := range v.r.Labels {
		kv = append(kv, k+"="+val)
	}
	slices.Sort(kv)
	return strings.Join(kv, ",")
}

// MarshalJSON is `--format json`: every field, as docker prints it.
func (v volumeRow) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{
		"Availability": v.Availability(),
		"Driver":       v.Driver(),
		"Group":        v.Group(),
		"Labels":       v.Labels(),
		"Links":        v.Links(),
		"Mountpoint":   v.Mountpoint(),
		"Name":         v.Name(),
		"Scope":        v.Scope(),
		"Size":         v.Size(),
		"Status":       v.Status(),
	})
}

// volumeHeader is the header row of a table format.
type volumeHeader map[string]string

// Label's header is the label's last dotted part, as docker's.
func (volumeHeader) Label(name string) string {
	parts := strings.Split(name, ".")
	return strings.NewReplacer("-", " ", "_", " ").Replace(parts[len(parts)-1])
}

var volumeHeaders = volumeHeader{
	"Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
	"Labels": "LABELS", "Links": "LINKS", "Size": "SIZE", "Group": "GROUP",
	"Availability": "AVAILABILITY", "Status": "STATUS",
}

// writeVolumeRows renders rows as docker's formatter does: "json" is one
// object a line, "table TEMPLATE" a tab-aligned table under a header row,
// anything else the template once a row.
func writeVolumeRows(out io.Writer, format string, rows []volumeRow) error {
	text, table := strings.CutPrefix(format, "table")
	if format == "json" {
		text = "{{json .}}"
	}
	text = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(strings.Trim(text, " "))
	tmpl, err := templates.Parse(text)
	if err != nil {
		return fmt.Errorf("template parsing error: %w", err)
	}
	var body bytes.Buffer
	for _, r := range rows {
		if err := tmpl.Execute(&body, r); err != nil {
			return fmt.Errorf("template parsing error: %w", err)
		}
		body.WriteByte('\n')
	}
	if !table {
		_, err := body.WriteTo(out)
		return err
	}
	tw := tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)
	if err := tmpl.Funcs(templates.HeaderFunctions).Execute(tw, volumeHeaders); err != nil {
		return fmt.Errorf("template parsing error: %w", err)
	}
	tw.Write([]byte{'\n'})
	body.WriteTo(tw)
	return tw.Flush()
}

// volumeInspect is the JSON of `volume inspect`, docker's fields in
// docker's order.
type volumeInspect struct {
	CreatedAt  string            `json:"CreatedAt,omitempty"`
	Driver     string            `json:"Driver"`
	Labels     map[string]string `json:"Labels"`
	Mountpoint string            `json:"Mountpoint"`
	Name       string            `json:"Name"`
	Options    map[string]string `json:"Options"`
	Scope      string            `json:"Scope"`
}

func newVolumeInspect(r local.Record) volumeInspect {
	return volumeInspect{
		CreatedAt:  r.CreatedAt.Local().Format(time.RFC3339),
		Driver:     r.Driver,
		Labels:     r.Labels,
		Mountpoint: r.Mountpoint,
		Name:       r.Name,
		Options:    r.Options,
		Scope:      "local",
	}
}

func newVolumeInspectCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] VOLUME [VOLUME...]",
		Short: "Display detailed information on one or more volumes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var tmpl *template.Template
			if format != "" && format != "json" {
				t, err := templates.Parse(format)
				if err != nil {
					return &exitError{code: 64, err: fmt.Errorf("template parsing error: %w", err)}
				}
				tmpl = t
			}
			m, err := openVolumes(g)
			if err != nil {
				return err
			}
			var found []volumeInspect
			var errs []error
			var out bytes.Buffer
			for _, name := range args {
				r, err := m.Inspect(cmd.Context(), name)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				v := newVolumeInspect(r)
				if tmpl == nil {
					found = append(found, v)
					continue
				}
				if err := tmpl.Execute(&out, v); err != nil {
					errs = append(errs, fmt.Errorf("template parsing error: %w", err))
					continue
				}
				out.WriteByte('\n')
			}
			if tmpl == nil {
				if found == nil {
					found = []volumeInspect{}
				}
				var b []byte
				if format == "json" {
					b, err = json.Marshal(found)
				} else {
					b, err = json.MarshalIndent(found, "", "    ")
				}
				if err != nil {
					return err
				}
				out.Write(append(b, '\n'))
			} else if out.Len() == 0 {
				out.WriteByte('\n')
			}
			out.WriteTo(cmd.OutOrStdout())
			return errors.Join(errs...)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a custom template: 'json' or a Go template")
	return cmd
}

func newVolumeRmCmd(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] VOLUME [VOLUME...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more volumes",
		Long:    "Remove one or more volumes. You cannot remove a volume that is in use by a container.",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := openVolumes(g)
			if err != nil {
				return err
			}
			var errs []error
			for _, name := range args {
				if err := m.Remove(cmd.Context(), name, force); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintln(cmd.OutOrStdout(), name)
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force the removal of one or more volumes")
	return cmd
}

const (
	volumePruneWarning    = "WARNING! This will remove anonymous local volumes not used by at least one container."
	volumePruneAllWarning = "WARNING! This will remove all local volumes not used by at least one container."
)

func newVolumePruneCmd(g *globals) *cobra.Command {
	var (
		all, force bool
		filters    []string
	)
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused local volumes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := parseVolumeFilters(filters, "all", "label", "label!")
			if err != nil {
				return err
			}
			warning := volumePruneWarning
			if all {
				if f.all != nil {
					return errors.New("conflicting options: cannot specify both --all and --filter all=1")
				}
				t := true
				f.all = &t
				warning = volumePruneAllWarning
			}
			if !force {
				if !confirmed(cmd.OutOrStdout(), cmd.InOrStdin(), warning) {
					fmt.Fprintln(cmd.OutOrStdout())
					return errors.New("volume prune has been cancelled")
				}
			}
			m, err := openVolumes(g)
			if err != nil {
				return err
			}
			removed, size, err := m.Prune(cmd.Context(), f.matchPrune)
			out := cmd.OutOrStdout()
			if len(removed) > 0 {
				fmt.Fprintln(out, "Deleted Volumes:")
				for _, n := range removed {
					fmt.Fprintln(out, n)
				}
				fmt.Fprintln(out)
			}
			fmt.Fprintln(out, "Total reclaimed space:", units.HumanSize(float64(size)))
			return err
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&all, "all", "a", false, "Remove all unused volumes, not just anonymous ones")
	fl.BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	stringArrayVar(fl, &filters, "filter", nil, `Provide filter values (e.g. "label=<label>")`)
	return cmd
}

// volumeFilter is a parsed set of --filter flags with docker's semantics:
// values of one key are alternatives (name, driver) or all required
// (label), and different keys must all match.
type volumeFilter struct {
	names, drivers    []string
	labels, notLabels []string
	dangling, all     *bool
}

// parseVolumeFilters parses key=value flags, accepting only the keys
// given.
func parseVolumeFilters(flags []string, accepted ...string) (volumeFilter, error) {
	var f volumeFilter
	for _, fl := range flags {
		k, v, err := cutFilter(fl)
		if err != nil {
			return f, err
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		if !slices.Contains(accepted, k) {
			return f, invalidFilter(k)
		}
		switch k {
		case "name":
			f.names = append(f.names, v)
		case "driver":
			f.drivers = append(f.drivers, v)
		case "label":
			f.labels = append(f.labels, v)
		case "label!":
			f.notLabels = append(f.notLabels, v)
		case "dangling", "all":
			var b bool
			switch v {
			case "true", "1":
				b = true
			case "false", "0":
			default:
				return f, fmt.Errorf("invalid filter '%s=%s'", k, v)
			}
			if k == "dangling" {
				f.dangling = &b
			} else {
				f.all = &b
			}
		}
	}
	return f, nil
}

// match is `volume ls`'s filter.
func (f volumeFilter) match(r local.Record) bool {
	if f.names != nil && !matchAny(f.names, r.Name) {
		return false
	}
	if f.drivers != nil && !matchAny(f.drivers, r.Driver) {
		return false
	}
	if f.dangling != nil && *f.dangling != (len(r.Users) == 0) {
		return false
	}
	return f.matchLabels(r)
}

// matchPrune is `volume prune`'s filter: anonymous volumes only unless
// all, and the labels. Volumes in use are never pruned (local.Prune).
func (f volumeFilter) matchPrune(r local.Record) bool {
	if (f.all == nil || !*f.all) && !r.Anonymous() {
		return false
	}
	return f.matchLabels(r)
}

// matchLabels is Docker's (as pruneFilter's): every label= present, and
// not every label!=.
func (f volumeFilter) matchLabels(r local.Record) bool {
	return pruneFilter{labels: f.labels, notLabels: f.notLabels}.matchLabels(r.Labels)
}

// matchAny is docker's filters.Match: an exact value, or a regular
// expression found in s.
func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if p == s {
			return true
		}
		if re, err := regexp.Compile(p); err == nil && re.MatchString(s) {
			return true
		}
	}
	return false
}

// naturalLess orders names as docker's ls does: runs of digits compare as
// numbers, so vol2 comes before vol10.
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := isDigit(a[0]), isDigit(b[0])
		switch {
		case da && db:
			na, ra := digitRun(a)
			nb, rb := digitRun(b)
			ta, tb := strings.TrimLeft(na, "0"), strings.TrimLeft(nb, "0")
			if len(ta) != len(tb) {
				return len(ta) < len(tb)
			}
			if ta != tb {
				return ta < tb
			}
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			a, b = ra, rb
		case a[0] != b[0]:
			return a[0] < b[0]
		default:
			a, b = a[1:], b[1:]
		}
	}
	return len(a) < len(b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func digitRun(s string) (run, rest string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}
