package spec

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// body decodes one HCL body of the given shape to a Compose map. path is
// the body's model path ("" for the file), what names it in messages
// ("service \"web\""). Block types in skip are handled elsewhere.
func (d *hclDecoder) body(b *hclsyntax.Body, shape *hclShape, path, what string, skip map[string]bool) map[string]any {
	out := map[string]any{}

	for _, attr := range sortedAttrs(b) {
		p := joinPath(path, attr.Name)
		if !shape.attrs[attr.Name] && !(shape.extensions && strings.HasPrefix(attr.Name, "x-")) {
			d.unknownAttr(attr, shape, p, what)
			continue
		}
		if name, bs, ok := shape.blockFor(attr.Name); ok && !d.checkKeys(attr.Expr, bs, name, p) {
			continue
		}
		v, ok := d.eval(attr.Expr, p)
		if !ok || v == nil {
			continue
		}
		out[attr.Name] = v
		d.record(attr.Expr, p)
	}

	// Blocks, in source order. Repeated blocks append to the list the
	// attribute of the same key started; labelled blocks fill a map.
	seen := map[string]hcl.Range{}
	for _, blk := range b.Blocks {
		switch {
		case skip[blk.Type]:
		case blk.Type == "dynamic":
			d.dynamic(blk, shape, path, what, out, seen)
		default:
			d.block(hclBlock{
				typ: blk.Type, labels: blk.Labels, labelRanges: blk.LabelRanges,
				def: blk.DefRange(), typeRange: blk.TypeRange, body: blk.Body,
			}, shape, path, what, out, seen)
		}
	}
	return out
}

// hclBlock is a block written in the file or made by a dynamic block.
type hclBlock struct {
	typ         string
	labels      []string
	labelRanges []hcl.Range
	def         hcl.Range // the header, where problems and sources point
	typeRange   hcl.Range
	body        *hclsyntax.Body
}

// block decodes blk into out, the map of the body of shape at path. seen
// has the header of the first block of each type decoded into out.
func (d *hclDecoder) block(blk hclBlock, shape *hclShape, path, what string, out map[string]any, seen map[string]hcl.Range) {
	bs, ok := shape.blocks[blk.typ]
	if !ok {
		d.unknownBlock(blk, shape, path, what)
		return
	}
	p := joinPath(path, bs.key)
	first, repeated := seen[blk.typ]
	switch bs.mode {
	case blockSingle:
		if !d.labels(blk, 0, p) {
			return
		}
		if repeated {
			d.add(blk.def, p, "duplicate %s block; the first is at line %d", blk.typ, first.Start.Line)
			return
		}
		if _, ok := out[bs.key]; ok {
			d.add(blk.def, p, "%s is set both as an attribute and as a block; use one", bs.key)
			return
		}
		seen[blk.typ] = blk.def
		d.sources[p] = blk.def
		out[bs.key] = d.body(blk.body, bs.body, p, blk.typ+" block", nil)
	case blockList:
		if !d.labels(blk, 0, p) {
			return
		}
		list, ok := out[bs.key].([]any)
		if _, set := out[bs.key]; set && !ok {
			d.add(blk.def, p, "%s blocks cannot be added to %s: it is set to a value that is not a list", blk.typ, bs.key)
			return
		}
		ip := fmt.Sprintf("%s[%d]", p, len(list))
		d.sources[ip] = blk.def
		if _, ok := d.sources[p]; !ok {
			d.sources[p] = blk.def
		}
		out[bs.key] = append(list, d.body(blk.body, bs.body, ip, blk.typ+" block", nil))
	case blockLabeled:
		if !d.labels(blk, 1, p) {
			return
		}
		name := blk.labels[0]
		ip := joinPath(p, name)
		m, ok := out[bs.key].(map[string]any)
		if _, set := out[bs.key]; set && !repeated {
			d.add(blk.def, ip, "%s is set both as an attribute and as %s blocks; use one", bs.key, blk.typ)
			return
		}
		if !ok {
			m = map[string]any{}
			out[bs.key] = m
			seen[blk.typ] = blk.def
			if _, ok := d.sources[p]; !ok {
				d.sources[p] = blk.def
			}
		}
		if _, dup := m[name]; dup {
			d.add(blk.def, ip, "duplicate %s %q; the first is at line %d", blk.typ, name, d.sources[ip].Start.Line)
			return
		}
		d.sources[ip] = blk.def
		m[name] = d.body(blk.body, bs.body, ip, fmt.Sprintf("%s %q", blk.typ, name), nil)
	}
}

// checkKeys checks the literal object keys of an attribute that could have
// been written as blocks (healthcheck = { tset = ... }) against the blocks'
// shape, so that they get the same suggestions; it reports false when a key
// is unknown. Keys computed by expressions are left to compose-go.
func (d *hclDecoder) checkKeys(expr hclsyntax.Expression, bs hclBlockShape, name, path string) bool {
	switch bs.mode {
	case blockSingle:
		return d.checkObject(expr, bs.body, name+" block", path)
	case blockList:
		tuple, ok := expr.(*hclsyntax.TupleConsExpr)
		if !ok {
			return true
		}
		good := true
		for i, e := range tuple.Exprs {
			good = d.checkObject(e, bs.body, name+" block", fmt.Sprintf("%s[%d]", path, i)) && good
		}
		return good
	default:
		obj, ok := expr.(*hclsyntax.ObjectConsExpr)
		if !ok {
			return true
		}
		good := true
		for _, item := range obj.Items {
			if key, ok := d.literalKey(item.KeyExpr); ok {
				good = d.checkObject(item.ValueExpr, bs.body, fmt.Sprintf("%s %q", name, key), joinPath(path, key)) && good
			}
		}
		return good
	}
}

func (d *hclDecoder) checkObject(expr hclsyntax.Expression, shape *hclShape, what, path string) bool {
	obj, ok := expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		return true
	}
	good := true
	for _, item := range obj.Items {
		key, ok := d.literalKey(item.KeyExpr)
		if !ok {
			continue
		}
		p := joinPath(path, key)
		if !shape.attrs[key] && !(shape.extensions && strings.HasPrefix(key, "x-")) {
			d.add(item.KeyExpr.Range(), p, "unsupported attribute %q in %s%s", key, what, didYouMean(key, shape.attrNames()))
			good = false
			continue
		}
		if name, bs, ok := shape.blockFor(key); ok {
			good = d.checkKeys(item.ValueExpr, bs, name, p) && good
		}
	}
	return good
}

// literalKey is the key of an object item written as a name or a string
// without interpolation.
func (d *hclDecoder) literalKey(expr hclsyntax.Expression) (string, bool) {
	k, ok := expr.(*hclsyntax.ObjectConsKeyExpr)
	if !ok || k.ForceNonLiteral {
		return "", false
	}
	if name := hcl.ExprAsKeyword(k.Wrapped); name != "" {
		return name, true
	}
	v, diags := k.Wrapped.Value(nil)
	if diags.HasErrors() || v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		return "", false
	}
	return v.AsString(), true
}

// labels checks that blk has n labels.
func (d *hclDecoder) labels(blk hclBlock, n int, path string) bool {
	if len(blk.labels) == n {
		return true
	}
	switch {
	case n == 0:
		d.add(blk.labelRanges[0], path, "a %s block has no label: write %s { ... }", blk.typ, blk.typ)
	case len(blk.labels) == 0:
		d.add(blk.def, path, "a %s block needs a name: write %s \"NAME\" { ... }", blk.typ, blk.typ)
	default:
		d.add(blk.labelRanges[n], path, "a %s block has exactly one label, its name", blk.typ)
	}
	return false
}

func (d *hclDecoder) unknownAttr(attr *hclsyntax.Attribute, shape *hclShape, path, what string) {
	if bs, ok := shape.blocks[attr.Name]; ok {
		d.add(attr.NameRange, path, "%s is a block here: write %s { ... }%s", attr.Name, attr.Name, orAttr(bs))
		return
	}
	msg := fmt.Sprintf("unsupported attribute %q in %s", attr.Name, what)
	d.add(attr.NameRange, path, "%s%s", msg, didYouMean(attr.Name, shape.attrNames()))
}

func orAttr(bs hclBlockShape) string {
	if bs.mode == blockSingle {
		return ""
	}
	return fmt.Sprintf(", or set %s = ...", bs.key)
}

func (d *hclDecoder) unknownBlock(blk hclBlock, shape *hclShape, path, what string) {
	p := joinPath(path, blk.typ)
	if shape.attrs[blk.typ] {
		if name, _, ok := shape.blockFor(blk.typ); ok {
			d.add(blk.typeRange, p, "%s is an attribute: write %s = ..., or use %s blocks", blk.typ, blk.typ, name)
			return
		}
		d.add(blk.typeRange, p, "%s is an attribute, not a block: write %s = ...", blk.typ, blk.typ)
		return
	}
	names := append(shape.blockNames(), "dynamic")
	if path == "" {
		names = append(names, "variable", "locals")
	}
	d.add(blk.typeRange, p, "unsupported block type %q in %s%s", blk.typ, what, didYouMean(blk.typ, names))
}

// didYouMean returns `; did you mean "x"?` for the candidate closest to
// given, or "" when none is close.
func didYouMean(given string, candidates []string) string {
	best, bestDist := "", 0
	for _, c := range candidates {
		dist := levenshtein.Distance(given, c, nil)
		if dist < 3 || strings.Contains(c, given) && len(given) > 2 {
			if best == "" || dist < bestDist {
				best, bestDist = c, dist
			}
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// eval evaluates expr to plain data; ok is false when it failed (and the
// problem is recorded). A null value is (nil, true).
func (d *hclDecoder) eval(expr hclsyntax.Expression, path string) (any, bool) {
	v, ok := d.evalCty(expr, d.ctx, path)
	if !ok || v.IsNull() {
		return nil, ok
	}
	data, err := ctyToPlain(v)
	if err != nil {
		d.add(expr.Range(), path, "%v", err)
		return nil, false
	}
	return data, true
}

// evalCty evaluates expr in ctx, first checking its references to var.X
// and local.X so that a misspelt name gets a suggestion.
func (d *hclDecoder) evalCty(expr hclsyntax.Expression, ctx *hcl.EvalContext, path string) (cty.Value, bool) {
	ok := true
	for _, tr := range expr.Variables() {
		root := tr.RootName()
		obj, known := ctx.Variables[root]
		if !known || (root != "var" && root != "local") || len(tr) < 2 {
			continue
		}
		step, isAttr := tr[1].(hcl.TraverseAttr)
		if !isAttr || !obj.Type().IsObjectType() || obj.Type().HasAttribute(step.Name) {
			continue
		}
		var names []string
		for n := range obj.Type().AttributeTypes() {
			names = append(names, n)
		}
		sort.Strings(names)
		kind := "variable"
		if root == "local" {
			kind = "local value"
		}
		d.add(tr.SourceRange(), path, "no %s named %q is declared%s", kind, step.Name, didYouMean(step.Name, names))
		ok = false
	}
	if !ok {
		return cty.NilVal, false
	}
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		d.addDiags(diags, path)
		return cty.NilVal, false
	}
	if !v.IsWhollyKnown() {
		// It depends on a variable or local whose problem is reported.
		return cty.NilVal, false
	}
	return v, true
}

// record notes where path and, for literal lists and objects, each of its
// elements came from.
func (d *hclDecoder) record(expr hclsyntax.Expression, path string) {
	d.sources[path] = expr.Range()
	switch e := expr.(type) {
	case *hclsyntax.TupleConsExpr:
		for i, x := range e.Exprs {
			d.record(x, fmt.Sprintf("%s[%d]", path, i))
		}
	case *hclsyntax.ObjectConsExpr:
		for _, item := range e.Items {
			k, diags := item.KeyExpr.Value(d.ctx)
			if diags.HasErrors() || !k.IsWhollyKnown() || k.IsNull() {
				continue
			}
			ks, err := convert.Convert(k, cty.String)
			if err != nil {
				continue
			}
			d.record(item.ValueExpr, joinPath(path, ks.AsString()))
		}
	case *hclsyntax.ParenthesesExpr:
		d.record(e.Expression, path)
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func sortedAttrs(b *hclsyntax.Body) []*hclsyntax.Attribute {
	attrs := make([]*hclsyntax.Attribute, 0, len(b.Attributes))
	for _, a := range b.Attributes {
		attrs = append(attrs, a)
	}
	sort.Slice(attrs, func(i, j int) bool {
		return attrs[i].SrcRange.Start.Byte < attrs[j].SrcRange.Start.Byte
	})
	return attrs
}

// ctyToPlain converts a known value to what a YAML parser produces: maps,
// slices, strings (with "$" doubled, see decodeHCLSource), int or float64,
// bool, nil.
func ctyToPlain(v cty.Value) (any, error) {
	if v.IsNull() {
		return nil, nil
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		return strings.ReplaceAll(v.AsString(), "$", "$$"), nil
	case ty == cty.Number:
		bf := v.AsBigFloat()
		if bf.IsInt() {
			if i, acc := bf.Int64(); acc == big.Exact {
				return int(i), nil
			}
		}
		f, _ := bf.Float64()
		return f, nil
	case ty == cty.Bool:
		return v.True(), nil
	case ty.IsListType() || ty.IsTupleType() || ty.IsSetType():
		out := make([]any, 0, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			pe, err := ctyToPlain(e)
			if err != nil {
				return nil, err
			}
			out = append(out, pe)
		}
		return out, nil
	case ty.IsMapType() || ty.IsObjectType():
		out := make(map[string]any, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			pe, err := ctyToPlain(e)
			if err != nil {
				return nil, err
			}
			out[k.AsString()] = pe
		}
		return out, nil
	case ty == cty.DynamicPseudoType:
		return nil, nil
	}
	return nil, fmt.Errorf("a value of type %s cannot be used here", ty.FriendlyName())
}
