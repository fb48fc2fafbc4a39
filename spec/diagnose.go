package spec

import (
	"cmp"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/agext/levenshtein"
	"github.com/compose-spec/compose-go/v2/format"
	"github.com/compose-spec/compose-go/v2/schema"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"go.yaml.in/yaml/v4"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// compose-go stops at the first schema error and reports some errors (a
// bad short port) without the field's path. When loading fails, diagnose
// checks each YAML stack file on its own with compose-go's own schema and
// parsers, to report every problem it can find, each at its line.

var (
	compiledOnce sync.Once
	compiled     *jsonschema.Schema
	compileErr   error
)

func composeSchema() (*jsonschema.Schema, error) {
	compiledOnce.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema.Schema))
		if err != nil {
			compileErr = err
			return
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource("compose-spec.json", doc); err != nil {
			compileErr = err
			return
		}
		compiled, compileErr = c.Compile("compose-spec.json")
	})
	return compiled, compileErr
}

// diagnose returns every problem found in the stack files, sorted by
// position: YAML files as parsed, HCL files as decoded (positioned through
// their source maps). It finds nothing in files compose-go accepts.
func (l *load) diagnose() Problems {
	var out Problems
	for _, in := range l.inputs {
		if in.hcl {
			if in.data == nil {
				continue
			}
			pos := func(segs []string) (int, int) {
				r, _, ok := in.sources.Lookup(formatPath(segs))
				if !ok {
					return 0, 0
				}
				return r.Start.Line, r.Start.Column
			}
			// HCL did its own interpolation: no value waits for compose-go's
			out = append(out, schemaProblems(in.path, in.data, pos, func([]string) bool { return false })...)
			out = append(out, shortSyntaxProblems(in.path, dataShortSyntax(in.data), pos)...)
			continue
		}
		var doc yaml.Node
		if yaml.Unmarshal(in.src, &doc) != nil {
			continue
		}
		var raw any
		if withoutResets(&doc).Decode(&raw) != nil {
			continue
		}
		pos := func(segs []string) (int, int) {
			if n, _ := fieldAt(&doc, segs); n != nil {
				return n.Line, n.Column
			}
			return 0, 0
		}
		out = append(out, schemaProblems(in.path, raw, pos, func(segs []string) bool { return isInterpolated(&doc, segs) })...)
		out = append(out, shortSyntaxProblems(in.path, yamlShortSyntax(&doc), pos)...)
	}
	sortProblems(out)
	return slices.CompactFunc(out, func(a, b Problem) bool { return a == b })
}

func sortProblems(ps Problems) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column), cmp.Compare(a.Path, b.Path))
	})
}

// schemaProblems validates raw, a stack file's data, against compose-go's
// schema. pos gives the line and column of a path in the file; skip says
// which values the schema cannot judge yet.
func schemaProblems(file string, raw any, pos func(segs []string) (int, int), skip func(segs []string) bool) Problems {
	sch, err := composeSchema()
	if err != nil {
		return nil
	}
	inst, err := jsonValue(raw)
	if err != nil {
		return nil
	}
	err = sch.Validate(inst)
	verr, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return nil
	}
	var out Problems
	leaves := leafErrors(verr)
	for _, e := range leaves {
		segs := slices.Clone(e.InstanceLocation)
		if _, ok := e.ErrorKind.(*kind.FalseSchema); ok && (hasErrorBelow(leaves, segs) || isKnownField(segs)) {
			// unevaluatedProperties: a known field whose value is wrong
			// also counts as unevaluated; its own error says what is wrong
			continue
		}
		if skip(segs) {
			continue // e.g. its type is only known after interpolation
		}
		for _, pr := range schemaMessage(e) {
			s := slices.Concat(segs, pr.extra)
			p := Problem{File: file, Path: formatPath(s), Message: pr.msg}
			p.Line, p.Column = pos(s)
			out = append(out, p)
		}
	}
	return out
}

// isKnownField says whether the last segment of loc is a field the model
// has there: the schema reports such a field as unevaluated when a sibling
// is wrong.
func isKnownField(loc []string) bool {
	if len(loc) == 0 {
		return false
	}
	return slices.Contains(knownFields(loc[:len(loc)-1]), loc[len(loc)-1])
}

func hasErrorBelow(errs []*jsonschema.ValidationError, loc []string) bool {
	for _, e := range errs {
		if len(e.InstanceLocation) > len(loc) && slices.Equal(e.InstanceLocation[:len(loc)], loc) {
			return true
		}
		if _, ok := e.ErrorKind.(*kind.FalseSchema); !ok && slices.Equal(e.InstanceLocation, loc) {
			return true
		}
	}
	return false
}

// withoutResets returns a copy of the tree without the values tagged
// !reset, which compose-go's loader removes before validating.
func withoutResets(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = nil
	for i := 0; i < len(n.Content); i++ {
		if n.Kind == yaml.MappingNode && i+1 < len(n.Content) {
			if n.Content[i+1].Tag == "!reset" {
				i++
				continue
			}
			c.Content = append(c.Content, withoutResets(n.Content[i]), withoutResets(n.Content[i+1]))
			i++
			continue
		}
		if n.Content[i].Tag == "!reset" {
			continue
		}
		c.Content = append(c.Content, withoutResets(n.Content[i]))
	}
	if c.Tag == "!override" {
		c.Tag = ""
	}
	return &c
}

// jsonValue turns decoded YAML into what the schema validator takes
// (json.Unmarshal's types), as compose-go does before validating.
func jsonValue(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			j, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			m[k] = j
		}
		return m, nil
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			j, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			s[i] = j
		}
		return s, nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	case float32:
		return float64(x), nil
	case nil, string, bool, float64:
		return x, nil
	default:
		return fmt.Sprint(x), nil
	}
}

// leafErrors picks the errors worth showing: every independent failure,
// and for a value that matches none of several alternatives (oneOf,
// anyOf) the most specific one, as compose-go does.
func leafErrors(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	switch e.ErrorKind.(type) {
	case *kind.OneOf, *kind.AnyOf:
		return []*jsonschema.ValidationError{mostSpecific(e)}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		out = append(out, leafErrors(c)...)
	}
	return out
}

func mostSpecific(e *jsonschema.ValidationError) *jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return e
	}
	var best *jsonschema.ValidationError
	for _, c := range e.Causes {
		c = mostSpecific(c)
		if best == nil || specificity(c) > specificity(best) {
			best = c
		}
	}
	return best
}

func specificity(e *jsonschema.ValidationError) int {
	if _, ok := e.ErrorKind.(*kind.AdditionalProperties); ok {
		return len(e.InstanceLocation) + 1
	}
	return len(e.InstanceLocation)
}

// isInterpolated says whether the value at segs is a string with a
// variable in it, whose type the schema cannot judge before interpolation.
func isInterpolated(doc *yaml.Node, segs []string) bool {
	n, rest := walk(doc, segs)
	return n != nil && len(rest) == 0 && n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "$")
}

type schemaProblem struct {
	extra []string // path below the instance location
	msg   string
}

func schemaMessage(e *jsonschema.ValidationError) []schemaProblem {
	loc := e.InstanceLocation
	switch k := e.ErrorKind.(type) {
	case *kind.FalseSchema:
		if len(loc) == 0 {
			return []schemaProblem{{msg: "not allowed"}}
		}
		return []schemaProblem{{msg: unknownField(loc[:len(loc)-1], loc[len(loc)-1])}}
	case *kind.AdditionalProperties:
		var out []schemaProblem
		for _, p := range k.Properties {
			out = append(out, schemaProblem{extra: []string{p}, msg: unknownField(loc, p)})
		}
		return out
	case *kind.Type:
		return []schemaProblem{{msg: "must be a " + humanType(k.Want...)}}
	case *kind.Required:
		var out []schemaProblem
		for _, m := range k.Missing {
			out = append(out, schemaProblem{msg: strconv.Quote(m) + " is required"})
		}
		return out
	}
	p := message.NewPrinter(language.English)
	return []schemaProblem{{msg: e.ErrorKind.LocalizedString(p)}}
}

func humanType(want ...string) string {
	names := make([]string, len(want))
	for i, w := range want {
		switch w {
		case "object":
			w = "mapping"
		case "array":
			w = "list"
		}
		names[i] = w
	}
	slices.Sort(names)
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// unknownField is the message for a field the schema does not know, with a
// suggestion when a known field is close.
func unknownField(parent []string, name string) string {
	msg := "unknown field " + strconv.Quote(name)
	if s := suggest(name, knownFields(parent)); s != "" {
		msg += ", did you mean " + strconv.Quote(s) + "?"
	}
	return msg
}

func suggest(name string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := levenshtein.Distance(name, k, nil); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// knownFields lists the fields the model has at a path, from compose-go's
// types, for suggestions.
func knownFields(parent []string) []string {
	var t reflect.Type
	switch {
	case len(parent) == 0:
		t = reflect.TypeFor[types.Project]()
		return append(yamlFields(t), "version", "include")
	case len(parent) == 2 && parent[0] == "services":
		t = reflect.TypeFor[types.ServiceConfig]()
	case len(parent) == 3 && parent[0] == "services":
		t = fieldType(reflect.TypeFor[types.ServiceConfig](), parent[2])
	case len(parent) == 2 && parent[0] == "networks":
		t = reflect.TypeFor[types.NetworkConfig]()
	case len(parent) == 2 && parent[0] == "volumes":
		t = reflect.TypeFor[types.VolumeConfig]()
	case len(parent) == 2 && (parent[0] == "configs" || parent[0] == "secrets"):
		t = reflect.TypeFor[types.FileObjectConfig]()
	}
	if t == nil {
		return nil
	}
	return yamlFields(t)
}

func fieldType(t reflect.Type, name string) reflect.Type {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if f.Anonymous {
			if ft := fieldType(f.Type, name); ft != nil {
				return ft
			}
			continue
		}
		if tag == name {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				return ft
			}
		}
	}
	return nil
}

func yamlFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case f.Anonymous:
			out = append(out, yamlFields(f.Type)...)
		case tag != "" && tag != "-" && !strings.HasPrefix(tag, "#"):
			out = append(out, tag)
		}
	}
	return out
}

// shortSyntaxItem is one short-syntax string of a service's ports or
// volumes, with its path in the file.
type shortSyntaxItem struct {
	segs  []string // services, NAME, ports|volumes, INDEX
	value string
}

// shortSyntaxProblems parses the short syntax of ports and volumes the way
// compose-go will, to report each bad one at its line.
func shortSyntaxProblems(file string, items []shortSyntaxItem, pos func(segs []string) (int, int)) Problems {
	var out Problems
	for _, it := range items {
		if strings.Contains(it.value, "$") {
			continue
		}
		var err error
		what := "port"
		switch it.segs[2] {
		case "ports":
			_, err = types.ParsePortConfig(it.value)
		case "volumes":
			what = "volume"
			_, err = format.ParseVolume(it.value)
		}
		if err != nil {
			p := Problem{File: file, Path: formatPath(it.segs), Message: fmt.Sprintf("invalid %s %q: %v", what, it.value, err)}
			p.Line, p.Column = pos(it.segs)
			out = append(out, p)
		}
	}
	return out
}

var shortSyntaxFields = []string{"ports", "volumes"}

// yamlShortSyntax lists the short-syntax ports and volumes of a YAML file.
func yamlShortSyntax(doc *yaml.Node) []shortSyntaxItem {
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	services := mapValue(root, "services")
	if services == nil || services.Kind != yaml.MappingNode {
		return nil
	}
	var out []shortSyntaxItem
	for i := 0; i+1 < len(services.Content); i += 2 {
		name, svc := services.Content[i].Value, services.Content[i+1]
		for _, field := range shortSyntaxFields {
			seq := mapValue(svc, field)
			if seq == nil || seq.Kind != yaml.SequenceNode {
				continue
			}
			for j, item := range seq.Content {
				if item.Kind == yaml.ScalarNode {
					out = append(out, shortSyntaxItem{[]string{"services", name, field, strconv.Itoa(j)}, item.Value})
				}
			}
		}
	}
	return out
}

// dataShortSyntax lists the short-syntax ports and volumes of decoded HCL
// data, whose strings have "$" doubled (see hclDecoded.Data).
func dataShortSyntax(data map[string]any) []shortSyntaxItem {
	services, _ := data["services"].(map[string]any)
	var out []shortSyntaxItem
	for _, name := range slices.Sorted(maps.Keys(services)) {
		svc, _ := services[name].(map[string]any)
		for _, field := range shortSyntaxFields {
			list, _ := svc[field].([]any)
			for j, item := range list {
				if s, ok := item.(string); ok {
					s = strings.ReplaceAll(s, "$$", "$")
					out = append(out, shortSyntaxItem{[]string{"services", name, field, strconv.Itoa(j)}, s})
				}
			}
		}
	}
	return out
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
