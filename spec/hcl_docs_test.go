package spec

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

var fencedBlock = regexp.MustCompile("(?s)```(hcl|yaml)\n(.*?)```")

// The reference must not show HCL that does not parse, and its first
// example pair must mean the same stack in both formats.
func TestHCLDocs(t *testing.T) {
	doc, err := os.ReadFile("../docs/hcl.md")
	if err != nil {
		t.Fatal(err)
	}
	var firstHCL, firstYAML string
	for i, m := range fencedBlock.FindAllStringSubmatch(string(doc), -1) {
		if m[1] == "yaml" {
			if firstYAML == "" {
				firstYAML = m[2]
			}
			continue
		}
		if firstHCL == "" {
			firstHCL = m[2]
		}
		if _, diags := hclsyntax.ParseConfig([]byte(m[2]), "block", hcl.InitialPos); diags.HasErrors() {
			t.Errorf("hcl block %d does not parse: %v\n%s", i, diags, m[2])
		}
	}
	dir := t.TempDir()
	load := func(name, content string) *types.Project {
		t.Helper()
		sub := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Join(sub, "html"), 0o755); err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(sub, name)
		if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := Load(t.Context(), Options{Files: []string{f}, WorkingDir: dir, Env: map[string]string{}})
		if err != nil {
			t.Fatalf("load the first %s example: %v", name, err)
		}
		return p
	}
	y, h := load("compose.yaml", firstYAML), load("stack.hcl", firstHCL)
	opts := cmp.Options{
		cmpopts.IgnoreFields(types.Project{}, "ComposeFiles"),
		cmpopts.IgnoreUnexported(types.ConfigObjConfig{}, types.SecretConfig{}),
		cmpopts.EquateEmpty(),
	}
	if diff := cmp.Diff(y, h, opts); diff != "" {
		t.Errorf("the first YAML and HCL examples differ (-yaml +hcl):\n%s", diff)
	}
}
