package build

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Dockerfile is a parsed Dockerfile: its stages, in order, and the ARGs
// declared before the first FROM.
type Dockerfile struct {
	Name     string // for messages: "Dockerfile", "-", a path
	Stages   []instructions.Stage
	MetaArgs []instructions.ArgCommand
	Escape   rune
	Warnings []string // the linter's, as "NAME:LINE: message"
}

// Parse parses a Dockerfile with BuildKit's parser and instruction packages:
// parser directives (escape, syntax), line continuations, heredocs, JSON and
// shell forms. Errors are classified errdefs.ErrInvalidArgument and start
// with "name:line: ".
func Parse(name string, src []byte) (*Dockerfile, error) {
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, positioned(name, err)
	}
	labs := labsFlags(src, res.AST)
	df := &Dockerfile{Name: name, Escape: res.EscapeToken}
	for _, w := range res.Warnings {
		df.Warnings = append(df.Warnings, fmt.Sprintf("%s:%d: %s", name, w.Location.Start.Line, w.Short))
	}
	lint := linter.New(&linter.Config{Warn: func(rule, desc, url, msg string, loc []parser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		df.Warnings = append(df.Warnings, fmt.Sprintf("%s:%d: %s (%s)", name, line, msg, rule))
	}})
	stages, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		return nil, positioned(name, err)
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("%s: no FROM instruction: %w", name, errdefs.ErrInvalidArgument)
	}
	df.Stages, df.MetaArgs = stages, metaArgs
	for i := range df.Stages {
		for _, c := range df.Stages[i].Commands {
			if err := checkCommand(c); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, line(c.Location()), err)
			}
			if f, ok := labs[line(c.Location())]; ok {
				switch c := c.(type) {
				case *instructions.CopyCommand:
					c.Parents, c.ExcludePatterns = f.parents, f.exclude
				case *instructions.AddCommand:
					c.ExcludePatterns = f.exclude
				}
			}
			if r, ok := c.(*instructions.RunCommand); ok {
				// BuildKit lists them in map order; cache keys need one order.
				sort.Strings(r.FlagsUsed)
			}
		}
	}
	return df, nil
}

// checkCommand refuses what the parser accepts but berth cannot do, so that
// the error comes before anything is built.
func checkCommand(c instructions.Command) error {
	switch c := c.(type) {
	case *instructions.AddCommand:
		for _, s := range c.SourcePaths {
			if isGitSource(s) {
				return fmt.Errorf("ADD from a Git repository is not supported: %w", errdefs.ErrNotImplemented)
			}
		}
		if c.Checksum != "" { // BuildKit's rules
			if len(c.SourcePaths) != 1 || len(c.SourceContents) > 0 {
				return fmt.Errorf("checksum can't be specified for multiple sources: %w", errdefs.ErrInvalidArgument)
			}
			if !isURL(c.SourcePaths[0]) {
				return fmt.Errorf("checksum requires HTTP(S) or Git sources: %w", errdefs.ErrInvalidArgument)
			}
		}
	}
	return nil
}

// labsFlag is what labsFlags took off a COPY or ADD.
type labsFlag struct {
	parents bool
	exclude []string
}

// labsFlags enables COPY --parents and COPY/ADD --exclude as BuildKit's
// labs syntax does (this version's instruction parser compiles them out):
// with a "# syntax=" directive naming a labs frontend
// (docker/dockerfile:1-labs, 1.7-labs, ...), the flags are taken off the
// COPY and ADD nodes and returned by line, for Parse to set on the parsed
// commands. Without it they stay and are "unknown flag", as in Docker's
// stable syntax.
func labsFlags(src []byte, ast *parser.Node) map[int]labsFlag {
	ref, _, _, ok := parser.DetectSyntax(src)
	if !ok || !strings.Contains(ref, "labs") {
		return nil
	}
	out := map[int]labsFlag{}
	for _, n := range ast.Children {
		isCopy := strings.EqualFold(n.Value, "copy")
		if !isCopy && !strings.EqualFold(n.Value, "add") {
			continue
		}
		var f labsFlag
		var keep []string
		for _, fl := range n.Flags {
			switch {
			case isCopy && (fl == "--parents" || fl == "--parents=true"):
				f.parents = true
			case isCopy && fl == "--parents=false":
			case strings.HasPrefix(fl, "--exclude="):
				f.exclude = append(f.exclude, strings.TrimPrefix(fl, "--exclude="))
			default:
				keep = append(keep, fl)
			}
		}
		n.Flags = keep
		if f.parents || len(f.exclude) > 0 {
			out[n.StartLine] = f
		}
	}
	return out
}

func isGitSource(s string) bool {
	return strings.HasPrefix(s, "git@") || strings.HasSuffix(strings.SplitN(s, "#", 2)[0], ".git") && isURL(s)
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// positioned turns a BuildKit error into "name:line: message", classified
// as invalid input.
func positioned(name string, err error) error {
	msg := err.Error()
	// BuildKit prefixes some messages with its own position.
	if i := strings.Index(msg, "dockerfile parse error on line "); i >= 0 {
		if j := strings.Index(msg[i:], ": "); j >= 0 {
			msg = msg[:i] + msg[i+j+2:]
		}
	}
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		return fmt.Errorf("%s:%d: %s: %w", name, le.Locations[0][0].Start.Line, msg, errdefs.ErrInvalidArgument)
	}
	return fmt.Errorf("%s: %s: %w", name, msg, errdefs.ErrInvalidArgument)
}

// line is the first line of a command's location (1-based), 0 if unknown.
func line(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[0].Start.Line
}
