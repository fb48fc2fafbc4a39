package spec

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// HCLInput is what decoding an HCL stack file may read besides its source:
// variable values from -var, -var-file and BERTH_VAR_name, and the environment
// for the env() function. Everything is passed in; the decoder reads no
// global state.
type HCLInput struct {
	Vars     map[string]string // -var name=value, highest precedence
	VarFiles []string          // -var-file paths, in order
	Env      map[string]string // the environment (BERTH_VAR_name and env())
}

// decodeHCL evaluates one HCL stack file to the plain data of a Compose file
// (maps, slices, strings, numbers, bools), ready for compose-go's loader as
// types.ConfigFile.Config. Problems are returned as Problems with positions.
//
// See decodeHCLFile for the contract of the data.
//
// Unlike decodeHCLFile, it treats the file as the only HCL file of the
// stack: a -var or -var-file value for a variable it does not declare is a
// problem.
func decodeHCL(filename string, src []byte, in HCLInput) (map[string]any, error) {
	r, err := decodeHCLFile(filename, src, in)
	if len(r.Undeclared) > 0 {
		var ps Problems
		errors.As(err, &ps)
		return r.Data, append(ps, r.Undeclared...).sorted()
	}
	return r.Data, err
}

// hclDecoded is everything decoding one HCL stack file produces.
type hclDecoded struct {
	// Data is what a YAML parser would produce for the equivalent
	// compose.yaml: map[string]any, []any, string, int, float64, bool and
	// nil. Every string has its "$" doubled ("$$"), because compose-go
	// interpolates the data it is given while HCL stack files do their own
	// interpolation with ${...}: so a "$" in an HCL string reaches the model
	// as a literal "$" when the loader interpolates (the default); with
	// interpolation skipped (--no-interpolate) it shows as "$$", as YAML's
	// "$$" does.
	Data map[string]any
	// Sources says where each value of Data was set; see hclSourceMap.
	Sources hclSourceMap
	// Files are the other files the result depends on, as given or resolved
	// against the stack file's directory, in the order first read: the
	// -var-files, and what file(), filebase64(), fileexists() and
	// templatefile() read. A watcher or cache must consider them too.
	Files []string
	// EnvVars are the environment variables the result depends on, set or
	// not: those env() read and BERTH_VAR_name of every declared variable.
	EnvVars []string
	// Variables are the names of the variables the file declares.
	Variables []string
	// Undeclared are the problems of -var and -var-file values for names
	// this file declares no variable for ("var.NAME" in Path). They are not
	// in the error: with several HCL files (stack.hcl and
	// stack.override.hcl) a value may be meant for another file. Report
	// those whose name no HCL file of the stack declares.
	Undeclared Problems
}

// decodeHCLFile is decodeHCL that also returns where each value came from
// (so a problem compose-go finds in the data, in validation or
// normalisation, can be reported at the HCL line that set it) and which
// other files were read.
//
// Every problem found is returned at once, as Problems sorted by position,
// each with the file, line, column and the model path it concerns. With
// problems, Data and Sources may be partial (do not load them) but Files is
// complete for what was read; after a syntax error Data and Sources are nil.
func decodeHCLFile(filename string, src []byte, in HCLInput) (hclDecoded, error) {
	file, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	d := &hclDecoder{dir: filepath.Dir(filename), in: in, sources: hclSourceMap{}}
	if diags.HasErrors() {
		d.addDiags(diags, "")
		return hclDecoded{Files: d.files}, d.problems.sorted()
	}
	shape, err := composeShape()
	if err != nil {
		return hclDecoded{}, err
	}
	body := file.Body.(*hclsyntax.Body)
	d.ctx = &hcl.EvalContext{Functions: hclFunctions(d.dir, d.lookupEnv, d.readFile)}
	d.variables(body)
	d.locals(body)
	d.ctx.Variables = map[string]cty.Value{
		"var":   cty.ObjectVal(d.vars),
		"local": cty.ObjectVal(d.localVals),
	}
	data := d.body(body, shape, "", "the stack file", map[string]bool{"variable": true, "locals": true})
	r := hclDecoded{Data: data, Sources: d.sources, Files: d.files, EnvVars: d.envVars, Variables: d.declared, Undeclared: d.undeclared.sorted()}
	if len(d.problems) > 0 {
		return r, d.problems.sorted()
	}
	return r, nil
}

// hclSourceMap says where in the HCL file each value of the decoded data was
// set. Keys are model paths: map keys joined with ".", list indexes in
// brackets, e.g. "services.web.ports[1]", "services.web.environment.FOO",
// "networks.front.ipam.config[0].subnet", "name". Each value is the range of
// the expression that produced it, or for a block the block's header
// (`service "web"`, `port`). Values computed by a function or a reference
// have no entries below the expression that computed them; use Lookup,
// which falls back to the nearest recorded ancestor.
type hclSourceMap map[string]hcl.Range

// Lookup returns the range recorded for path or for its nearest ancestor
// ("services.web.ports[1].target" falls back to "services.web.ports[1]",
// then "services.web.ports", then "services.web"), and the path it found.
func (m hclSourceMap) Lookup(path string) (hcl.Range, string, bool) {
	for path != "" {
		if r, ok := m[path]; ok {
			return r, path, true
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return hcl.Range{}, "", false
}

// hclDecoder holds the state of decoding one file.
type hclDecoder struct {
	dir        string
	in         HCLInput
	ctx        *hcl.EvalContext
	vars       map[string]cty.Value
	localVals  map[string]cty.Value
	problems   Problems
	undeclared Problems // see hclDecoded.Undeclared
	sources    hclSourceMap
	files      []string
	envVars    []string // see hclDecoded.EnvVars
	declared   []string // see hclDecoded.Variables
}

// lookupEnv reads a variable of the environment, noting that it was read.
func (d *hclDecoder) lookupEnv(name string) (string, bool) {
	if !slices.Contains(d.envVars, name) {
		d.envVars = append(d.envVars, name)
	}
	v, ok := d.in.Env[name]
	return v, ok
}

// readFile notes that path was read (or looked at).
func (d *hclDecoder) readFile(path string) {
	if !slices.Contains(d.files, path) {
		d.files = append(d.files, path)
	}
}

func (d *hclDecoder) add(r hcl.Range, path, format string, args ...any) {
	d.problems = append(d.problems, Problem{
		File:    r.Filename,
		Line:    r.Start.Line,
		Column:  r.Start.Column,
		Path:    path,
		Message: fmt.Sprintf(format, args...),
	})
}

// addDiags turns HCL's diagnostics into problems. Errors only: HCL's
// warnings are not problems.
func (d *hclDecoder) addDiags(diags hcl.Diagnostics, path string) {
	for _, diag := range diags {
		if diag.Severity != hcl.DiagError {
			continue
		}
		msg := strings.TrimSuffix(diag.Detail, ".")
		if msg == "" {
			msg = diag.Summary
		}
		p := Problem{Path: path, Message: msg}
		if diag.Subject != nil {
			p.File = diag.Subject.Filename
			p.Line = diag.Subject.Start.Line
			p.Column = diag.Subject.Start.Column
		}
		d.problems = append(d.problems, p)
	}
}

// sorted sorts problems by position and drops exact repeats (a dynamic
// block repeats the problems of its content for every element).
func (ps Problems) sorted() Problems {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return slices.Compact(ps)
}
