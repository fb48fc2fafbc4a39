package spec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
)

// The cache stores a loaded Stack, compose-go's *types.Project included,
// and must give back exactly the value it stored: same nil and empty
// slices and maps, same nil and non-nil pointers (a pointer to 0 is not
// nil), same dynamic types in the `any` values of extensions, and every
// field, whatever its struct tags say. The standard encoders do not: gob
// omits zero values (a pointer to 0 decodes as nil) and rejects nil
// pointers as map values (networks: {default: null}); JSON and YAML follow
// compose-go's tags, which drop fields (json:"-" on WorkingDir,
// Environment, extensions...) and empty collections, and decode numbers in
// `any` as float64. So the model is encoded by reflection over its Go
// types, with no tags involved, in a compact binary form:
//
//	bool             one byte
//	int kinds        varint; uint kinds uvarint; floats their IEEE bits
//	string, []byte   uvarint length, bytes
//	slice, map       uvarint 0 for nil, else length+1 and the elements
//	                 (a map's as key, value)
//	pointer          0 for nil, else 1 and the value
//	struct           every exported field in order; an unexported field
//	                 must be its zero value (compose-go's marshallContent
//	                 flag is only set on copies made for marshalling), or
//	                 encoding fails
//	interface        0 for nil, else the index+1 of its dynamic type in
//	                 codecDynamicTypes and the value; another dynamic type
//	                 fails encoding
//
// The format carries no type information: decoding needs the same Go types
// as encoding, which the cache guarantees by keying entries with
// codecTypeFingerprint. A failure to encode means "do not cache"; a
// failure to decode means "cache miss". Decoding never panics on corrupt
// input: lengths are checked against what is left, and a panic from
// reflect is turned into an error.

// codecDynamicTypes are the types an `any` in the model may hold: what a
// YAML or HCL decoder puts in extensions (x-*).
var codecDynamicTypes = []reflect.Type{
	reflect.TypeFor[bool](),
	reflect.TypeFor[int](),
	reflect.TypeFor[int64](),
	reflect.TypeFor[uint64](),
	reflect.TypeFor[float64](),
	reflect.TypeFor[string](),
	reflect.TypeFor[[]any](),
	reflect.TypeFor[map[string]any](),
	reflect.TypeFor[map[any]any](),
	reflect.TypeFor[int8](),
	reflect.TypeFor[int16](),
	reflect.TypeFor[int32](),
	reflect.TypeFor[uint](),
	reflect.TypeFor[uint8](),
	reflect.TypeFor[uint16](),
	reflect.TypeFor[uint32](),
	reflect.TypeFor[float32](),
	reflect.TypeFor[[]string](),
	reflect.TypeFor[map[string]string](),
}

var errCorrupt = errors.New("corrupt cache entry")

// encodeValue appends the encoding of v (a value of a non-interface type)
// to buf.
func encodeValue(buf []byte, v any) ([]byte, error) {
	e := encoder{buf: buf}
	if err := e.value(reflect.ValueOf(v), ""); err != nil {
		return nil, err
	}
	return e.buf, nil
}

// decodeValue decodes data into *ptr, which must be of the type that was
// encoded. All of data must be used.
func decodeValue(data []byte, ptr any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errCorrupt, r)
		}
	}()
	d := decoder{data: data}
	if err := d.value(reflect.ValueOf(ptr).Elem()); err != nil {
		return err
	}
	if len(d.data) != 0 {
		return fmt.Errorf("%w: %d bytes left over", errCorrupt, len(d.data))
	}
	return nil
}

type encoder struct{ buf []byte }

// value encodes v; path names it in errors.
func (e *encoder) value(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Bool:
		b := byte(0)
		if v.Bool() {
			b = 1
		}
		e.buf = append(e.buf, b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.buf = binary.AppendVarint(e.buf, v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.buf = binary.AppendUvarint(e.buf, v.Uint())
	case reflect.Float32, reflect.Float64:
		e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(v.Float()))
	case reflect.String:
		e.buf = binary.AppendUvarint(e.buf, uint64(v.Len()))
		e.buf = append(e.buf, v.String()...)
	case reflect.Slice:
		if v.IsNil() {
			e.buf = append(e.buf, 0)
			return nil
		}
		e.buf = binary.AppendUvarint(e.buf, uint64(v.Len())+1)
		if v.Type().Elem().Kind() == reflect.Uint8 {
			e.buf = append(e.buf, v.Bytes()...)
			return nil
		}
		for i := range v.Len() {
			if err := e.value(v.Index(i), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	case reflect.Array:
		for i := range v.Len() {
			if err := e.value(v.Index(i), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	case reflect.Map:
		if v.IsNil() {
			e.buf = append(e.buf, 0)
			return nil
		}
		e.buf = binary.AppendUvarint(e.buf, uint64(v.Len())+1)
		for it := v.MapRange(); it.Next(); {
			k := it.Key()
			if err := e.value(k, path); err != nil {
				return err
			}
			if err := e.value(it.Value(), path+"."+fmt.Sprint(k.Interface())); err != nil {
				return err
			}
		}
	case reflect.Pointer:
		if v.IsNil() {
			e.buf = append(e.buf, 0)
			return nil
		}
		e.buf = append(e.buf, 1)
		return e.value(v.Elem(), path)
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			fv := v.Field(i)
			if !f.IsExported() {
				if !fv.IsZero() {
					return fmt.Errorf("%s.%s: unexported field %s.%s is set", path, f.Name, t, f.Name)
				}
				continue
			}
			if err := e.value(fv, path+"."+f.Name); err != nil {
				return err
			}
		}
	case reflect.Interface:
		if v.IsNil() {
			e.buf = append(e.buf, 0)
			return nil
		}
		elem := v.Elem()
		i := dynamicIndex(elem.Type())
		if i < 0 {
			return fmt.Errorf("%s: cannot encode a %s held in an interface", path, elem.Type())
		}
		e.buf = binary.AppendUvarint(e.buf, uint64(i)+1)
		return e.value(elem, path)
	default:
		return fmt.Errorf("%s: cannot encode a %s", path, v.Type())
	}
	return nil
}

func dynamicIndex(t reflect.Type) int {
	for i, d := range codecDynamicTypes {
		if d == t {
			return i
		}
	}
	return -1
}

type decoder struct{ data []byte }

func (d *decoder) uvarint() (uint64, error) {
	n, k := binary.Uvarint(d.data)
	if k <= 0 {
		return 0, errCorrupt
	}
	d.data = d.data[k:]
	return n, nil
}

// count reads the length of a slice or map, encoded as 0 for nil and
// length+1 otherwise, and checks that at least that many bytes are left
// (each element of the model's types takes one or more).
func (d *decoder) count() (n int, isNil bool, err error) {
	u, err := d.uvarint()
	if err != nil {
		return 0, false, err
	}
	if u == 0 {
		return 0, true, nil
	}
	u--
	if u > uint64(len(d.data)) {
		return 0, false, errCorrupt
	}
	return int(u), false, nil
}

// flag reads the one byte of a bool or of a pointer's nil mark.
func (d *decoder) flag() (bool, error) {
	if len(d.data) == 0 || d.data[0] > 1 {
		return false, errCorrupt
	}
	b := d.data[0] == 1
	d.data = d.data[1:]
	return b, nil
}

// length reads a string's length and checks that that many bytes are left.
func (d *decoder) length() (int, error) {
	n, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if n > uint64(len(d.data)) {
		return 0, fmt.Errorf("%w: length %d exceeds the data", errCorrupt, n)
	}
	return int(n), nil
}

// value decodes into v, which is settable and of the encoded type.
func (d *decoder) value(v reflect.Value) error {
	switch v.Kind() {
	case reflect.Bool:
		b, err := d.flag()
		if err != nil {
			return err
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, k := binary.Varint(d.data)
		if k <= 0 || v.OverflowInt(n) {
			return errCorrupt
		}
		v.SetInt(n)
		d.data = d.data[k:]
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, err := d.uvarint()
		if err != nil || v.OverflowUint(n) {
			return errCorrupt
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		if len(d.data) < 8 {
			return errCorrupt
		}
		v.SetFloat(math.Float64frombits(binary.LittleEndian.Uint64(d.data)))
		d.data = d.data[8:]
	case reflect.String:
		n, err := d.length()
		if err != nil {
			return err
		}
		v.SetString(string(d.data[:n]))
		d.data = d.data[n:]
	case reflect.Slice:
		n, isNil, err := d.count()
		if err != nil {
			return err
		}
		if isNil {
			v.SetZero()
			return nil
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b := reflect.MakeSlice(v.Type(), n, n)
			reflect.Copy(b, reflect.ValueOf(d.data[:n]))
			v.Set(b)
			d.data = d.data[n:]
			return nil
		}
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			if err := d.value(s.Index(i)); err != nil {
				return err
			}
		}
		v.Set(s)
	case reflect.Array:
		for i := range v.Len() {
			if err := d.value(v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		n, isNil, err := d.count()
		if err != nil {
			return err
		}
		if isNil {
			v.SetZero()
			return nil
		}
		t := v.Type()
		m := reflect.MakeMapWithSize(t, n)
		for range n {
			k := reflect.New(t.Key()).Elem()
			if err := d.value(k); err != nil {
				return err
			}
			e := reflect.New(t.Elem()).Elem()
			if err := d.value(e); err != nil {
				return err
			}
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Pointer:
		nonNil, err := d.flag()
		if err != nil {
			return err
		}
		if !nonNil {
			v.SetZero()
			return nil
		}
		p := reflect.New(v.Type().Elem())
		if err := d.value(p.Elem()); err != nil {
			return err
		}
		v.Set(p)
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if !t.Field(i).IsExported() {
				continue
			}
			if err := d.value(v.Field(i)); err != nil {
				return err
			}
		}
	case reflect.Interface:
		n, err := d.uvarint()
		if err != nil {
			return err
		}
		if n == 0 {
			v.SetZero()
			return nil
		}
		if n > uint64(len(codecDynamicTypes)) {
			return errCorrupt
		}
		e := reflect.New(codecDynamicTypes[n-1]).Elem()
		if err := d.value(e); err != nil {
			return err
		}
		v.Set(e)
	default:
		return fmt.Errorf("cannot decode a %s", v.Type())
	}
	return nil
}

// codecTypeFingerprint describes the Go type t as the codec sees it: kinds,
// names and fields, recursively. A cache entry written for one version of
// the types must never be decoded into another.
func codecTypeFingerprint(t reflect.Type) string {
	var b []byte
	seen := map[reflect.Type]int{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		if i, ok := seen[t]; ok {
			b = append(b, "@"+strconv.Itoa(i)...)
			return
		}
		seen[t] = len(seen)
		b = append(b, "("+t.PkgPath()+"."+t.Name()+" "+t.Kind().String()...)
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice:
			walk(t.Elem())
		case reflect.Array:
			b = append(b, strconv.Itoa(t.Len())...)
			walk(t.Elem())
		case reflect.Map:
			walk(t.Key())
			walk(t.Elem())
		case reflect.Struct:
			for i := range t.NumField() {
				f := t.Field(i)
				b = append(b, " "+f.Name...)
				if f.IsExported() {
					walk(f.Type)
				}
			}
		}
		b = append(b, ')')
	}
	walk(t)
	for _, d := range codecDynamicTypes {
		walk(d)
	}
	return string(b)
}
