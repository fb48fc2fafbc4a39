package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"text/template"

	"github.com/docker/cli/templates"
)

// parseImageTemplate parses a --format template with Docker's own template
// functions (json, join, split, title, lower, upper, pad, truncate from
// github.com/docker/cli/templates), turning the escapes \t and \n typed on
// a command line into tabs and newlines, as Docker does.
func parseImageTemplate(text string) (*template.Template, error) {
	text = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(text)
	t, err := templates.Parse(text)
	if err != nil {
		return nil, &exitError{code: 125, err: fmt.Errorf("template parsing error: %w", err)}
	}
	return t, nil
}

// renderImageRows writes rows per --format: "" or "table" for defTable,
// "table TEMPLATE" for a table with headers, "json" for one JSON object per
// line, anything else a Go template per row. header holds each column's
// title in the field the template names.
func renderImageRows[T any](out io.Writer, format, defTable string, header T, rows []T) error {
	// Buffered: the table writer writes cell by cell, which for 500
	// containers was thousands of write calls.
	bw := bufio.NewWriter(out)
	err := writeImageRows(bw, format, defTable, header, rows)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return err
}

func writeImageRows[T any](out io.Writer, format, defTable string, header T, rows []T) error {
	if format == "json" {
		enc := json.NewEncoder(out)
		enc.SetEscapeHTML(false)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	if format == "" || format == "table" {
		format = "table " + defTable
	}
	text, table := strings.CutPrefix(format, "table")
	if !table {
		text = format
	}
	tmpl, err := parseImageTemplate(strings.TrimSpace(text))
	if err != nil {
		return err
	}
	w := out
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)
		w = tw
		// As Docker: the header row goes through HeaderFunctions, so
		// {{lower .Repository}} still heads its column REPOSITORY.
		h, err := tmpl.Clone()
		if err != nil {
			return err
		}
		if err := h.Funcs(templates.HeaderFunctions).Execute(w, header); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	for _, r := range rows {
		if err := tmpl.Execute(w, r); err != nil {
			return fmt.Errorf("template: %w", err)
		}
		fmt.Fprintln(w)
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}
