package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// hclVarEnvPrefix is the prefix of environment variables that set stack
// variables: BERTH_VAR_port=8080 sets var.port.
const hclVarEnvPrefix = "BERTH_VAR_"

// hclVariable is one declared variable block.
type hclVariable struct {
	name        string
	block       *hclsyntax.Block
	ty          cty.Type
	defaults    *typeexpr.Defaults
	validations []*hclsyntax.Block
	value       cty.Value
	set         bool
	failed      bool      // a value was given but is invalid (reported)
	from        hcl.Range // where the value came from, for messages
	source      string    // how it was set, for messages ("-var", ...)
}

var (
	variableAttrs  = []string{"type", "default", "description", "sensitive", "nullable"}
	validationAttr = []string{"condition", "error_message"}
)

// variables declares the variable blocks of body and sets d.vars from
// default < BERTH_VAR_name < -var-file (in order) < -var, then checks
// every validation block.
func (d *hclDecoder) variables(body *hclsyntax.Body) {
	d.vars = map[string]cty.Value{}
	decls := map[string]*hclVariable{}
	var order []*hclVariable
	constCtx := &hcl.EvalContext{Functions: d.ctx.Functions}
	for _, blk := range body.Blocks {
		if blk.Type != "variable" {
			continue
		}
		if v := d.declareVariable(blk, decls, constCtx); v != nil {
			decls[v.name] = v
			order = append(order, v)
			d.declared = append(d.declared, v.name)
		}
	}

	// BERTH_VAR_name from the environment: names not declared are ignored,
	// the environment is shared with everything else.
	for _, v := range slices.SortedFunc(slices.Values(order), func(a, b *hclVariable) int { return strings.Compare(a.name, b.name) }) {
		if val, ok := d.lookupEnv(hclVarEnvPrefix + v.name); ok {
			d.setVarString(v, val, hclVarEnvPrefix+v.name)
		}
	}

	for _, f := range d.in.VarFiles {
		d.varFile(f, decls, order)
	}

	cliNames := make([]string, 0, len(d.in.Vars))
	for k := range d.in.Vars {
		cliNames = append(cliNames, k)
	}
	sort.Strings(cliNames)
	for _, name := range cliNames {
		v := decls[name]
		if v == nil {
			d.undeclared = append(d.undeclared, Problem{Path: "var." + name, Message: undeclaredMessage(name, false, varNames(order))})
			continue
		}
		d.setVarString(v, d.in.Vars[name], "-var")
	}

	for _, v := range order {
		if v.failed {
			d.vars[v.name] = cty.UnknownVal(v.ty)
			continue
		}
		if v.set {
			d.vars[v.name] = v.value
			continue
		}
		if v.block.Body.Attributes["default"] != nil {
			// default = null: the variable is null.
			d.vars[v.name] = cty.NullVal(v.ty)
			continue
		}
		d.add(v.block.DefRange(), "var."+v.name, "no value for required variable %q: set it with -var %s=VALUE, a -var-file or %s%s, or give it a default", v.name, v.name, hclVarEnvPrefix, v.name)
		d.vars[v.name] = cty.UnknownVal(v.ty)
	}
	d.validate(order)
}

// declareVariable reads one variable block: its type, its default and its
// validation blocks. It returns nil when the block cannot declare a
// variable (no name, a duplicate).
func (d *hclDecoder) declareVariable(blk *hclsyntax.Block, decls map[string]*hclVariable, constCtx *hcl.EvalContext) *hclVariable {
	if len(blk.Labels) != 1 {
		d.add(blk.DefRange(), "", "a variable block needs exactly one label, its name: variable \"NAME\" { ... }")
		return nil
	}
	v := &hclVariable{name: blk.Labels[0], block: blk, ty: cty.DynamicPseudoType}
	path := "var." + v.name
	if !hclsyntax.ValidIdentifier(v.name) {
		d.add(blk.LabelRanges[0], path, "invalid variable name %q: use letters, digits, _ and -, starting with a letter", v.name)
		return nil
	}
	if prev := decls[v.name]; prev != nil {
		d.add(blk.DefRange(), path, "duplicate variable %q; the first is at line %d", v.name, prev.block.DefRange().Start.Line)
		return nil
	}
	for _, a := range sortedAttrs(blk.Body) {
		if !slices.Contains(variableAttrs, a.Name) {
			d.add(a.NameRange, path, "unsupported attribute %q in variable %q%s", a.Name, v.name, didYouMean(a.Name, variableAttrs))
		}
	}
	for _, inner := range blk.Body.Blocks {
		if inner.Type != "validation" {
			d.add(inner.TypeRange, path, "unsupported block type %q in variable %q%s", inner.Type, v.name, didYouMean(inner.Type, []string{"validation"}))
			continue
		}
		for _, a := range sortedAttrs(inner.Body) {
			if !slices.Contains(validationAttr, a.Name) {
				d.add(a.NameRange, path, "unsupported attribute %q in validation%s", a.Name, didYouMean(a.Name, validationAttr))
			}
		}
		for _, want := range validationAttr {
			if inner.Body.Attributes[want] == nil {
				d.add(inner.DefRange(), path, "a validation block needs %s", want)
			}
		}
		for _, b := range inner.Body.Blocks {
			d.add(b.TypeRange, path, "unsupported block type %q in validation", b.Type)
		}
		v.validations = append(v.validations, inner)
	}
	if a := blk.Body.Attributes["type"]; a != nil {
		ty, defaults, diags := typeexpr.TypeConstraintWithDefaults(a.Expr)
		if diags.HasErrors() {
			d.addDiags(diags, path)
			v.failed = true
			return v
		}
		v.ty, v.defaults = ty, defaults
	}
	if a := blk.Body.Attributes["default"]; a != nil {
		val, ok := d.evalCty(a.Expr, constCtx, path)
		switch {
		case !ok:
			v.failed = true
		case !val.IsNull():
			d.setVar(v, val, a.Expr.Range(), "default")
		}
	}
	return v
}

// undeclaredMessage is the message for a value given to a variable name
// that none of declared is: by -var, or in a var file.
func undeclaredMessage(name string, inFile bool, declared []string) string {
	if inFile {
		return fmt.Sprintf("variable %q is not declared by a variable block%s", name, didYouMean(name, declared))
	}
	return fmt.Sprintf("-var sets %q, which is not declared by a variable block%s", name, didYouMean(name, declared))
}

func varNames(vs []*hclVariable) []string {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.name
	}
	return names
}

// setVarString sets v from a string given on the command line or in the
// environment: a primitive type takes the string as is (converted), a
// collection or structural type reads it as an HCL expression, as
// Terraform does ('-var ports=["80:80"]').
func (d *hclDecoder) setVarString(v *hclVariable, s, source string) {
	val := cty.StringVal(s)
	if !v.ty.IsPrimitiveType() && v.ty != cty.DynamicPseudoType {
		expr, diags := hclsyntax.ParseExpression([]byte(s), source, hcl.InitialPos)
		if diags.HasErrors() {
			d.problems = append(d.problems, Problem{Path: "var." + v.name, Message: fmt.Sprintf("invalid value for variable %q from %s: %s", v.name, source, firstDetail(diags))})
			return
		}
		if val, diags = expr.Value(nil); diags.HasErrors() {
			d.problems = append(d.problems, Problem{Path: "var." + v.name, Message: fmt.Sprintf("invalid value for variable %q from %s: %s", v.name, source, firstDetail(diags))})
			return
		}
	}
	d.setVar(v, val, hcl.Range{}, source)
}

func firstDetail(diags hcl.Diagnostics) string {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			if d.Detail != "" {
				return strings.TrimSuffix(d.Detail, ".")
			}
			return d.Summary
		}
	}
	return ""
}

// setVar converts val to v's type and sets it, reporting a mismatch at
// where (a range in a file, or none for -var and the environment).
func (d *hclDecoder) setVar(v *hclVariable, val cty.Value, where hcl.Range, source string) {
	if v.defaults != nil {
		val = v.defaults.Apply(val)
	}
	conv, err := convert.Convert(val, v.ty)
	if err != nil {
		v.failed = true
		msg := fmt.Sprintf("invalid value for variable %q: %s", v.name, convertMessage(err))
		if where.Filename == "" {
			d.problems = append(d.problems, Problem{Path: "var." + v.name, Message: msg + " (from " + source + ")"})
		} else {
			d.add(where, "var."+v.name, "%s", msg)
		}
		return
	}
	v.value, v.set, v.failed, v.from, v.source = conv, true, false, where, source
}

// convertMessage says what is wrong with a value that does not convert to
// ty, naming the element at fault ("[1]: a number is required").
func convertMessage(err error) string {
	var pe cty.PathError
	if !errors.As(err, &pe) || len(pe.Path) == 0 {
		return err.Error()
	}
	var b strings.Builder
	for _, step := range pe.Path {
		switch s := step.(type) {
		case cty.GetAttrStep:
			b.WriteString("." + s.Name)
		case cty.IndexStep:
			if s.Key.Type() == cty.String {
				fmt.Fprintf(&b, "[%q]", s.Key.AsString())
			} else if s.Key.Type() == cty.Number {
				b.WriteString("[" + s.Key.AsBigFloat().Text('f', -1) + "]")
			}
		}
	}
	return strings.TrimPrefix(b.String(), ".") + ": " + err.Error()
}

// varFile reads one -var-file: HCL attributes name = value, constants
// only (functions allowed, no references).
func (d *hclDecoder) varFile(path string, decls map[string]*hclVariable, order []*hclVariable) {
	d.readFile(path)
	src, err := os.ReadFile(path)
	if err != nil {
		msg := err.Error()
		if errors.Is(err, fs.ErrNotExist) {
			msg = "no such file"
		}
		d.problems = append(d.problems, Problem{File: path, Message: "read variable file: " + msg})
		return
	}
	file, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		d.addDiags(diags, "")
		return
	}
	body := file.Body.(*hclsyntax.Body)
	for _, b := range body.Blocks {
		d.add(b.TypeRange, "", "a variable file holds only name = value lines, not blocks")
	}
	constCtx := &hcl.EvalContext{Functions: d.ctx.Functions}
	for _, a := range sortedAttrs(body) {
		v := decls[a.Name]
		if v == nil {
			r := a.NameRange
			d.undeclared = append(d.undeclared, Problem{
				File: r.Filename, Line: r.Start.Line, Column: r.Start.Column, Path: "var." + a.Name,
				Message: undeclaredMessage(a.Name, true, varNames(order)),
			})
			continue
		}
		if val, ok := d.evalCty(a.Expr, constCtx, "var."+a.Name); ok {
			d.setVar(v, val, a.Expr.Range(), path)
		}
	}
}

// validate runs every validation block of every variable whose value is
// known, with all variables in scope.
func (d *hclDecoder) validate(order []*hclVariable) {
	ctx := &hcl.EvalContext{
		Functions: d.ctx.Functions,
		Variables: map[string]cty.Value{"var": cty.ObjectVal(d.vars)},
	}
	for _, v := range order {
		if v.failed || !v.set && v.block.Body.Attributes["default"] == nil {
			continue
		}
		path := "var." + v.name
		for _, vb := range v.validations {
			cond, msg := vb.Body.Attributes["condition"], vb.Body.Attributes["error_message"]
			if cond == nil || msg == nil {
				continue
			}
			res, ok := d.evalCty(cond.Expr, ctx, path)
			if !ok {
				continue
			}
			if res.IsNull() || res.Type() != cty.Bool {
				d.add(cond.Expr.Range(), path, "a validation condition must be true or false")
				continue
			}
			if res.True() {
				continue
			}
			text := "the value is not valid"
			if m, ok := d.evalCty(msg.Expr, ctx, path); ok && !m.IsNull() {
				if ms, err := convert.Convert(m, cty.String); err == nil {
					text = ms.AsString()
				}
			}
			where := v.from
			if where.Filename == "" || v.source == "default" {
				where = cond.Expr.Range()
			}
			suffix := ""
			if v.source != "" && v.source != "default" && v.from.Filename == "" {
				suffix = " (from " + v.source + ")"
			}
			d.add(where, path, "invalid value for variable %q: %s%s", v.name, text, suffix)
		}
	}
}

// locals evaluates every locals block, in dependency order.
func (d *hclDecoder) locals(body *hclsyntax.Body) {
	d.localVals = map[string]cty.Value{}
	pending := map[string]*hclsyntax.Attribute{}
	var names []string
	for _, blk := range body.Blocks {
		if blk.Type != "locals" {
			continue
		}
		if len(blk.Labels) > 0 {
			d.add(blk.LabelRanges[0], "", "a locals block has no label: write locals { ... }")
		}
		for _, b := range blk.Body.Blocks {
			d.add(b.TypeRange, "", "a locals block holds only name = value lines, not blocks")
		}
		for _, a := range sortedAttrs(blk.Body) {
			if prev := pending[a.Name]; prev != nil {
				d.add(a.NameRange, "local."+a.Name, "duplicate local value %q; the first is at line %d", a.Name, prev.NameRange.Start.Line)
				continue
			}
			pending[a.Name] = a
			names = append(names, a.Name)
		}
	}
	placeholder := map[string]cty.Value{}
	for _, n := range names {
		placeholder[n] = cty.DynamicVal
	}
	done := map[string]bool{}
	for progress := true; progress; {
		progress = false
		for _, n := range names {
			if done[n] {
				continue
			}
			a := pending[n]
			ready := true
			for _, tr := range a.Expr.Variables() {
				if tr.RootName() != "local" || len(tr) < 2 {
					continue
				}
				if step, ok := tr[1].(hcl.TraverseAttr); ok && pending[step.Name] != nil && !done[step.Name] {
					ready = false
				}
			}
			if !ready {
				continue
			}
			d.localVals[n] = d.evalLocal(a, placeholder)
			done[n] = true
			progress = true
		}
	}
	for _, n := range names {
		if !done[n] {
			d.add(pending[n].NameRange, "local."+n, "local value %q depends on itself (through other locals)", n)
			d.localVals[n] = cty.DynamicVal
		}
	}
}

func (d *hclDecoder) evalLocal(a *hclsyntax.Attribute, all map[string]cty.Value) cty.Value {
	// Every local is visible (so a misspelt name gets a suggestion); the
	// ones not yet evaluated are never referenced at this point.
	scope := map[string]cty.Value{}
	for k, v := range all {
		scope[k] = v
	}
	for k, v := range d.localVals {
		scope[k] = v
	}
	ctx := &hcl.EvalContext{
		Functions: d.ctx.Functions,
		Variables: map[string]cty.Value{"var": cty.ObjectVal(d.vars), "local": cty.ObjectVal(scope)},
	}
	v, ok := d.evalCty(a.Expr, ctx, "local."+a.Name)
	if !ok {
		return cty.DynamicVal
	}
	return v
}
