package reconcile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

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

// null stands for a JSON null in a Change, so that "absent" (nil) and
// "present but null" (a network listed without options) stay apart.
type null struct{}

// MarshalJSON renders null as JSON null.
func (null) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

// diffTrees returns the differences between two decoded JSON objects,
// sorted by path. Objects are compared key by key, arrays of equal length
// element by element; a key or element present on one side only is one
// change carrying the whole value.
func diffTrees(old, new map[string]any) []Change {
	var out []Change
	diffValue("", old, new, &out)
	slices.SortStableFunc(out, func(x, y Change) int { return strings.Compare(x.Path, y.Path) })
	return out
}

func diffValue(path string, a, b any, out *[]Change) {
	key := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch a := a.(type) {
	case map[string]any:
		if b, ok := b.(map[string]any); ok {
			for _, k := range slices.Sorted(maps.Keys(a)) {
				if bv, ok := b[k]; ok {
					diffValue(key(k), a[k], bv, out)
				} else {
					*out = append(*out, Change{Path: key(k), Old: orNull(a[k])})
				}
			}
			for _, k := range slices.Sorted(maps.Keys(b)) {
				if _, ok := a[k]; !ok {
					*out = append(*out, Change{Path: key(k), New: orNull(b[k])})
				}
			}
			return
		}
	case []any:
		if b, ok := b.([]any); ok && slices.ContainsFunc(append(slices.Clone(a), b...), isObject) {
			for i := range max(len(a), len(b)) {
				p := path + "[" + strconv.Itoa(i) + "]"
				switch {
				case i >= len(a):
					*out = append(*out, Change{Path: p, New: orNull(b[i])})
				case i >= len(b):
					*out = append(*out, Change{Path: p, Old: orNull(a[i])})
				default:
					diffValue(p, a[i], b[i], out)
				}
			}
			return
		}
	}
	if !equalJSON(a, b) {
		*out = append(*out, Change{Path: path, Old: orNull(a), New: orNull(b)})
	}
}

func isObject(v any) bool { _, ok := v.(map[string]any); return ok }

func orNull(v any) any {
	if v == nil {
		return null{}
	}
	return v
}

func equalJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
