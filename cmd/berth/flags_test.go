package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"
)

// stringArray must parse and render as pflag's own stringArray does.
func TestStringArrayMatchesPflag(t *testing.T) {
	for _, tc := range []struct {
		name string
		def  []string
		args []string
	}{
		{"unset", nil, nil},
		{"repeated", nil, []string{"-e", "A=1", "--env", "B=2,3"}},
		{"quoted", nil, []string{"-e", `C="x y"`}},
		{"default replaced", []string{"d"}, []string{"-e", "e"}},
		{"default kept", []string{"d", "f"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ours, theirs []string
			a := pflag.NewFlagSet("a", pflag.ContinueOnError)
			stringArrayVarP(a, &ours, "env", "e", tc.def, "")
			b := pflag.NewFlagSet("b", pflag.ContinueOnError)
			b.StringArrayVarP(&theirs, "env", "e", tc.def, "")
			if err := a.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if err := b.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(theirs, ours); diff != "" {
				t.Errorf("values (-pflag +ours):\n%s", diff)
			}
			fa, fb := a.Lookup("env"), b.Lookup("env")
			if fa.Value.String() != fb.Value.String() || fa.DefValue != fb.DefValue || fa.Value.Type() != fb.Value.Type() {
				t.Errorf("rendering: ours %q/%q/%s, pflag %q/%q/%s", fa.Value, fa.DefValue, fa.Value.Type(), fb.Value, fb.DefValue, fb.Value.Type())
			}
			got, err := a.GetStringArray("env")
			want, _ := b.GetStringArray("env")
			if err != nil || !cmp.Equal(got, want) {
				t.Errorf("GetStringArray = %q, %v; want %q", got, err, want)
			}
		})
	}
}
