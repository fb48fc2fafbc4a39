package build

import (
	"flag"
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
				got = df.Describe()
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
