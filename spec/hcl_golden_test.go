package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHCLGolden decodes every testdata/hcl/NAME.hcl and compares with
// NAME.golden: the decoded data as JSON and the model compose-go makes of
// it through Load (all profiles enabled), or the problems. BERTH_VAR_env=test is set, so is HOME.
func TestHCLGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/hcl/*.hcl")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"BERTH_VAR_env": "test", "HOME": "/home/test"}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".hcl")
		t.Run(name, func(t *testing.T) {
			abs, err := filepath.Abs(f)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Dir(abs) + "/"
			var out bytes.Buffer
			src := mustRead(t, abs)
			data, err := decodeHCL(abs, src, HCLInput{Env: env})
			if err != nil {
				var ps Problems
				if !errors.As(err, &ps) {
					t.Fatalf("got %T, want Problems: %v", err, err)
				}
				out.WriteString("# problems\n" + strings.ReplaceAll(err.Error(), dir, "") + "\n")
				checkGolden(t, strings.TrimSuffix(f, ".hcl")+".golden", out.Bytes())
				return
			}
			b, err := json.MarshalIndent(data, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			out.WriteString("# data\n")
			out.Write(b)
			out.WriteString("\n# model\n")
			p, err := Load(t.Context(), Options{Files: []string{abs}, Env: env, Profiles: []string{"*"}})
			if err != nil {
				out.WriteString("# problems\n" + strings.ReplaceAll(err.Error(), dir, "") + "\n")
			} else {
				y, err := Render(p, "yaml")
				if err != nil {
					t.Fatal(err)
				}
				y = bytes.ReplaceAll(y, []byte(dir), nil)
				// A build context of the stack's own folder renders as that
				// folder; keep the golden independent of the checkout's path.
				out.Write(bytes.ReplaceAll(y, []byte(filepath.Dir(abs)), []byte("<dir>")))
			}
			checkGolden(t, strings.TrimSuffix(f, ".hcl")+".golden", out.Bytes())
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
