package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/runtime/runc"
	"github.com/berth-dev/berth/runtime/runc/monitor"
)

func newEventsCmd(g *globals) *cobra.Command {
	var (
		since, until, format string
		filters              []string
	)
	cmd := &cobra.Command{
		Use:   "events [OPTIONS]",
		Short: "Get real time events from berth's containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			now := time.Now()
			var o runc.EventOptions
			var err error
			if since != "" {
				if o.Since, err = parseTimeArg(since, now); err != nil {
					return err
				}
			} else {
				o.Since = now // like Docker: only new events unless --since
			}
			if until != "" {
				if o.Until, err = parseTimeArg(until, now); err != nil {
					return err
				}
			}
			match, err := eventFilter(filters)
			if err != nil {
				return err
			}
			render := func(e monitor.Event) error { return nil }
			out := cmd.OutOrStdout()
			switch {
			case format == "json":
				enc := json.NewEncoder(out)
				render = func(e monitor.Event) error { return enc.Encode(e) }
			case format != "":
				t, err := parseImageTemplate(format)
				if err != nil {
					return err
				}
				render = func(e monitor.Event) error {
					if err := t.Execute(out, e); err != nil {
						return err
					}
					_, err := fmt.Fprintln(out)
					return err
				}
			default:
				render = func(e monitor.Event) error {
					_, err := fmt.Fprintln(out, eventLine(e))
					return err
				}
			}
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			return rt.Events(cmd.Context(), o, func(e monitor.Event) error {
				if !match(e) {
					return nil
				}
				return render(e)
			})
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "Show all events created since timestamp")
	cmd.Flags().StringVar(&until, "until", "", "Stream events until this timestamp")
	stringArrayVarP(cmd.Flags(), &filters, "filter", "f", nil, "Filter output based on conditions provided")
	cmd.Flags().StringVar(&format, "format", "", "Format output using a custom template: 'json' or a Go template")
	return cmd
}

// eventLine is Docker's default event line:
// TIME TYPE ACTION ID (attr=value, ...).
func eventLine(e monitor.Event) string {
	var attrs []string
	for k, v := range e.Actor.Attributes {
		attrs = append(attrs, k+"="+v)
	}
	sort.Strings(attrs)
	t := time.Unix(0, e.TimeNano).Format("2006-01-02T15:04:05.000000000Z07:00")
	return fmt.Sprintf("%s %s %s %s (%s)", t, e.Type, e.Action, e.Actor.ID, strings.Join(attrs, ", "))
}

// eventFilter is events' --filter: container, event, image, label, type;
// values of one key are ORed, keys ANDed.
func eventFilter(args []string) (func(monitor.Event) bool, error) {
	by, err := filterValues(args, "container", "event", "image", "label", "type")
	if err != nil {
		return nil, err
	}
	return func(e monitor.Event) bool {
		for k, vals := range by {
			ok := slices.ContainsFunc(vals, func(v string) bool {
				a := e.Actor.Attributes
				switch k {
				case "container":
					return strings.HasPrefix(e.Actor.ID, v) || a["name"] == v
				case "event":
					action, _, _ := strings.Cut(e.Action, ":")
					return e.Action == v || action == v
				case "image":
					return a["image"] == v || strings.TrimSuffix(a["image"], ":latest") == v
				case "label":
					return hasLabel(a, v)
				case "type":
					return e.Type == v
				}
				return false
			})
			if !ok {
				return false
			}
		}
		return true
	}, nil
}
