package spec

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	cerrdefs "github.com/compose-spec/compose-go/v2/errdefs"
	"github.com/compose-spec/compose-go/v2/types"
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
	var dups Problems
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if err == nil {
			dups = append(dups, duplicateKeys(path, &n, nil)...)
			continue
		}
		if errors.Is(err, io.EOF) {
			return dups
		}
		line, col := positionIn(err.Error())
		return Problems{{File: path, Line: line, Column: col, Message: cleanYAMLMessage(err.Error())}}
	}
}

// duplicateKeys reports every mapping key defined twice.
func duplicateKeys(path string, n *yaml.Node, at []string) Problems {
	var out Problems
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			out = append(out, duplicateKeys(path, c, at)...)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			out = append(out, duplicateKeys(path, c, append(slices.Clone(at), strconv.Itoa(i)))...)
		}
	case yaml.MappingNode:
		first := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if f, ok := first[k.Value]; ok && k.Value != "<<" {
				out = append(out, Problem{
					File: path, Line: k.Line, Column: k.Column,
					Path:    formatPath(append(slices.Clone(at), k.Value)),
					Message: fmt.Sprintf("%q is already defined at line %d", k.Value, f.Line),
				})
				continue
			}
			first[k.Value] = k
			out = append(out, duplicateKeys(path, n.Content[i+1], append(slices.Clone(at), k.Value))...)
		}
	}
	return out
}

// The regexps are compiled on first use: only a failed load needs them, and
// every berth command pays its package init.
var (
	reAtLC   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\bat (\d+):(\d+)(?:-\d+:\d+)?`) })
	reLine   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\bline (\d+)(?::(\d+))?`) })
	reYAMLEr = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(?:yaml: |go-yaml load error in \w+(?: \([^)]*\))? at [\d:-]+: )`)
	})
)

func positionIn(msg string) (int, int) {
	if m := reAtLC().FindStringSubmatch(msg); m != nil {
		l, _ := strconv.Atoi(m[1])
		c, _ := strconv.Atoi(m[2])
		return l, c
	}
	if m := reLine().FindStringSubmatch(msg); m != nil {
		l, _ := strconv.Atoi(m[1])
		c, _ := strconv.Atoi(m[2])
		return l, c
	}
	return 0, 0
}

func cleanYAMLMessage(msg string) string {
	msg = reYAMLEr().ReplaceAllString(msg, "")
	msg = reLine().ReplaceAllString(msg, "")
	return strings.TrimLeft(strings.TrimSpace(msg), ": ")
}

// problems converts a loading error into Problems, one a joined error.
// more are further messages in compose-go's words, from referenceErrors.
func (l *load) problems(err error, more ...string) error {
	var ps Problems
	if errors.As(err, &ps) {
		return ps
	}
	diag := l.diagnose()
	seen := map[string]bool{}
	for _, p := range diag {
		seen[p.Path] = true
	}
	out := diag
	msgs := messages(err)
	for _, m := range more {
		if !slices.Contains(msgs, m) {
			msgs = append(msgs, m)
		}
	}
	for _, msg := range msgs {
		p := l.problem(msg)
		// diagnose found the schema's and short syntax's problems already,
		// each with its own message
		covered := seen[p.Path] || strings.HasPrefix(msg, "validating ") || p.Path == ""
		if len(diag) > 0 && covered {
			continue
		}
		out = append(out, p)
	}
	sortProblems(out)
	return slices.Compact(out)
}

// isReferenceError says whether err is compose-go's consistency check
// finding an undefined reference.
func isReferenceError(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "service ") &&
		(strings.Contains(msg, " undefined ") || strings.Contains(msg, "not found for network_mode"))
}

// referenceErrors finds every undefined reference of a project loaded
// without compose-go's consistency check, in compose-go's words so that
// they are positioned like its own errors.
func referenceErrors(p *types.Project) []string {
	var out []string
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		for _, n := range slices.Sorted(maps.Keys(s.Networks)) {
			if _, ok := p.Networks[n]; !ok {
				out = append(out, fmt.Sprintf("service %q refers to undefined network %s", name, n))
			}
		}
		for _, d := range slices.Sorted(maps.Keys(s.DependsOn)) {
			if _, err := p.GetService(d); err != nil {
				if errors.Is(err, cerrdefs.ErrDisabled) && !s.DependsOn[d].Required {
					continue
				}
				out = append(out, fmt.Sprintf("service %q depends on undefined service %q", name, d))
			}
		}
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume && v.Source != "" {
				if _, ok := p.Volumes[v.Source]; !ok {
					out = append(out, fmt.Sprintf("service %q refers to undefined volume %s", name, v.Source))
				}
			}
		}
		for _, c := range s.Configs {
			if _, ok := p.Configs[c.Source]; !ok {
				out = append(out, fmt.Sprintf("service %q refers to undefined config %s", name, c.Source))
			}
		}
		for _, c := range s.Secrets {
			if _, ok := p.Secrets[c.Source]; !ok {
				out = append(out, fmt.Sprintf("service %q refers to undefined secret %s", name, c.Source))
			}
		}
	}
	return out
}

// decodeFailed starts mapstructure's error, which lists one problem a line.
const decodeFailed = "decoding failed due to the following error(s):"

// messages splits an error into the messages of its problems.
func messages(err error) []string {
	var out []string
	for _, e := range splitJoined(err) {
		msg := e.Error()
		if rest, ok := strings.CutPrefix(msg, decodeFailed); ok {
			for _, line := range strings.Split(rest, "\n") {
				if line = strings.TrimSpace(line); line != "" {
					out = append(out, line)
				}
			}
			continue
		}
		out = append(out, msg)
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

// patterns are compiled on first use (only failed loads need them).
var patterns = sync.OnceValue(func() []pattern {
	return []pattern{
		{regexp.MustCompile(`^validating (.+?): ((?:[\w.-]+))\s+(.*)$`), func(m []string) (string, string) {
			return m[2], m[3]
		}},
		{regexp.MustCompile(`(?s)^error while interpolating ([^:]+): (.*)$`), func(m []string) (string, string) {
			return m[1], m[2]
		}},
		{regexp.MustCompile(`(?s)^invalid interpolation format for ([^\n]+?)\.\n.*\n(.*)$`), func(m []string) (string, string) {
			return m[1], fmt.Sprintf("invalid interpolation format %q (write a literal $ as $$)", m[2])
		}},
		{regexp.MustCompile(`^service "([^"]+)" depends on undefined service "([^"]+)"`), func(m []string) (string, string) {
			return "services." + m[1] + ".depends_on." + m[2], "undefined service " + strconv.Quote(m[2])
		}},
		{regexp.MustCompile(`^service "([^"]+)" refers to undefined (network|volume|config|secret|model) (\S+?)(?::.*)?$`), func(m []string) (string, string) {
			return "services." + m[1] + "." + m[2] + "s." + m[3], "undefined " + m[2] + " " + strconv.Quote(m[3])
		}},
		{regexp.MustCompile(`^service "([^"]+)" not found for network_mode 'service:([^']+)'`), func(m []string) (string, string) {
			return "", "network_mode: undefined service " + strconv.Quote(m[1])
		}},
		{regexp.MustCompile(`^service "([^"]+)" has neither an image nor a build context specified`), func(m []string) (string, string) {
			return "services." + m[1], "service has neither an image nor a build context specified"
		}},
		{regexp.MustCompile(`^cannot extend service "([^"]+)" in (.+?): (.*)$`), func(m []string) (string, string) {
			return "services." + m[1] + ".extends", m[3]
		}},
		// compose-go swaps its arguments: "services.deploy.replicas: can't set
		// container_name and web as ..."
		{regexp.MustCompile(`^services\.(scale|deploy\.replicas): can't set container_name and (\S+) as container name must be unique`), func(m []string) (string, string) {
			return "services." + m[2] + "." + m[1], "can't set container_name and " + m[1] + " as container name must be unique"
		}},
		{regexp.MustCompile(`(?s)^'([^']+)' (.*)$`), func(m []string) (string, string) {
			return m[1], m[2]
		}},
		{regexp.MustCompile(`(?s)^services\.([\w.-]+?)(?::\s*|\s+)(.*)$`), func(m []string) (string, string) {
			return "services." + m[1], strings.TrimLeft(m[2], ": ")
		}},
	}
})

// problem positions one compose-go error message.
func (l *load) problem(msg string) Problem {
	msg = strings.TrimSuffix(msg, ": invalid argument")
	msg = strings.TrimSuffix(msg, ": invalid compose project")
	for _, p := range patterns() {
		m := p.re.FindStringSubmatch(msg)
		if m == nil {
			continue
		}
		path, text := p.fn(m)
		segs := l.resolveAny(splitPath(path))
		pr := Problem{Path: formatPath(segs), Message: text}
		l.position(&pr, segs)
		return pr
	}
	pr := Problem{Message: msg}
	if m := reMissingFile().FindStringSubmatch(msg); m != nil {
		if l.positionOfReference(&pr, m[1]) {
			pr.Message = "no such file: " + m[1]
		}
	}
	if pr.File == "" && len(l.files) == 1 {
		pr.File = l.files[0]
	}
	return pr
}

// reMissingFile finds the file a "no such file" error is about.
var reMissingFile = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?:env file|open|stat) (/\S+?):? (?:not found|no such file)`)
})

// positionOfReference positions a problem about a file at the value that
// names it (an env_file, an extends or include file) in a YAML stack file.
func (l *load) positionOfReference(pr *Problem, target string) bool {
	for _, in := range l.inputs {
		var doc yaml.Node
		if in.hcl || yaml.Unmarshal(in.src, &doc) != nil {
			continue
		}
		dir := filepath.Dir(in.path)
		if n, path := findValue(&doc, nil, func(v string) bool {
			return v == target || filepath.Join(dir, v) == target
		}); n != nil {
			pr.File, pr.Line, pr.Column, pr.Path = in.path, n.Line, n.Column, formatPath(path)
			return true
		}
	}
	return false
}

// findValue finds the first scalar value for which match is true, and its
// path.
func findValue(n *yaml.Node, at []string, match func(string) bool) (*yaml.Node, []string) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if f, p := findValue(c, at, match); f != nil {
				return f, p
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if f, p := findValue(c, append(slices.Clone(at), strconv.Itoa(i)), match); f != nil {
				return f, p
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if f, p := findValue(n.Content[i+1], append(slices.Clone(at), n.Content[i].Value), match); f != nil {
				return f, p
			}
		}
	case yaml.ScalarNode:
		if match(n.Value) {
			return n, at
		}
	}
	return nil, nil
}

// position finds the field in the stack files, the last file that has it
// first (it is the one whose value won).
func (l *load) position(pr *Problem, segs []string) {
	best := 0 // how many segments of the path the chosen file has
	for i := len(l.inputs) - 1; i >= 0; i-- {
		in := l.inputs[i]
		if in.hcl {
			if r, found, ok := in.sources.Lookup(formatPath(segs)); ok {
				if d := len(splitPath(found)); d > best {
					best = d
					pr.File, pr.Line, pr.Column = in.path, r.Start.Line, r.Start.Column
				}
			}
			continue
		}
		var doc yaml.Node
		if yaml.Unmarshal(in.src, &doc) != nil {
			continue
		}
		n, rest := fieldAt(&doc, segs)
		if n == nil {
			continue
		}
		depth := len(segs) - len(rest)
		if len(rest) == 1 {
			// The path names a list item by value, like depends_on's
			// short syntax.
			if c := findItem(n, rest[0]); c != nil {
				n, depth = c, len(segs)
			}
		}
		if depth > best {
			best = depth
			pr.File, pr.Line, pr.Column = in.path, n.Line, n.Column
		}
	}
	if pr.File == "" && len(l.inputs) == 1 {
		pr.File = l.inputs[0].path
	}
}

// resolveAny replaces the "any item" segments of an interpolation error's
// path with the index of the first item of a stack file that has the rest.
func (l *load) resolveAny(segs []string) []string {
	if !slices.Contains(segs, "*") {
		return segs
	}
	for i := len(l.inputs) - 1; i >= 0; i-- {
		var doc yaml.Node
		if l.inputs[i].hcl || yaml.Unmarshal(l.inputs[i].src, &doc) != nil {
			continue
		}
		for _, strict := range []bool{true, false} {
			if r, ok := resolveIn(&doc, segs, strict); ok {
				return r
			}
		}
	}
	return segs
}

// resolveIn resolves segs in one file; strict wants the value found to hold
// a variable (the error is about interpolating it).
func resolveIn(n *yaml.Node, segs []string, strict bool) ([]string, bool) {
	star := slices.Index(segs, "*")
	if star < 0 {
		v, rest := walk(n, segs)
		// an interpolation error is about a value with a variable in it
		return segs, len(rest) == 0 && (!strict || v.Kind != yaml.ScalarNode || strings.Contains(v.Value, "$"))
	}
	seq, rest := walk(n, segs[:star])
	if len(rest) > 0 || seq.Kind != yaml.SequenceNode {
		return nil, false
	}
	for i, c := range seq.Content {
		if tail, ok := resolveIn(c, segs[star+1:], strict); ok {
			return slices.Concat(segs[:star], []string{strconv.Itoa(i)}, tail), true
		}
	}
	return nil, false
}

// walk follows segs down the YAML tree as far as it goes and returns the
// deepest value node found and the segments left. Map keys may contain dots
// (labels, sysctls): the longest key matching the next segments wins.
func walk(doc *yaml.Node, segs []string) (*yaml.Node, []string) {
	v, _, rest := walkKey(doc, segs)
	return v, rest
}

// fieldAt is walk for positioning: a field is where its key is, a list
// item where the item is.
func fieldAt(doc *yaml.Node, segs []string) (*yaml.Node, []string) {
	v, k, rest := walkKey(doc, segs)
	if k != nil && len(rest) == 0 {
		return k, rest
	}
	return v, rest
}

func walkKey(doc *yaml.Node, segs []string) (value, key *yaml.Node, rest []string) {
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
				name := strings.Join(segs[:k], ".")
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == name {
						key, n, segs, found = n.Content[i], n.Content[i+1], segs[k:], true
						break
					}
				}
			}
			if !found {
				return n, nil, segs
			}
		case yaml.SequenceNode:
			key = nil
			if segs[0] == "*" {
				// Any item: the first one where the rest of the path is.
				for _, c := range n.Content {
					if v, k, rest := walkKey(c, segs[1:]); len(rest) == 0 {
						return v, k, nil
					}
				}
				return n, nil, segs
			}
			i, err := strconv.Atoi(segs[0])
			if err != nil || i < 0 || i >= len(n.Content) {
				return n, nil, segs
			}
			n, segs = n.Content[i], segs[1:]
		default:
			return n, nil, segs
		}
	}
	return n, key, nil
}

// findItem finds the item of a list that names value: the string itself,
// a short syntax starting "value:" (volumes) or a mapping with that source.
func findItem(n *yaml.Node, value string) *yaml.Node {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			switch {
			case c.Kind == yaml.ScalarNode && (c.Value == value || strings.HasPrefix(c.Value, value+":")):
				return c
			case c.Kind == yaml.MappingNode:
				if src := mapValue(c, "source"); src != nil && src.Value == value {
					return c
				}
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
	p = strings.ReplaceAll(p, "[]", "*")
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
		if s == "*" {
			b.WriteString("[]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}
