package reconcile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/runtime"
)

// LabelServiceConfig is the container label holding the canonical JSON of
// the service configuration the container was created from. Plan compares
// it with the desired service to explain a recreate field by field; the
// decision itself is the config hash's.
const LabelServiceConfig = "io.berth.service-config"

// serviceRecord is the canonical JSON of a service as recorded on its
// containers: the fields that say how many replicas run and in which order
// (scale, replicas, depends_on, profiles) are left out, as the config hash
// leaves them out.
func serviceRecord(s types.ServiceConfig) ([]byte, error) {
	s.DependsOn = nil
	s.Scale = nil
	s.Profiles = nil
	if s.Deploy != nil {
		d := *s.Deploy
		d.Replicas = nil
		s.Deploy = &d
	}
	data, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("record service %s: %w", s.Name, err)
	}
	return data, nil
}

// changes explains why a container's config hash differs from the desired
// one. It returns the cause and the field-level differences.
func (b *builder) changes(c runtime.Container, name string, s types.ServiceConfig, imageID string) (string, []Change) {
	var out []Change
	if imageID != "" && c.ImageID != "" && imageID != c.ImageID {
		out = append(out, Change{Path: "image_id", Old: c.ImageID, New: imageID})
	}
	old, ok := c.Labels[LabelServiceConfig]
	if !ok {
		return "config hash changed (no record of the previous configuration)", out
	}
	oldTree, err := decode([]byte(old))
	if err != nil {
		return "config hash changed (unreadable record of the previous configuration)", out
	}
	newTree, ok := b.records[name]
	if !ok {
		data, err := serviceRecord(s)
		if err == nil {
			newTree, err = decode(data)
		}
		if err != nil {
			b.errs = append(b.errs, err)
			return "", nil
		}
		b.records[name] = newTree
	}
	out = append(out, diffTrees(oldTree, newTree)...)
	if len(out) == 0 {
		return "config hash changed", nil
	}
	return "config changed", out
}

func decode(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// diffTrees flattens two decoded JSON objects into dotted paths and returns
// the paths whose values differ, sorted. Objects are walked key by key,
// arrays of objects element by element, and arrays of scalars compared
// whole (`command ["a"] => ["a","b"]`).
func diffTrees(old, new map[string]any) []Change {
	a, b := map[string]any{}, map[string]any{}
	flatten("", old, a)
	flatten("", new, b)
	var out []Change
	for _, path := range slices.Sorted(maps.Keys(a)) {
		if v, ok := b[path]; !ok {
			out = append(out, Change{Path: path, Old: a[path]})
		} else if !equalJSON(a[path], v) {
			out = append(out, Change{Path: path, Old: a[path], New: v})
		}
	}
	for _, path := range slices.Sorted(maps.Keys(b)) {
		if _, ok := a[path]; !ok {
			out = append(out, Change{Path: path, New: b[path]})
		}
	}
	slices.SortStableFunc(out, func(x, y Change) int {
		switch {
		case x.Path < y.Path:
			return -1
		case x.Path > y.Path:
			return 1
		}
		return 0
	})
	return out
}

func flatten(prefix string, v any, out map[string]any) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 && prefix != "" {
			out[prefix] = v
		}
		for k, e := range v {
			flatten(join(k), e, out)
		}
	case []any:
		if !slices.ContainsFunc(v, func(e any) bool { _, ok := e.(map[string]any); return ok }) {
			out[prefix] = v
			return
		}
		for i, e := range v {
			flatten(prefix+"["+strconv.Itoa(i)+"]", e, out)
		}
	default:
		out[prefix] = v
	}
}

func equalJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
