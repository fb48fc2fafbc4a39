package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/runtime/runc"
)

func newLogsCmd(g *globals) *cobra.Command {
	var (
		follow, timestamps, details bool
		since, until, tail          string
	)
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] CONTAINER",
		Short: "Fetch the logs of a container",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			now := time.Now()
			o := runc.LogOptions{Follow: follow, Timestamps: timestamps, Tail: -1}
			var err error
			if since != "" {
				if o.Since, err = parseTimeArg(since, now); err != nil {
					return fmt.Errorf("invalid value for \"since\": %w", err)
				}
			}
			if until != "" {
				if o.Until, err = parseTimeArg(until, now); err != nil {
					return fmt.Errorf("invalid value for \"until\": %w", err)
				}
			}
			if tail != "all" && tail != "" {
				if o.Tail, err = strconv.Atoi(tail); err != nil {
					o.Tail = -1
				}
			}
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			return rt.Logs(cmd.Context(), args[0], o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&follow, "follow", "f", false, "Follow log output")
	fl.BoolVarP(&timestamps, "timestamps", "t", false, "Show timestamps")
	fl.BoolVar(&details, "details", false, "Show extra details provided to logs")
	fl.StringVar(&since, "since", "", "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)")
	fl.StringVar(&until, "until", "", "Show logs before a timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)")
	fl.StringVarP(&tail, "tail", "n", "all", "Number of lines to show from the end of the logs")
	return cmd
}

// parseTimeArg parses Docker's time arguments (--since, --until, the
// until= filter) as parseTimestamp does, naming the value in its error.
func parseTimeArg(s string, now time.Time) (time.Time, error) {
	t, err := parseTimestamp(s, now)
	if err != nil {
		return time.Time{}, fmt.Errorf("cannot parse %q as a time: %w", s, err)
	}
	return t, nil
}
