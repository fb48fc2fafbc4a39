package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/runc"
)

// statsRow is one line of `stats`, Docker's field names for --format.
type statsRow struct {
	Container string `json:"Container"`
	ID        string `json:"ID"`
	Name      string `json:"Name"`
	CPUPerc   string `json:"CPUPerc"`
	MemUsage  string `json:"MemUsage"`
	MemPerc   string `json:"MemPerc"`
	NetIO     string `json:"NetIO"`
	BlockIO   string `json:"BlockIO"`
	PIDs      string `json:"PIDs"`
}

var statsHeader = statsRow{Container: "CONTAINER", ID: "CONTAINER ID", Name: "NAME", CPUPerc: "CPU %", MemUsage: "MEM USAGE / LIMIT", MemPerc: "MEM %", NetIO: "NET I/O", BlockIO: "BLOCK I/O", PIDs: "PIDS"}

func newStatsCmd(g *globals) *cobra.Command {
	var (
		all, noStream, noTrunc bool
		format                 string
	)
	cmd := &cobra.Command{
		Use:   "stats [OPTIONS] [CONTAINER...]",
		Short: "Display a live stream of container(s) resource usage statistics",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			refs := args
			if len(refs) == 0 {
				list, err := rt.ListObserved(ctx)
				if err != nil {
					return err
				}
				sort.Slice(list, func(i, j int) bool { return list[i].Record.Created.After(list[j].Record.Created) })
				for _, o := range list {
					if all || o.State.Status == "running" || o.State.Status == "paused" {
						refs = append(refs, o.Record.ID)
					}
				}
			}
			for {
				rows := sampleStats(ctx, rt, refs, noTrunc)
				if !noStream {
					fmt.Fprint(cmd.OutOrStdout(), "\033[2J\033[H")
				}
				if err := renderImageRows(cmd.OutOrStdout(), format, "{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}", statsHeader, rows); err != nil {
					return err
				}
				if noStream || ctx.Err() != nil {
					return nil
				}
			}
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Show all containers (default shows just running)")
	cmd.Flags().BoolVar(&noStream, "no-stream", false, "Disable streaming stats and only pull the first result")
	cmd.Flags().BoolVar(&noTrunc, "no-trunc", false, "Do not truncate output")
	cmd.Flags().StringVar(&format, "format", "", "Format output using a custom template")
	return cmd
}

// sampleStats takes two samples a second apart (CPU % needs an interval),
// of all containers at once.
func sampleStats(ctx context.Context, rt *runc.Runtime, refs []string, noTrunc bool) []statsRow {
	rows := make([]statsRow, len(refs))
	var wg sync.WaitGroup
	for i, ref := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec, _, err := rt.State(ctx, ref)
			if err != nil {
				rows[i] = statsRow{Container: ref, ID: ref, Name: "--", CPUPerc: "--", MemUsage: "-- / --", MemPerc: "--", NetIO: "--", BlockIO: "--", PIDs: "--"}
				return
			}
			id := rec.ID
			if !noTrunc {
				id = runc.ShortID(id)
			}
			row := statsRow{Container: ref, ID: id, Name: rec.Name, CPUPerc: "0.00%", MemUsage: "0B / 0B", MemPerc: "0.00%", NetIO: "0B / 0B", BlockIO: "0B / 0B", PIDs: "0"}
			a, err := rt.Stats(ctx, rec.ID)
			if err != nil {
				rows[i] = row
				return
			}
			time.Sleep(time.Second)
			b, err := rt.Stats(ctx, rec.ID)
			if err != nil {
				b = a
			}
			rows[i] = statsFor(row, a, b, rec.Config.Resources)
		}()
	}
	wg.Wait()
	return rows
}

func statsFor(row statsRow, a, b runc.Stats, res runtime.Resources) statsRow {
	if dt := b.Time.Sub(a.Time); dt > 0 && b.CPUTotal >= a.CPUTotal {
		// Docker's CPU %: share of one CPU, so up to 100% x CPUs.
		row.CPUPerc = fmt.Sprintf("%.2f%%", float64(b.CPUTotal-a.CPUTotal)/float64(dt.Nanoseconds())*100)
	}
	limit := b.MemoryLimit
	if host := hostMemory(); limit == 0 || limit > host && host > 0 {
		limit = host
	}
	row.MemUsage = units.BytesSize(float64(b.MemoryUsage)) + " / " + units.BytesSize(float64(limit))
	if limit > 0 {
		row.MemPerc = fmt.Sprintf("%.2f%%", float64(b.MemoryUsage)/float64(limit)*100)
	}
	row.NetIO = units.HumanSizeWithPrecision(float64(b.NetRx), 3) + " / " + units.HumanSizeWithPrecision(float64(b.NetTx), 3)
	row.BlockIO = units.HumanSizeWithPrecision(float64(b.BlockRead), 3) + " / " + units.HumanSizeWithPrecision(float64(b.BlockWrite), 3)
	row.PIDs = fmt.Sprint(b.Pids)
	return row
}
