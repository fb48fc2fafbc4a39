package reconcile

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// markers are the Nomad-style prefixes of the text format.
var markers = map[Kind]string{
	KindCreate:   "+",
	KindRecreate: "~",
	KindRestart:  "~",
	KindStart:    ">",
	KindRemove:   "-",
}

// summaryOrder is the order kinds appear in the summary line.
var summaryOrder = []Kind{KindCreate, KindRecreate, KindRestart, KindStart, KindRemove}

// WriteText writes the plan for people: one line per operation with its
// marker, subject, kind and cause (a recreate's field changes instead of
// its cause, one per line when there are several), the notes, and a
// summary line.
func (p *Plan) WriteText(w io.Writer) error {
	var sb strings.Builder
	for _, op := range p.Ops {
		fmt.Fprintf(&sb, "%s %s (%s)", markers[op.Kind], p.subject(op), op.Kind)
		switch len(op.Changes) {
		case 0:
			if op.Cause != "" {
				fmt.Fprintf(&sb, ": %s", op.Cause)
			}
		case 1:
			fmt.Fprintf(&sb, ": %s", op.Changes[0])
		default:
			fmt.Fprintf(&sb, ": %d changes", len(op.Changes))
			for _, c := range op.Changes {
				fmt.Fprintf(&sb, "\n    %s", c)
			}
		}
		sb.WriteByte('\n')
	}
	for _, n := range p.Notes {
		fmt.Fprintf(&sb, "! %s\n", n)
	}
	if len(p.Ops) > 0 || len(p.Notes) > 0 {
		sb.WriteByte('\n')
	}
	sb.WriteString(p.Summary())
	sb.WriteByte('\n')
	_, err := io.WriteString(w, sb.String())
	return err
}

// Summary is the plan's last line: "Plan: 2 to create, 1 to remove." or
// "No changes: stack demo is up to date."
func (p *Plan) Summary() string {
	switch {
	case p.Empty() && p.Down:
		return fmt.Sprintf("No changes: stack %s has nothing to remove.", p.Stack)
	case p.Empty():
		return fmt.Sprintf("No changes: stack %s is up to date.", p.Stack)
	}
	counts := map[Kind]int{}
	for _, op := range p.Ops {
		counts[op.Kind]++
	}
	var parts []string
	for _, k := range summaryOrder {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d to %s", counts[k], k))
		}
	}
	return "Plan: " + strings.Join(parts, ", ") + "."
}

// subject names an op's target the way people think of it: a replica as
// service-number, a network or volume with its kind.
func (p *Plan) subject(op Op) string {
	switch op.Resource {
	case ResourceNetwork, ResourceVolume:
		return string(op.Resource) + " " + op.Name
	}
	if op.Service != "" && op.Name == fmt.Sprintf("%s-%s-%d", p.Stack, op.Service, op.Number) {
		return fmt.Sprintf("%s-%d", op.Service, op.Number)
	}
	return op.Name
}

// String renders a change as `path old => new`, with <none> for an absent
// side.
func (c Change) String() string {
	_, oldNull := c.Old.(null)
	_, newNull := c.New.(null)
	switch {
	case c.Old == nil && newNull:
		return c.Path + " (added)"
	case c.New == nil && oldNull:
		return c.Path + " (removed)"
	}
	return fmt.Sprintf("%s %s => %s", c.Path, value(c.Old), value(c.New))
}

func value(v any) string {
	switch v := v.(type) {
	case nil:
		return "<none>"
	case null:
		return "null"
	case string:
		if len(v) > 19 && strings.HasPrefix(v, "sha256:") {
			v = v[:19] // an image ID, shortened like docker does
		}
		return fmt.Sprintf("%q", v)
	}
	// Not json.Marshal: it would show a command's > as \u003e.
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// WriteJSON writes the plan for tools: the same operations, causes and
// changes as the text, plus the summary and an "empty" flag.
func (p *Plan) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(struct {
		*Plan
		Empty   bool   `json:"empty"`
		Summary string `json:"summary"`
	}{p, p.Empty(), p.Summary()})
}
