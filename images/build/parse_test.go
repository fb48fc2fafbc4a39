package build

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestParse parses every testdata/parse/NAME.Dockerfile and compares the
// parsed stages (or the error) with NAME.golden.
func TestParse(t *testing.T) {
	files, err := filepath.Glob("testdata/parse/*.Dockerfile")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".Dockerfile")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var got string
			df, err := Parse("Dockerfile", src)
			if err != nil {
				if !errdefs.IsInvalidArgument(err) && !errdefs.IsNotImplemented(err) {
					t.Errorf("error %v is not classified", err)
				}
				got = "error: " + err.Error() + "\n"
			} else {
				got = describe(df)
			}
			golden := strings.TrimSuffix(f, ".Dockerfile") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if d := cmp.Diff(string(want), got); d != "" {
				t.Errorf("%s (-want +got):\n%s", name, d)
			}
		})
	}
}

// describe prints the parsed Dockerfile as text, what the parser tests
// compare with their golden files: one block per stage, one line per
// instruction with its line number and BuildKit's fields as JSON.
func describe(df *Dockerfile) string {
	var b strings.Builder
	for _, a := range df.MetaArgs {
		fmt.Fprintf(&b, "meta %d: %s\n", line(a.Location()), a.String())
	}
	for i, s := range df.Stages {
		fmt.Fprintf(&b, "stage %d name=%q base=%q platform=%q line=%d\n", i, s.Name, s.BaseName, s.Platform, line(s.Location))
		for _, c := range s.Commands {
			fields, err := json.Marshal(c)
			if err != nil {
				fields = []byte(err.Error())
			}
			code := ""
			if s, ok := c.(fmt.Stringer); ok {
				code = s.String()
			}
			fmt.Fprintf(&b, "  %d %s: %s\n    %s\n", line(c.Location()), c.Name(), code, fields)
		}
	}
	for _, w := range df.Warnings {
		fmt.Fprintf(&b, "warning %s\n", w)
	}
	return b.String()
}
