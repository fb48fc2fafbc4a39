package main

import (
	"bytes"
	"encoding/csv"
	"strings"

	"github.com/spf13/pflag"
)

// stringArray is pflag's stringArray flag (repeatable, values taken
// whole), minus its start-up cost: pflag renders every default through a
// new encoding/csv writer with a 4 KiB buffer when the flag is registered,
// ~60 times per berth start, a quarter of a MiB of fresh memory whose page
// faults alone cost milliseconds on a VM. Its Type is pflag's, so help
// and cobra's completion treat it the same.
type stringArray struct {
	p       *[]string
	changed bool
}

func (s *stringArray) Set(v string) error {
	if !s.changed {
		*s.p, s.changed = []string{v}, true // the first value replaces the default
		return nil
	}
	*s.p = append(*s.p, v)
	return nil
}

func (s *stringArray) Type() string { return "stringArray" }

// String is pflag's rendering, "[a,b]" with CSV quoting.
func (s *stringArray) String() string {
	if len(*s.p) == 0 {
		return "[]"
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(*s.p)
	w.Flush()
	return "[" + strings.TrimSuffix(b.String(), "\n") + "]"
}

// Append, Replace and GetSlice make it a pflag.SliceValue.
func (s *stringArray) Append(v string) error     { *s.p = append(*s.p, v); return nil }
func (s *stringArray) Replace(vs []string) error { *s.p = vs; return nil }
func (s *stringArray) GetSlice() []string        { return *s.p }

// stringArrayVar is fs.StringArrayVar through stringArray.
func stringArrayVar(fs *pflag.FlagSet, p *[]string, name string, value []string, usage string) {
	stringArrayVarP(fs, p, name, "", value, usage)
}

// stringArrayVarP is fs.StringArrayVarP through stringArray.
func stringArrayVarP(fs *pflag.FlagSet, p *[]string, name, shorthand string, value []string, usage string) {
	*p = value
	fs.VarP(&stringArray{p: p}, name, shorthand, usage)
}
