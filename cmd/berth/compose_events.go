package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/runtime"
)

// composeEvent is one event of `compose events`, with Compose's JSON
// field names.
type composeEvent struct {
	Time       time.Time         `json:"time"`
	Type       string            `json:"type"`
	Action     string            `json:"action"`
	ID         string            `json:"id"`
	Service    string            `json:"service"`
	Attributes map[string]string `json:"attributes"`
}

// containerEvents compares two observations of the stack's containers and
// returns what happened between them: create, start, die, pause, unpause,
// destroy, health_status. berth has no daemon to emit events as they
// happen, so they are derived from successive observations: a container
// that started and died between two of them shows neither.
func containerEvents(before, after map[string]runtime.Container, now time.Time) []composeEvent {
	var out []composeEvent
	ev := func(c runtime.Container, action string, attrs ...string) {
		a := map[string]string{"name": c.Name, "image": c.Image}
		for i := 0; i+1 < len(attrs); i += 2 {
			a[attrs[i]] = attrs[i+1]
		}
		out = append(out, composeEvent{Time: now, Type: "container", Action: action, ID: c.ID, Service: serviceOf(c.Labels), Attributes: a})
	}
	for _, id := range slices.Sorted(maps.Keys(after)) {
		c, old := after[id], before[id]
		_, existed := before[id]
		if !existed {
			ev(c, "create")
			old = runtime.Container{Status: runtime.StatusCreated}
		}
		switch {
		case old.Status == c.Status:
		case c.Status == runtime.StatusRunning && old.Status == runtime.StatusPaused:
			ev(c, "unpause")
		case c.Status == runtime.StatusRunning:
			ev(c, "start")
		case c.Status == runtime.StatusPaused:
			ev(c, "pause")
		case c.Status == runtime.StatusExited || c.Status == runtime.StatusDead:
			ev(c, "die", "exitCode", fmt.Sprint(c.ExitCode))
		}
		if c.Health != "" && c.Health != old.Health {
			ev(c, "health_status: "+c.Health)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(before)) {
		if _, ok := after[id]; !ok {
			ev(before[id], "destroy")
		}
	}
	return out
}

func writeEvent(w io.Writer, e composeEvent, asJSON bool) error {
	if asJSON {
		data, err := json.Marshal(e)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", data)
		return err
	}
	var attrs []string
	for _, k := range slices.Sorted(maps.Keys(e.Attributes)) {
		attrs = append(attrs, k+"="+e.Attributes[k])
	}
	_, err := fmt.Fprintf(w, "%s %s %s %s (%s)\n", e.Time.UTC().Format("2006-01-02T15:04:05.000000Z07:00"), e.Type, e.Action, e.ID, strings.Join(attrs, ", "))
	return err
}

func newComposeEventsCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "events [OPTIONS] [SERVICE...]",
		Short: "Stream the events of the stack's containers",
		Long: `Print the stack's container events (create, start, die, pause, unpause,
destroy, health_status) as they are observed, until interrupted. berth has
no daemon: events are derived by observing the containers every half
second, so a change undone within that time is not seen.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			l := &lifecycleCmd{env: env, sf: sf}
			_, name, w, cs, err := l.targets(ctx, args, true)
			if err != nil {
				return err
			}
			seen := byID(cs)
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(env.pollInterval()):
				}
				cs, err := stackContainers(ctx, w.Runtime, name, args, true)
				if err != nil {
					if ctx.Err() != nil {
						return nil
					}
					return err
				}
				now := byID(cs)
				for _, e := range containerEvents(seen, now, time.Now()) {
					if err := writeEvent(cmd.OutOrStdout(), e, asJSON); err != nil {
						return err
					}
				}
				seen = now
			}
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per event")
	return cmd
}

func byID(cs []runtime.Container) map[string]runtime.Container {
	m := make(map[string]runtime.Container, len(cs))
	for _, c := range cs {
		m[c.ID] = c
	}
	return m
}
