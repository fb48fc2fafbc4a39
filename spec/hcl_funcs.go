package spec

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	"go.yaml.in/yaml/v4"
)

// hclFunctions is the function table of a stack file: go-cty's standard
// library under Terraform's names, plus file functions reading relative to
// dir and env() reading the environment through lookupEnv (never the
// process environment).
//
// Every path a file function reads is passed to read first, so the caller
// knows the files the result depends on; lookupEnv likewise tells the
// caller which variables were read.
func hclFunctions(dir string, lookupEnv func(name string) (string, bool), read func(path string)) map[string]function.Function {
	fns := map[string]function.Function{
		// strings
		"chomp":        stdlib.ChompFunc,
		"endswith":     endsWithFunc,
		"format":       stdlib.FormatFunc,
		"formatlist":   stdlib.FormatListFunc,
		"indent":       stdlib.IndentFunc,
		"join":         stdlib.JoinFunc,
		"lower":        stdlib.LowerFunc,
		"regex":        stdlib.RegexFunc,
		"regexall":     stdlib.RegexAllFunc,
		"regexreplace": stdlib.RegexReplaceFunc,
		"replace":      stdlib.ReplaceFunc,
		"split":        stdlib.SplitFunc,
		"startswith":   startsWithFunc,
		"strcontains":  strContainsFunc,
		"strlen":       stdlib.StrlenFunc,
		"strrev":       stdlib.ReverseFunc,
		"substr":       stdlib.SubstrFunc,
		"title":        stdlib.TitleFunc,
		"trim":         stdlib.TrimFunc,
		"trimprefix":   stdlib.TrimPrefixFunc,
		"trimspace":    stdlib.TrimSpaceFunc,
		"trimsuffix":   stdlib.TrimSuffixFunc,
		"upper":        stdlib.UpperFunc,
		// collections
		"chunklist":       stdlib.ChunklistFunc,
		"coalesce":        stdlib.CoalesceFunc,
		"coalescelist":    stdlib.CoalesceListFunc,
		"compact":         stdlib.CompactFunc,
		"concat":          stdlib.ConcatFunc,
		"contains":        stdlib.ContainsFunc,
		"distinct":        stdlib.DistinctFunc,
		"element":         stdlib.ElementFunc,
		"flatten":         stdlib.FlattenFunc,
		"keys":            stdlib.KeysFunc,
		"length":          stdlib.LengthFunc,
		"lookup":          stdlib.LookupFunc,
		"merge":           stdlib.MergeFunc,
		"range":           stdlib.RangeFunc,
		"reverse":         stdlib.ReverseListFunc,
		"setintersection": stdlib.SetIntersectionFunc,
		"setproduct":      stdlib.SetProductFunc,
		"setsubtract":     stdlib.SetSubtractFunc,
		"setunion":        stdlib.SetUnionFunc,
		"slice":           stdlib.SliceFunc,
		"sort":            stdlib.SortFunc,
		"values":          stdlib.ValuesFunc,
		"zipmap":          stdlib.ZipmapFunc,
		// numbers
		"abs":      stdlib.AbsoluteFunc,
		"ceil":     stdlib.CeilFunc,
		"floor":    stdlib.FloorFunc,
		"log":      stdlib.LogFunc,
		"max":      stdlib.MaxFunc,
		"min":      stdlib.MinFunc,
		"parseint": stdlib.ParseIntFunc,
		"pow":      stdlib.PowFunc,
		"signum":   stdlib.SignumFunc,
		// encoding
		"base64decode": base64DecodeFunc,
		"base64encode": base64EncodeFunc,
		"csvdecode":    stdlib.CSVDecodeFunc,
		"jsondecode":   stdlib.JSONDecodeFunc,
		"jsonencode":   stdlib.JSONEncodeFunc,
		"yamldecode":   yamlDecodeFunc,
		"yamlencode":   yamlEncodeFunc,
		"md5":          hashFunc(md5.New),
		"sha1":         hashFunc(sha1.New),
		"sha256":       hashFunc(sha256.New),
		// networks
		"cidrhost":    cidrHostFunc,
		"cidrnetmask": cidrNetmaskFunc,
		"cidrsubnet":  cidrSubnetFunc,
		// dates (pure: no timestamp())
		"formatdate": stdlib.FormatDateFunc,
		"timeadd":    stdlib.TimeAddFunc,
		// types
		"can":      tryfunc.CanFunc,
		"tobool":   stdlib.MakeToFunc(cty.Bool),
		"tolist":   stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tomap":    stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"tonumber": stdlib.MakeToFunc(cty.Number),
		"toset":    stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tostring": stdlib.MakeToFunc(cty.String),
		"try":      tryfunc.TryFunc,
		// files and environment
		"env":        envFunc(lookupEnv),
		"file":       fileFunc(dir, false, read),
		"filebase64": fileFunc(dir, true, read),
		"fileexists": fileExistsFunc(dir, read),
	}
	// templatefile sees every other function, but not itself.
	fns["templatefile"] = templateFileFunc(dir, fns, read)
	return fns
}

func stringPredicate(f func(s, x string) bool, second string) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "str", Type: cty.String}, {Name: second, Type: cty.String}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.BoolVal(f(args[0].AsString(), args[1].AsString())), nil
		},
	})
}

var (
	startsWithFunc  = stringPredicate(strings.HasPrefix, "prefix")
	endsWithFunc    = stringPredicate(strings.HasSuffix, "suffix")
	strContainsFunc = stringPredicate(strings.Contains, "substr")
)

func stringFunc(param string, f func(string) (string, error)) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: param, Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			s, err := f(args[0].AsString())
			if err != nil {
				return cty.UnknownVal(cty.String), err
			}
			return cty.StringVal(s), nil
		},
	})
}

var (
	base64EncodeFunc = stringFunc("str", func(s string) (string, error) {
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	})
	base64DecodeFunc = stringFunc("str", func(s string) (string, error) {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return "", fmt.Errorf("invalid base64: %w", err)
		}
		if !utf8.Valid(b) {
			return "", errors.New("the decoded bytes are not UTF-8")
		}
		return string(b), nil
	})
)

func hashFunc(h func() hash.Hash) function.Function {
	return stringFunc("str", func(s string) (string, error) {
		sum := h()
		sum.Write([]byte(s))
		return hex.EncodeToString(sum.Sum(nil)), nil
	})
}

var yamlEncodeFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "value", Type: cty.DynamicPseudoType, AllowNull: true}},
	Type:   function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		data, err := ctyToNative(args[0])
		if err != nil {
			return cty.UnknownVal(cty.String), err
		}
		out, err := yaml.Marshal(data)
		if err != nil {
			return cty.UnknownVal(cty.String), err
		}
		return cty.StringVal(string(out)), nil
	},
})

// ctyToNative is ctyToPlain without the "$" escaping, for encoders.
func ctyToNative(v cty.Value) (any, error) {
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}

var yamlDecodeFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "src", Type: cty.String}},
	Type: func(args []cty.Value) (cty.Type, error) {
		if !args[0].IsKnown() {
			return cty.DynamicPseudoType, nil
		}
		b, err := yamlToJSON(args[0].AsString())
		if err != nil {
			return cty.NilType, err
		}
		return ctyjson.ImpliedType(b)
	},
	Impl: func(args []cty.Value, ty cty.Type) (cty.Value, error) {
		b, err := yamlToJSON(args[0].AsString())
		if err != nil {
			return cty.NilVal, err
		}
		return ctyjson.Unmarshal(b, ty)
	},
})

func yamlToJSON(s string) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("YAML value has no JSON equivalent: %w", err)
	}
	return b, nil
}

// envFunc is env(name) or env(name, default). Without a default, an unset
// variable is an error rather than an empty string: a typo should not
// silently configure a service.
func envFunc(lookupEnv func(string) (string, bool)) function.Function {
	return function.New(&function.Spec{
		Params:   []function.Parameter{{Name: "name", Type: cty.String}},
		VarParam: &function.Parameter{Name: "default", Type: cty.String},
		Type:     function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if len(args) > 2 {
				return cty.UnknownVal(cty.String), function.NewArgErrorf(2, "env takes a name and at most one default")
			}
			name := args[0].AsString()
			if v, ok := lookupEnv(name); ok {
				return cty.StringVal(v), nil
			}
			if len(args) == 2 {
				return args[1], nil
			}
			return cty.UnknownVal(cty.String), fmt.Errorf("environment variable %s is not set; give a default with env(%q, \"\")", name, name)
		},
	})
}

func hclPathIn(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

func fileFunc(dir string, b64 bool, read func(string)) function.Function {
	return stringFunc("path", func(p string) (string, error) {
		read(hclPathIn(dir, p))
		b, err := os.ReadFile(hclPathIn(dir, p))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("no file exists at %s", hclPathIn(dir, p))
			}
			return "", err
		}
		if b64 {
			return base64.StdEncoding.EncodeToString(b), nil
		}
		if !utf8.Valid(b) {
			return "", fmt.Errorf("%s is not UTF-8 text; use filebase64", p)
		}
		return string(b), nil
	})
}

func fileExistsFunc(dir string, read func(string)) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			read(hclPathIn(dir, args[0].AsString()))
			fi, err := os.Stat(hclPathIn(dir, args[0].AsString()))
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return cty.False, nil
				}
				return cty.UnknownVal(cty.Bool), err
			}
			return cty.BoolVal(fi.Mode().IsRegular()), nil
		},
	})
}

// templateFileFunc renders a file as an HCL template with the given
// variables (and no others) in scope.
func templateFileFunc(dir string, fns map[string]function.Function, read func(string)) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{
			{Name: "path", Type: cty.String},
			{Name: "vars", Type: cty.DynamicPseudoType},
		},
		Type: function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			p := args[0].AsString()
			read(hclPathIn(dir, p))
			src, err := os.ReadFile(hclPathIn(dir, p))
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return cty.UnknownVal(cty.String), fmt.Errorf("no file exists at %s", hclPathIn(dir, p))
				}
				return cty.UnknownVal(cty.String), err
			}
			vars := args[1]
			if !vars.Type().IsObjectType() && !vars.Type().IsMapType() {
				return cty.UnknownVal(cty.String), function.NewArgErrorf(1, "vars must be an object or map")
			}
			expr, diags := hclsyntax.ParseTemplate(src, p, hcl.InitialPos)
			if diags.HasErrors() {
				return cty.UnknownVal(cty.String), errors.New(diags.Error())
			}
			ctx := &hcl.EvalContext{Functions: fns, Variables: vars.AsValueMap()}
			v, diags := expr.Value(ctx)
			if diags.HasErrors() {
				return cty.UnknownVal(cty.String), errors.New(diags.Error())
			}
			s, err := stdlib.MakeToFunc(cty.String).Call([]cty.Value{v})
			if err != nil {
				return cty.UnknownVal(cty.String), fmt.Errorf("template result: %w", err)
			}
			return s, nil
		},
	})
}
