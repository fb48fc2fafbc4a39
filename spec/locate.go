package spec

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
)

// This file turns compose-go's errors, which are text, into Problems
// positioned at the file, line and column of the field they are about.
// compose-go names the field by its path (services.web.ports.1) or by the
// service and the reference ("service "web" depends on undefined service
// "db""); the path is then looked up in the YAML node tree of each stack
// file. An error no pattern recognises is still a Problem, unpositioned.

// yamlSyntaxProblems reports a YAML file that does not parse.
func yamlSyntaxProblems(path string, src []byte) Problems {
	dec := yaml.NewDecoder(strings.NewReader(string(src)))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if err == nil {
			continue
		}
		if err.Error() == "EOF" {
			return nil
		}
		line, col := positionIn(err.Error())
		return Problems{{File: path, Line: line, Column: col, Message: cleanYAMLMessage(err.Error())}}
	}
}

var (
	reAtLC   = regexp.MustCompile(`\bat (\d+):(\d+)(?:-\d+:\d+)?`)
	reLine   = regexp.MustCompile(`\bline (\d+)(?::(\d+))?`)
	reYAMLEr = regexp.MustCompile(`^(?:yaml: |go-yaml load error in \w+(?: \([^)]*\))? at [\d:-]+: )`)
)

func positionIn(msg string) (int, int) {
	if m := reAtLC.FindStringSubmatch(msg); m != nil {
		l, _ := strconv.Atoi(m[1])
		c, _ := strconv.Atoi(m[2])
		return l, c
	}
	if m := reLine.FindStringSubmatch(msg); m != nil {
		l, _ := strconv.Atoi(m[1])
		c, _ := strconv.Atoi(m[2])
		return l, c
	}
	return 0, 0
}

func cleanYAMLMessage(msg string) string {
	msg = reYAMLEr.ReplaceAllString(msg, "")
	msg = reLine.ReplaceAllString(msg, "")
	return strings.TrimLeft(strings.TrimSpace(msg), ": ")
}

// problems converts a loading error into Problems, one a joined error.
func (l *load) problems(err error) error {
	var ps Problems
	if errors.As(err, &ps) {
		return ps
	}
	var out Problems
	for _, e := range splitJoined(err) {
		out = append(out, l.problem(e.Error()))
	}
	return out
}

func splitJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, splitJoined(e)...)
		}
		return out
	}
	return []error{err}
}

// A pattern recognises one kind of compose-go error: the path it is about
// and the message to show with it.
type pattern struct {
	re *regexp.Regexp
	// fn builds the path and message from the submatches.
	fn func(m []string) (path, msg string)
}

var patterns = []pattern{
	{regexp.MustCompile(`^validating (.+?): ((?:[\w.-]+))\s+(.*)$`), func(m []string) (string, string) {
		return m[2], m[3]
	}},
	{regexp.MustCompile(`(?s)^error while interpolating ([^:]+): (.*)$`), func(m []string) (string, string) {
		return m[1], m[2]
	}},
	{regexp.MustCompile(`(?s)^invalid interpolation format for ([^\n]+?)\.\n(.*)$`), func(m []string) (string, string) {
		return m[1], "invalid interpolation format: " + strings.ReplaceAll(m[2], "\n", ": ")
	}},
	{regexp.MustCompile(`^service "([^"]+)" depends on undefined service "([^"]+)"`), func(m []string) (string, string) {
		return "services." + m[1] + ".depends_on." + m[2], "undefined service " + strconv.Quote(m[2])
	}},
	{regexp.MustCompile(`^service "([^"]+)" refers to undefined (network|volume|config|secret|model) (\S+?)(?::.*)?$`), func(m []string) (string, string) {
		return "services." + m[1] + "." + m[2] + "s", "undefined " + m[2] + " " + strconv.Quote(m[3])
	}},
	{regexp.MustCompile(`^service "([^"]+)" has neither an image nor a build context specified`), func(m []string) (string, string) {
		return "services." + m[1], "service has neither an image nor a build context specified"
	}},
	{regexp.MustCompile(`^cannot extend service "([^"]+)" in (.+?): (.*)$`), func(m []string) (string, string) {
		return "services." + m[1] + ".extends", m[3]
	}},
	{regexp.MustCompile(`^services\.([\w.-]+?)(?:\.?\s*|: )(.*)$`), func(m []string) (string, string) {
		return "services." + m[1], strings.TrimLeft(m[2], ": ")
	}},
}

// problem positions one compose-go error message.
func (l *load) problem(msg string) Problem {
	msg = strings.TrimSuffix(msg, ": invalid argument")
	for _, p := range patterns {
		m := p.re.FindStringSubmatch(msg)
		if m == nil {
			continue
		}
		path, text := p.fn(m)
		segs := splitPath(path)
		pr := Problem{Path: formatPath(segs), Message: text}
		l.position(&pr, segs, text)
		return pr
	}
	pr := Problem{Message: msg}
	if len(l.files) == 1 {
		pr.File = l.files[0]
	}
	return pr
}

// position finds the field in the stack files, the last file that has it
// first (it is the one whose value won).
func (l *load) position(pr *Problem, segs []string, text string) {
	for i := len(l.inputs) - 1; i >= 0; i-- {
		in := l.inputs[i]
		if in.hcl {
			continue
		}
		var doc yaml.Node
		if yaml.Unmarshal(in.src, &doc) != nil {
			continue
		}
		n, rest := walk(&doc, segs)
		if n == nil || len(rest) == len(segs) {
			continue
		}
		if len(rest) > 0 {
			// The path goes deeper than the file: a list item named by
			// value, like depends_on's short syntax.
			if c := findScalar(n, rest[0]); c != nil {
				n = c
			} else if len(rest) > 1 {
				continue
			}
		}
		pr.File, pr.Line, pr.Column = in.path, n.Line, n.Column
		return
	}
	if len(l.inputs) == 1 {
		pr.File = l.inputs[0].path
	}
}

// walk follows segs down the YAML tree as far as it goes and returns the
// deepest node found and the segments left. Map keys may contain dots
// (labels, sysctls): the longest key matching the next segments wins.
func walk(doc *yaml.Node, segs []string) (*yaml.Node, []string) {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for len(segs) > 0 {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		switch n.Kind {
		case yaml.MappingNode:
			found := false
			for k := len(segs); k >= 1 && !found; k-- {
				key := strings.Join(segs[:k], ".")
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == key {
						if k == len(segs) {
							// The key itself is the position of a field.
							v := n.Content[i+1]
							if v.Kind == yaml.ScalarNode {
								return v, nil
							}
							return n.Content[i], nil
						}
						n, segs, found = n.Content[i+1], segs[k:], true
						break
					}
				}
			}
			if !found {
				return n, segs
			}
		case yaml.SequenceNode:
			i, err := strconv.Atoi(segs[0])
			if err != nil || i < 0 || i >= len(n.Content) {
				return n, segs
			}
			n, segs = n.Content[i], segs[1:]
		default:
			return n, segs
		}
	}
	return n, nil
}

func findScalar(n *yaml.Node, value string) *yaml.Node {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if c.Kind == yaml.ScalarNode && c.Value == value {
				return c
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == value {
				return n.Content[i]
			}
		}
	}
	return nil
}

// splitPath splits compose-go's paths: "services.web.ports.1",
// "services.web.ports[1]", and interpolation's "services.web.command.[]".
func splitPath(p string) []string {
	p = strings.ReplaceAll(p, "[", ".")
	p = strings.ReplaceAll(p, "]", "")
	var out []string
	for _, s := range strings.Split(p, ".") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// formatPath writes a path the way users read it: services.web.ports[1].
func formatPath(segs []string) string {
	var b strings.Builder
	for i, s := range segs {
		if _, err := strconv.Atoi(s); err == nil {
			b.WriteString("[" + s + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}
