package spec

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestUndeclaredVars: a -var or var-file value for a name no HCL file of
// the stack declares is an error with a suggestion; a name declared by
// any of the stack's files is fine.
func TestUndeclaredVars(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"stack.hcl":          "variable \"port\" {\n  default = 80\n}\nservice \"web\" {\n  image = \"nginx\"\n  ports = [\"${var.port}:80\"]\n}\n",
		"stack.override.hcl": "variable \"replicas\" {\n  default = 1\n}\nservice \"web\" {\n  scale = var.replicas\n}\n",
		"vars.hcl":           "port = 8080\nreplica = 2\n",
		"compose.yaml":       "services:\n  web:\n    image: nginx\n",
	})
	hcl := []string{filepath.Join(dir, "stack.hcl"), filepath.Join(dir, "stack.override.hcl")}
	tests := []struct {
		name    string
		o       Options
		wantErr string
	}{
		{name: "declared in the override", o: Options{Files: hcl, Vars: map[string]string{"replicas": "2", "port": "81"}}},
		{name: "mistyped -var", o: Options{Files: hcl, Vars: map[string]string{"prot": "81"}},
			wantErr: `var.prot: -var sets "prot", which is not declared by a variable block; did you mean "port"?`},
		{name: "mistyped var-file line", o: Options{Files: hcl, VarFiles: []string{filepath.Join(dir, "vars.hcl")}},
			wantErr: `/STACK/vars.hcl:2:1: var.replica: variable "replica" is not declared by a variable block; did you mean "replicas"?`},
		{name: "one file", o: Options{Files: hcl[:1], Vars: map[string]string{"replicas": "2"}},
			wantErr: `var.replicas: -var sets "replicas", which is not declared by a variable block`},
		{name: "YAML only", o: Options{Files: []string{filepath.Join(dir, "compose.yaml")}, Vars: map[string]string{"port": "1"}},
			wantErr: `var.port: -var sets "port", but no stack file is HCL: only HCL stack files have variables`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.Env = map[string]string{}
			p, err := Load(t.Context(), tt.o)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := p.Services["web"].Ports[0].Published; got != "81" {
					t.Errorf("published port %s, want 81", got)
				}
				return
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("got %v, want Problems", err)
			}
			if diff := cmp.Diff(tt.wantErr, strings.ReplaceAll(ps.Error(), dir, "/STACK")); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
