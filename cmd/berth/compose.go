package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/spec"
)

// newComposeCmd is the `berth compose` group, mirroring `docker compose`:
// the stack flags (-f, -p, --env-file, --profile, --project-directory,
// --var, --var-file) belong to the group and come before the subcommand.
func newComposeCmd(env *stackEnv) *cobra.Command {
	sf := &stackFlags{}
	cmd := &cobra.Command{
		Use:   "compose [OPTIONS] COMMAND",
		Short: "Run a stack as docker compose does",
	}
	sf.register(cmd.Flags())
	cmd.AddCommand(
		newUpCmd(env, sf), newDownCmd(env, sf), newPlanCmd(env, sf), newComposeConfigCmd(env, cmd.Flags()),
		newComposeCreateCmd(env, sf), newComposeStartCmd(env, sf), newComposeStopCmd(env, sf),
		newComposeRestartCmd(env, sf), newComposeRmCmd(env, sf),
		newComposeControlCmd(env, sf, "kill"), newComposeControlCmd(env, sf, "pause"), newComposeControlCmd(env, sf, "unpause"),
		newComposePsCmd(env, sf), newComposeLsCmd(env), newComposeScaleCmd(env, sf), newComposeImagesCmd(env, sf),
		newComposeLogsCmd(env, sf), newComposeExecCmd(env, sf), newComposeTopCmd(env, sf), newComposeWaitCmd(env, sf),
		newComposePortCmd(env, sf), newComposeRunCmd(env, sf), newComposePullCmd(env, sf), newComposeBuildCmd(env, sf), newComposePushCmd(env, sf),
		newComposeCpCmd(env, sf), newComposeExportCmd(env, sf), newComposeCommitCmd(env, sf), newComposeAttachCmd(env, sf),
		newComposeStatsCmd(env, sf), newComposeEventsCmd(env, sf), newComposeVersionCmd(),
	)
	return cmd
}

// newComposeConfigCmd is `berth config` under the group: the group's
// stack flags are handed to config's own flags of the same names.
func newComposeConfigCmd(env *stackEnv, group *pflag.FlagSet) *cobra.Command {
	cmd := newConfigCmd(env.g)
	run := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var err error
		group.Visit(func(f *pflag.Flag) {
			own := cmd.Flags().Lookup(f.Name)
			if own == nil || own.Changed || err != nil {
				return
			}
			vals := []string{f.Value.String()}
			if sv, ok := f.Value.(pflag.SliceValue); ok {
				vals = sv.GetSlice()
			}
			for _, v := range vals {
				if err = cmd.Flags().Set(f.Name, v); err != nil {
					return
				}
			}
		})
		if err != nil {
			return err
		}
		return run(cmd, args)
	}
	return cmd
}

// composePsRow is one line of `compose ps`; the field names are Compose's JSON.
type composePsRow struct {
	ID         string `json:"ID"`
	Name       string `json:"Name"`
	Image      string `json:"Image"`
	Command    string `json:"Command"`
	Project    string `json:"Project"`
	Service    string `json:"Service"`
	Created    string `json:"CreatedAt"`
	RunningFor string `json:"RunningFor"`
	State      string `json:"State"`
	Health     string `json:"Health"`
	ExitCode   int    `json:"ExitCode"`
	Status     string `json:"Status"`
	Ports      string `json:"Ports"`
	Labels     string `json:"Labels"`

	labels map[string]string
}

// Label is the value of one label, for --format '{{.Label "k"}}'.
func (r composePsRow) Label(name string) string { return r.labels[name] }

func newComposePsRow(c runtime.Container, now time.Time) composePsRow {
	cmdline := strings.Join(append(slices.Clone(c.Config.Entrypoint), c.Config.Cmd...), " ")
	return composePsRow{
		ID: c.ID, Name: c.Name, Image: c.Image, Command: cmdline,
		Project: stackOf(c.Labels), Service: serviceOf(c.Labels),
		Created: c.Created.Format("2006-01-02 15:04:05 -0700 MST"), RunningFor: units.HumanDuration(now.Sub(c.Created)) + " ago",
		State: string(c.Status), Health: c.Health, ExitCode: c.ExitCode,
		Status: composeStatus(c), Ports: formatPorts(c.Config.Ports), Labels: joinLabels(c.Labels),
		labels: c.Labels,
	}
}

// composeStatus is the STATUS column without times: "Up (healthy)",
// "Exited (0)"; stackWorld.Status gives the runtime's, with them.
func composeStatus(c runtime.Container) string {
	switch c.Status {
	case runtime.StatusRunning:
		if c.Health != "" {
			return "Up (" + c.Health + ")"
		}
		return "Up"
	case runtime.StatusPaused:
		return "Up (Paused)"
	case runtime.StatusRestarting:
		return fmt.Sprintf("Restarting (%d)", c.ExitCode)
	case runtime.StatusExited:
		return fmt.Sprintf("Exited (%d)", c.ExitCode)
	case runtime.StatusCreated:
		return "Created"
	case runtime.StatusDead:
		return "Dead"
	}
	return string(c.Status)
}

func formatPorts(ps []runtime.PortBinding) string {
	var out []string
	for _, p := range ps {
		proto := p.Protocol
		if proto == "" {
			proto = "tcp"
		}
		if p.HostPort == 0 && p.HostIP == "" {
			out = append(out, fmt.Sprintf("%d/%s", p.ContainerPort, proto))
			continue
		}
		ip := p.HostIP
		if ip == "" {
			ip = "0.0.0.0"
		}
		out = append(out, fmt.Sprintf("%s:%d->%d/%s", ip, p.HostPort, p.ContainerPort, proto))
	}
	return strings.Join(out, ", ")
}

// quoteCommand is Docker's COMMAND column: quoted, cut at 20 characters.
func quoteCommand(s string) string {
	if r := []rune(s); len(r) > 20 {
		s = string(r[:19]) + "…"
	}
	return strconv.Quote(s)
}

// renderRows writes rows as a table (the columns with their values), one
// JSON object per line, or through a Go template.
func renderRows[T any](out io.Writer, format string, rows []T, header []string, cols func(T) []string) error {
	switch {
	case format == "" || format == "table":
		tw := tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)
		fmt.Fprintln(tw, strings.Join(header, "\t"))
		for _, r := range rows {
			fmt.Fprintln(tw, strings.Join(cols(r), "\t"))
		}
		return tw.Flush()
	case format == "json":
		enc := json.NewEncoder(out)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	// Docker's template functions (join, upper, truncate, ...), as the
	// container and image listings have them.
	text, _ := strings.CutPrefix(format, "table")
	tmpl, err := parseImageTemplate(strings.TrimSpace(text))
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := tmpl.Execute(out, r); err != nil {
			return err
		}
		fmt.Fprintln(out)
	}
	return nil
}

type composePsOptions struct {
	all, quiet, services bool
	status               []string
	format               string
}

func newComposePsCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	o := &composePsOptions{}
	cmd := &cobra.Command{
		Use:   "ps [OPTIONS] [SERVICE...]",
		Short: "List the stack's containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			l := &lifecycleCmd{env: env, sf: sf}
			_, _, w, cs, err := l.targets(cmd.Context(), args, false)
			if err != nil {
				return err
			}
			var status map[string]string
			if w.Status != nil {
				if status, err = w.Status(cmd.Context()); err != nil {
					return err
				}
			}
			valid := []string{"paused", "restarting", "removing", "running", "dead", "created", "exited"}
			for _, s := range o.status {
				if !slices.Contains(valid, s) {
					return fmt.Errorf("--status %q: want one of %s", s, strings.Join(valid, ", "))
				}
			}
			var rows []composePsRow
			now := time.Now()
			for _, c := range cs {
				switch {
				case len(o.status) > 0 && !slices.Contains(o.status, string(c.Status)):
					continue
				case len(o.status) == 0 && !o.all && c.Status != runtime.StatusRunning &&
					c.Status != runtime.StatusPaused && c.Status != runtime.StatusRestarting:
					continue
				}
				row := newComposePsRow(c, now)
				if st, ok := status[c.ID]; ok {
					row.Status = st
				}
				rows = append(rows, row)
			}
			out := cmd.OutOrStdout()
			switch {
			case o.quiet:
				for _, r := range rows {
					fmt.Fprintln(out, r.ID)
				}
				return nil
			case o.services:
				var names []string
				for _, r := range rows {
					names = append(names, r.Service)
				}
				slices.Sort(names)
				for _, n := range slices.Compact(names) {
					fmt.Fprintln(out, n)
				}
				return nil
			}
			return renderRows(out, o.format, rows, []string{"NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"},
				func(r composePsRow) []string {
					return []string{r.Name, r.Image, quoteCommand(r.Command), r.Service, r.RunningFor, r.Status, r.Ports}
				})
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&o.all, "all", "a", false, "show stopped containers too")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "only show IDs")
	fs.BoolVar(&o.services, "services", false, "show the services")
	stringArrayVar(fs, &o.status, "status", nil, "only containers in this state (running, exited, ...); repeatable")
	fs.StringVar(&o.format, "format", "table", "table, json or a Go template")
	return cmd
}

// lsRow is one stack of `compose ls`.
type lsRow struct {
	Name        string `json:"Name"`
	Status      string `json:"Status"`
	ConfigFiles string `json:"ConfigFiles"`
	running     bool
}

// stackRows groups every labelled container on the host by stack: its
// status as "exited(1), running(3)" and the files it was made from.
func stackRows(cs []runtime.Container) []lsRow {
	type acc struct {
		states map[string]int
		files  []string
	}
	stacks := map[string]*acc{}
	for _, c := range cs {
		name := stackOf(c.Labels)
		if name == "" {
			continue
		}
		a := stacks[name]
		if a == nil {
			a = &acc{states: map[string]int{}}
			stacks[name] = a
		}
		a.states[string(c.Status)]++
		files := c.Labels[spec.LabelFiles]
		if files == "" {
			files = c.Labels[spec.ComposeConfigFiles]
		}
		for _, f := range strings.Split(files, ",") {
			if f != "" && !slices.Contains(a.files, f) {
				a.files = append(a.files, f)
			}
		}
	}
	var rows []lsRow
	for _, name := range slices.Sorted(maps.Keys(stacks)) {
		a := stacks[name]
		var parts []string
		for _, s := range slices.Sorted(maps.Keys(a.states)) {
			parts = append(parts, fmt.Sprintf("%s(%d)", s, a.states[s]))
		}
		slices.Sort(a.files)
		rows = append(rows, lsRow{Name: name, Status: strings.Join(parts, ", "), ConfigFiles: strings.Join(a.files, ","),
			running: a.states[string(runtime.StatusRunning)] > 0})
	}
	return rows
}

func newComposeLsCmd(env *stackEnv) *cobra.Command {
	var all, quiet bool
	var format string
	cmd := &cobra.Command{
		Use:   "ls [OPTIONS]",
		Short: "List the stacks on this host",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := env.open(env.g)
			if err != nil {
				return err
			}
			cs, err := w.Runtime.List(cmd.Context())
			if err != nil {
				return err
			}
			rows := stackRows(cs)
			if !all {
				rows = slices.DeleteFunc(rows, func(r lsRow) bool { return !r.running })
			}
			out := cmd.OutOrStdout()
			if quiet {
				for _, r := range rows {
					fmt.Fprintln(out, r.Name)
				}
				return nil
			}
			if format == "json" {
				if rows == nil {
					rows = []lsRow{}
				}
				return json.NewEncoder(out).Encode(rows)
			}
			return renderRows(out, format, rows, []string{"NAME", "STATUS", "CONFIG FILES"},
				func(r lsRow) []string { return []string{r.Name, r.Status, r.ConfigFiles} })
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "show stopped stacks too")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "only show names")
	cmd.Flags().StringVar(&format, "format", "table", "table, json or a Go template")
	return cmd
}

// newComposeScaleCmd is `compose scale SVC=N...`: up -d --no-recreate
// with those scales, for the named services only.
func newComposeScaleCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	o := &upOptions{stack: sf, detach: true, pull: "missing", progress: "auto"}
	cmd := &cobra.Command{
		Use:   "scale [OPTIONS] SERVICE=REPLICAS...",
		Short: "Set the number of replicas of services",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var services []string
			for _, a := range args {
				name, _, _ := strings.Cut(a, "=")
				services = append(services, name)
			}
			o.conv.scale = args
			o.conv.noRecreate = true
			return runUp(cmd, env, o, services)
		},
	}
	cmd.Flags().BoolVar(&o.conv.noDeps, "no-deps", false, "do not start the linked services")
	return cmd
}

// composeImageRow is one line of `compose images`.
type composeImageRow struct {
	Container  string `json:"ContainerName"`
	Repository string `json:"Repository"`
	Tag        string `json:"Tag"`
	ID         string `json:"ID"`
}

func newComposeImagesCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	var quiet bool
	var format string
	cmd := &cobra.Command{
		Use:   "images [OPTIONS] [SERVICE...]",
		Short: "List the images the stack's containers use",
		RunE: func(cmd *cobra.Command, args []string) error {
			l := &lifecycleCmd{env: env, sf: sf}
			_, _, _, cs, err := l.targets(cmd.Context(), args, false)
			if err != nil {
				return err
			}
			var rows []composeImageRow
			for _, c := range cs {
				repo, tag := splitRef(c.Image)
				rows = append(rows, composeImageRow{Container: c.Name, Repository: repo, Tag: tag, ID: c.ImageID})
			}
			out := cmd.OutOrStdout()
			if quiet {
				var ids []string
				for _, r := range rows {
					ids = append(ids, r.ID)
				}
				slices.Sort(ids)
				for _, id := range slices.Compact(ids) {
					fmt.Fprintln(out, id)
				}
				return nil
			}
			return renderRows(out, format, rows, []string{"CONTAINER", "REPOSITORY", "TAG", "IMAGE ID"},
				func(r composeImageRow) []string {
					return []string{r.Container, r.Repository, r.Tag, composeShortID(r.ID)}
				})
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "only show image IDs")
	cmd.Flags().StringVar(&format, "format", "table", "table, json or a Go template")
	return cmd
}

// splitRef splits "registry:5000/app:1.2" into repository and tag
// ("latest" when none; "<none>" for a digest).
func splitRef(ref string) (string, string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		return ref[:i], "<none>"
	}
	slash := strings.LastIndex(ref, "/")
	if i := strings.LastIndex(ref, ":"); i > slash {
		return ref[:i], ref[i+1:]
	}
	return ref, "latest"
}

func composeShortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}

func newComposeVersionCmd() *cobra.Command {
	var short bool
	var format string
	cmd := &cobra.Command{
		Use:   "version [OPTIONS]",
		Short: "Show the version of berth's compose",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			switch {
			case short:
				fmt.Fprintln(out, version)
			case format == "json":
				return json.NewEncoder(out).Encode(map[string]string{"version": version})
			default:
				fmt.Fprintf(out, "berth compose version %s\n", version)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&short, "short", false, "only the version number")
	cmd.Flags().StringVarP(&format, "format", "f", "pretty", "pretty or json")
	return cmd
}
