package spec

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a stack's input, positioned where the user
// can find it. Line and Column are 1-based; 0 means unknown.
type Problem struct {
	File    string
	Line    int
	Column  int
	Path    string // the field's path in the model, e.g. services.web.ports[1]
	Message string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
			if p.Column > 0 {
				fmt.Fprintf(&b, ":%d", p.Column)
			}
		}
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems is every problem found in a stack's input, reported together. It
// is the error type of loading: callers use errors.As to get the list.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
