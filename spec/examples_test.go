package spec

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func init() {
	// Another test file of the package may define -update first (package
	// variables are initialised before init functions run); share it.
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// checkGolden compares got with the golden file, or rewrites it with
// -update.
func checkGolden(t *testing.T, golden string, got []byte) {
	t.Helper()
	if updateGolden() {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", golden, diff)
	}
}

// TestExamples loads every examples/NAME from compose.yaml and from
// stack.hcl: both must give the same normalised model, which must match
// testdata/hcl/examples/NAME.yaml.
func TestExamples(t *testing.T) {
	dirs, err := filepath.Glob("../examples/*/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 5 {
		t.Fatalf("found %d examples, want at least 5", len(dirs))
	}
	for _, f := range dirs {
		dir, err := filepath.Abs(filepath.Dir(f))
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			load := func(file string) *types.Project {
				t.Helper()
				p, err := Load(t.Context(), Options{
					Files: []string{filepath.Join(dir, file)},
					Env:   map[string]string{},
				})
				if err != nil {
					t.Fatalf("load %s: %v", file, err)
				}
				return p
			}
			fromYAML, fromHCL := load("compose.yaml"), load("stack.hcl")
			ignore := cmp.Options{
				cmpopts.IgnoreFields(types.Project{}, "ComposeFiles"),
				cmpopts.IgnoreUnexported(types.ConfigObjConfig{}, types.SecretConfig{}),
			}
			if diff := cmp.Diff(fromYAML, fromHCL, ignore, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("compose.yaml and stack.hcl differ (-yaml +hcl):\n%s", diff)
			}
			out, err := Render(fromHCL, "yaml")
			if err != nil {
				t.Fatal(err)
			}
			out = bytes.ReplaceAll(out, []byte(dir), []byte("/EXAMPLES/"+name))
			checkGolden(t, filepath.Join("testdata", "hcl", "examples", name+".yaml"), out)
		})
	}
}
