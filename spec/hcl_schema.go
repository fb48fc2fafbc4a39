package spec

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/schema"
)

// The HCL format has no hand-written list of Compose fields. Its shape comes
// from compose-go's own JSON schema (the one that validates every Compose
// file), read once:
//
//   - every property of a Compose object can be set as an attribute with the
//     same name (image = "...", ports = [...], healthcheck = {...});
//   - a property whose value is an object with known properties can also be
//     written as a block of the same name (healthcheck { ... });
//   - a property whose value is a list of objects can be written as repeated
//     blocks named in the singular (port { ... } for ports);
//   - a property whose value is a map of objects can be written as labelled
//     blocks named in the singular (network "front" { ... } for networks).
//
// So every field compose-go knows is reachable from HCL, and a name the
// schema does not know is an error with a suggestion.

// blockMode says how the blocks of one type fill their Compose key.
type blockMode int

const (
	blockSingle  blockMode = iota // healthcheck { } -> healthcheck: {...}
	blockList                     // port { } ...   -> ports: [{...}, ...]
	blockLabeled                  // network "x" {} -> networks: {x: {...}}
)

// hclShape is what one HCL body may contain.
type hclShape struct {
	attrs      map[string]bool          // Compose keys settable as attributes
	extensions bool                     // x- attributes allowed
	blocks     map[string]hclBlockShape // block type -> how it maps
}

// hclBlockShape maps one block type to its Compose key.
type hclBlockShape struct {
	key  string
	mode blockMode
	body *hclShape
}

func (s *hclShape) attrNames() []string {
	names := make([]string, 0, len(s.attrs))
	for n := range s.attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (s *hclShape) blockNames() []string {
	names := make([]string, 0, len(s.blocks))
	for n := range s.blocks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// blockFor returns the block type that writes Compose key key, if any.
func (s *hclShape) blockFor(key string) (string, hclBlockShape, bool) {
	for name, b := range s.blocks {
		if b.key == key {
			return name, b, true
		}
	}
	return "", hclBlockShape{}, false
}

// jsonSchema is the part of JSON Schema the shape is read from.
type jsonSchema struct {
	Ref               string                 `json:"$ref"`
	Properties        map[string]*jsonSchema `json:"properties"`
	PatternProperties map[string]*jsonSchema `json:"patternProperties"`
	Items             *jsonSchema            `json:"items"`
	OneOf             []*jsonSchema          `json:"oneOf"`
	AnyOf             []*jsonSchema          `json:"anyOf"`
	AllOf             []*jsonSchema          `json:"allOf"`
	Defs              map[string]*jsonSchema `json:"$defs"`
}

// composeShape is the shape of a whole stack file, built once from
// compose-go's schema and never modified afterwards.
var composeShape = sync.OnceValues(func() (*hclShape, error) {
	var root jsonSchema
	if err := json.Unmarshal([]byte(schema.Schema), &root); err != nil {
		return nil, fmt.Errorf("read compose schema: %w", err)
	}
	b := shapeBuilder{root: &root, memo: map[*jsonSchema]*hclShape{}}
	return b.shape(&root), nil
})

type shapeBuilder struct {
	root *jsonSchema
	memo map[*jsonSchema]*hclShape
}

func (b *shapeBuilder) resolve(n *jsonSchema) *jsonSchema {
	for n != nil && n.Ref != "" {
		name, ok := strings.CutPrefix(n.Ref, "#/$defs/")
		if !ok {
			return nil
		}
		n = b.root.Defs[name]
	}
	return n
}

// alternatives is n itself and, through oneOf/anyOf, each of its variants.
func (b *shapeBuilder) alternatives(n *jsonSchema) []*jsonSchema {
	n = b.resolve(n)
	if n == nil {
		return nil
	}
	out := []*jsonSchema{n}
	for _, alt := range append(append([]*jsonSchema{}, n.OneOf...), n.AnyOf...) {
		out = append(out, b.alternatives(alt)...)
	}
	return out
}

// object returns the properties of n (merged over allOf) and whether x-
// extensions are allowed, for the first variant of n that has properties.
func (b *shapeBuilder) object(n *jsonSchema) (*jsonSchema, map[string]*jsonSchema, bool) {
	for _, alt := range b.alternatives(n) {
		props := map[string]*jsonSchema{}
		ext := false
		parts := append([]*jsonSchema{alt}, alt.AllOf...)
		for _, p := range parts {
			p = b.resolve(p)
			if p == nil {
				continue
			}
			for k, v := range p.Properties {
				props[k] = v
			}
			if _, ok := p.PatternProperties["^x-"]; ok {
				ext = true
			}
		}
		if len(props) > 0 {
			return alt, props, ext
		}
	}
	return nil, nil, false
}

func (b *shapeBuilder) shape(n *jsonSchema) *hclShape {
	key, props, ext := b.object(n)
	if key == nil {
		return &hclShape{attrs: map[string]bool{}, blocks: map[string]hclBlockShape{}}
	}
	if s, ok := b.memo[key]; ok {
		return s
	}
	s := &hclShape{attrs: map[string]bool{}, extensions: ext, blocks: map[string]hclBlockShape{}}
	b.memo[key] = s
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		s.attrs[k] = true
	}
	for _, k := range names {
		bs, ok := b.blockShape(k, props[k])
		if !ok {
			continue
		}
		name := k
		if bs.mode != blockSingle && !strings.HasSuffix(k, "ps") {
			// ports -> port, but device_read_bps stays (bytes per second).
			if singular, ok := strings.CutSuffix(k, "s"); ok && !s.attrs[singular] {
				name = singular
			}
		}
		s.blocks[name] = bs
	}
	return s
}

// blockShape says whether Compose key k with schema n can be written as
// blocks, and how.
func (b *shapeBuilder) blockShape(k string, n *jsonSchema) (hclBlockShape, bool) {
	if obj, _, _ := b.object(n); obj != nil {
		return hclBlockShape{key: k, mode: blockSingle, body: b.shape(obj)}, true
	}
	for _, alt := range b.alternatives(n) {
		for pattern, v := range alt.PatternProperties {
			if pattern == "^x-" {
				continue
			}
			if obj, _, _ := b.object(v); obj != nil {
				return hclBlockShape{key: k, mode: blockLabeled, body: b.shape(obj)}, true
			}
		}
	}
	for _, alt := range b.alternatives(n) {
		if alt.Items == nil {
			continue
		}
		if obj, _, _ := b.object(alt.Items); obj != nil {
			return hclBlockShape{key: k, mode: blockList, body: b.shape(obj)}, true
		}
	}
	return hclBlockShape{}, false
}
