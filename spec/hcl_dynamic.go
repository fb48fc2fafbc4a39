package spec

import (
	"maps"
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// dynamic expands a dynamic block, as Terraform does: one block of the
// labelled type per element of for_each, from the content block, with the
// iterator (named by iterator, default the block type) holding the
// element's key and value:
//
//	dynamic "port" {
//	  for_each = var.ports
//	  content {
//	    target    = port.value
//	    published = port.value + 8000
//	  }
//	}
//
// Labelled block types take their labels from labels = [...].
func (d *hclDecoder) dynamic(blk *hclsyntax.Block, shape *hclShape, path, what string, out map[string]any, seen map[string]hcl.Range) {
	if len(blk.Labels) != 1 {
		d.add(blk.DefRange(), path, "a dynamic block needs one label, the type of the blocks it makes: dynamic \"port\" { ... }")
		return
	}
	typ := blk.Labels[0]
	bs, ok := shape.blocks[typ]
	if !ok {
		d.unknownBlock(hclBlock{typ: typ, typeRange: blk.LabelRanges[0]}, shape, path, what)
		return
	}
	p := joinPath(path, bs.key)
	known := []string{"for_each", "iterator", "labels"}
	for _, a := range sortedAttrs(blk.Body) {
		if !slices.Contains(known, a.Name) {
			d.add(a.NameRange, p, "unsupported attribute %q in dynamic %q%s", a.Name, typ, didYouMean(a.Name, known))
		}
	}
	var content *hclsyntax.Block
	for _, b := range blk.Body.Blocks {
		switch {
		case b.Type != "content":
			d.add(b.TypeRange, p, "unsupported block type %q in dynamic %q%s", b.Type, typ, didYouMean(b.Type, []string{"content"}))
		case content != nil:
			d.add(b.DefRange(), p, "duplicate content block; the first is at line %d", content.DefRange().Start.Line)
		case len(b.Labels) > 0:
			d.add(b.LabelRanges[0], p, "a content block has no label: write content { ... }")
		default:
			content = b
		}
	}
	forEach := blk.Body.Attributes["for_each"]
	if forEach == nil || content == nil {
		d.add(blk.DefRange(), p, "a dynamic block needs for_each and a content block")
		return
	}
	iterator := typ
	if a := blk.Body.Attributes["iterator"]; a != nil {
		if iterator = hcl.ExprAsKeyword(a.Expr); iterator == "" {
			d.add(a.Expr.Range(), p, "iterator must be a name, such as iterator = item")
			return
		}
	}
	coll, ok := d.evalCty(forEach.Expr, d.ctx, p)
	if !ok {
		return
	}
	if coll.IsNull() || !coll.CanIterateElements() {
		d.add(forEach.Expr.Range(), p, "for_each must be a list, set, map or object, not %s", coll.Type().FriendlyName())
		return
	}
	labelsAttr := blk.Body.Attributes["labels"]
	outer := d.ctx
	defer func() { d.ctx = outer }()
	for it := coll.ElementIterator(); it.Next(); {
		k, v := it.Element()
		vars := maps.Clone(outer.Variables)
		vars[iterator] = cty.ObjectVal(map[string]cty.Value{"key": k, "value": v})
		d.ctx = &hcl.EvalContext{Functions: outer.Functions, Variables: vars}
		inst := hclBlock{typ: typ, def: blk.DefRange(), typeRange: blk.LabelRanges[0], body: content.Body}
		if labelsAttr != nil {
			labels, ok := d.dynamicLabels(labelsAttr, p)
			if !ok {
				return
			}
			inst.labels = labels
			for range labels {
				inst.labelRanges = append(inst.labelRanges, labelsAttr.Expr.Range())
			}
		}
		if len(inst.labels) == 0 {
			inst.labelRanges = []hcl.Range{blk.DefRange()}
		}
		d.block(inst, shape, path, what, out, seen)
	}
}

func (d *hclDecoder) dynamicLabels(a *hclsyntax.Attribute, path string) ([]string, bool) {
	v, ok := d.evalCty(a.Expr, d.ctx, path)
	if !ok {
		return nil, false
	}
	lv, err := convert.Convert(v, cty.List(cty.String))
	if err != nil || lv.IsNull() {
		d.add(a.Expr.Range(), path, "labels must be a list of strings")
		return nil, false
	}
	var labels []string
	for _, l := range lv.AsValueSlice() {
		if l.IsNull() {
			d.add(a.Expr.Range(), path, "labels must not be null")
			return nil, false
		}
		labels = append(labels, l.AsString())
	}
	return labels, true
}
