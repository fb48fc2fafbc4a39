package main

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/images"
)

func newImageInspectCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] IMAGE [IMAGE...]",
		Short: "Display detailed information on one or more images",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openImageStore(g)
			if err != nil {
				return err
			}
			var found []images.Inspect
			var failed []error
			for _, ref := range args {
				im, err := s.Image(cmd.Context(), ref)
				if err != nil {
					failed = append(failed, err)
					continue
				}
				found = append(found, images.NewInspect(im))
			}
			if err := writeInspect(cmd.OutOrStdout(), format, found, nil); err != nil {
				return err
			}
			for _, err := range failed {
				fmt.Fprintln(cmd.ErrOrStderr(), "berth:", err)
			}
			if len(failed) > 0 {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a custom template: json or a Go template")
	return cmd
}

// historyRow is one line of `history`, with Docker's --format fields.
type historyRow struct {
	ID           string
	CreatedAt    string
	CreatedSince string
	CreatedBy    string
	Size         string
	Comment      string
}

var historyHeader = historyRow{ID: "IMAGE", CreatedAt: "CREATED AT", CreatedSince: "CREATED", CreatedBy: "CREATED BY", Size: "SIZE", Comment: "COMMENT"}

func newHistoryCmd(g *globals, use string) *cobra.Command {
	var human, noTrunc, quiet bool
	var format string
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS] IMAGE",
		Short: "Show the history of an image",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openImageStore(g)
			if err != nil {
				return err
			}
			im, err := s.Image(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			rows := historyRows(im, human, noTrunc, time.Now())
			if quiet {
				format = "{{.ID}}"
			}
			return renderImageRows(cmd.OutOrStdout(), format, "{{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}", historyHeader, rows)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&human, "human", "H", true, "Print sizes and dates in human readable format")
	f.BoolVar(&noTrunc, "no-trunc", false, "Don't truncate output")
	f.BoolVarP(&quiet, "quiet", "q", false, "Only show image IDs")
	f.StringVar(&format, "format", "", "Format output: table, json, 'table TEMPLATE' or a Go template")
	return cmd
}

// historyRows lists the image's history newest first; each entry that made
// a layer gets that layer's size, the newest row the image's ID and the
// others <missing>, as Docker shows for images it did not build.
func historyRows(im *images.Image, human, noTrunc bool, now time.Time) []historyRow {
	hist := im.Config.History
	layer := 0
	var rows []historyRow
	for _, h := range hist {
		var size int64
		if !h.EmptyLayer && layer < len(im.Layers) {
			size = im.Layers[layer].Size
			layer++
		}
		r := historyRow{ID: "<missing>", CreatedBy: h.CreatedBy, Comment: h.Comment, CreatedAt: h.Created.UTC().Format(time.RFC3339)}
		if human {
			r.CreatedSince = units.HumanDuration(now.Sub(h.Created.Time)) + " ago"
			if h.Created.IsZero() { // images built without timestamps
				r.CreatedSince = "N/A"
			}
			r.Size = units.HumanSizeWithPrecision(float64(size), 3)
		} else {
			r.CreatedSince = r.CreatedAt
			r.Size = fmt.Sprint(size)
		}
		if !noTrunc {
			r.CreatedBy = ellipsis(strings.ReplaceAll(r.CreatedBy, "\t", " "), 45)
		}
		rows = append(rows, r)
	}
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	if len(rows) > 0 {
		rows[0].ID = im.ID
		if !noTrunc {
			rows[0].ID = images.ShortID(im.ID)
		}
	}
	return rows
}

// ellipsis shortens s to n runes, ending in "…", as Docker's history does.
func ellipsis(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
