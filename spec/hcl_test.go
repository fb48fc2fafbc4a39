package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// hclCase is one decodeHCL test: a stack file (written as stack.hcl in a
// temporary directory with the other files), its input, and either the
// data or the exact problems (paths relative to that directory).
type hclCase struct {
	name    string
	src     string
	files   map[string]string // other files in the directory
	in      HCLInput          // VarFiles are relative to the directory
	want    map[string]any
	wantErr string
}

func runHCLCases(t *testing.T, cases []hclCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			in := tc.in
			in.VarFiles = nil
			for _, f := range tc.in.VarFiles {
				in.VarFiles = append(in.VarFiles, filepath.Join(dir, f))
			}
			got, err := decodeHCL(filepath.Join(dir, "stack.hcl"), []byte(tc.src), in)
			if tc.wantErr != "" {
				var ps Problems
				if !errors.As(err, &ps) {
					t.Fatalf("got error %v (%T), want Problems:\n%s", err, err, tc.wantErr)
				}
				got := strings.ReplaceAll(err.Error(), dir+"/", "")
				if diff := cmp.Diff(tc.wantErr, got); diff != "" {
					t.Errorf("problems differ (-want +got):\n%s\ngot:\n%s", diff, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error:\n%v", strings.ReplaceAll(err.Error(), dir+"/", ""))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("data differs (-want +got):\n%s", diff)
			}
		})
	}
}

func svc(name string, m map[string]any) map[string]any {
	return map[string]any{"services": map[string]any{name: m}}
}

const portVar = `
variable "port" {
  type    = number
  default = 80
}
service "web" {
  image = "nginx"
  ports = ["${var.port}:80"]
}
`

func webPort(p string) map[string]any {
	return svc("web", map[string]any{"image": "nginx", "ports": []any{p + ":80"}})
}

func TestDecodeHCLVariables(t *testing.T) {
	runHCLCases(t, []hclCase{
		{name: "default", src: portVar, want: webPort("80")},
		{
			name: "env over default",
			src:  portVar,
			in:   HCLInput{Env: map[string]string{"BERTH_VAR_port": "81"}},
			want: webPort("81"),
		},
		{
			name:  "var-file over env, later var-file wins",
			src:   portVar,
			files: map[string]string{"a.hcl": "port = 82\n", "b.hcl": "port = 83\n"},
			in:    HCLInput{Env: map[string]string{"BERTH_VAR_port": "81"}, VarFiles: []string{"a.hcl", "b.hcl"}},
			want:  webPort("83"),
		},
		{
			name:  "-var over everything",
			src:   portVar,
			files: map[string]string{"a.hcl": "port = 82\n"},
			in: HCLInput{
				Env:      map[string]string{"BERTH_VAR_port": "81"},
				VarFiles: []string{"a.hcl"},
				Vars:     map[string]string{"port": "84"},
			},
			want: webPort("84"),
		},
		{
			name: "undeclared BERTH_VAR is ignored",
			src:  portVar,
			in:   HCLInput{Env: map[string]string{"BERTH_VAR_other": "x"}},
			want: webPort("80"),
		},
		{
			name: "complex type from -var is an HCL expression",
			src: `
variable "ports" {
  type = list(string)
}
variable "env" {
  type    = map(string)
  default = {}
}
service "web" {
  image       = "nginx"
  ports       = var.ports
  environment = var.env
}
`,
			in: HCLInput{Vars: map[string]string{"ports": `["80:80", "443:443"]`, "env": `{A = "1"}`}},
			want: svc("web", map[string]any{
				"image": "nginx", "ports": []any{"80:80", "443:443"},
				"environment": map[string]any{"A": "1"},
			}),
		},
		{
			name: "object type with optional attributes and defaults",
			src: `
variable "db" {
  type = object({
    image = string
    port  = optional(number, 5432)
  })
  default = { image = "postgres" }
}
service "db" {
  image = var.db.image
  expose = [var.db.port]
}
`,
			want: svc("db", map[string]any{"image": "postgres", "expose": []any{5432}}),
		},
		{
			name: "untyped variable takes strings as they are",
			src: `
variable "tag" {}
service "web" {
  image = "nginx:${var.tag}"
}
`,
			in:   HCLInput{Vars: map[string]string{"tag": "1.27"}},
			want: svc("web", map[string]any{"image": "nginx:1.27"}),
		},
		{
			name: "null default leaves the attribute unset",
			src: `
variable "user" {
  type    = string
  default = null
}
service "web" {
  image = "nginx"
  user  = var.user
}
`,
			want: svc("web", map[string]any{"image": "nginx"}),
		},
		{
			name: "validation passes",
			src: `
variable "port" {
  type    = number
  default = 8080
  validation {
    condition     = var.port > 1024
    error_message = "The port must be above 1024."
  }
}
service "web" {
  image = "nginx"
  ports = ["${var.port}:80"]
}
`,
			want: webPort("8080"),
		},
	})
}

const validatedPort = `variable "port" {
  type    = number
  default = 80
  validation {
    condition     = var.port > 1024
    error_message = "The port must be above 1024, not ${var.port}."
  }
}
service "web" {
  image = "nginx"
}
`

func TestDecodeHCLVariableProblems(t *testing.T) {
	runHCLCases(t, []hclCase{
		{
			name:    "validation fails for the default",
			src:     validatedPort,
			wantErr: `stack.hcl:5:21: var.port: invalid value for variable "port": The port must be above 1024, not 80.`,
		},
		{
			name:    "validation fails for -var",
			src:     validatedPort,
			in:      HCLInput{Vars: map[string]string{"port": "99"}},
			wantErr: `stack.hcl:5:21: var.port: invalid value for variable "port": The port must be above 1024, not 99. (from -var)`,
		},
		{
			name:    "validation fails for a var-file value, reported there",
			src:     validatedPort,
			files:   map[string]string{"prod.hcl": "\nport = 443\n"},
			in:      HCLInput{VarFiles: []string{"prod.hcl"}},
			wantErr: `prod.hcl:2:8: var.port: invalid value for variable "port": The port must be above 1024, not 443.`,
		},
		{
			name:    "wrong type from -var",
			src:     validatedPort,
			in:      HCLInput{Vars: map[string]string{"port": "http"}},
			wantErr: `var.port: invalid value for variable "port": a number is required (from -var)`,
		},
		{
			name:    "wrong type from the environment",
			src:     validatedPort,
			in:      HCLInput{Env: map[string]string{"BERTH_VAR_port": "http"}},
			wantErr: `var.port: invalid value for variable "port": a number is required (from BERTH_VAR_port)`,
		},
		{
			name: "wrong type in a default",
			src: `variable "ports" {
  type    = list(string)
  default = "80:80"
}
`,
			wantErr: `stack.hcl:3:13: var.ports: invalid value for variable "ports": list of string required, but have string`,
		},
		{
			name: "required variable without a value",
			src: `variable "image" {
  type = string
}
service "web" {
  image = var.image
}
`,
			wantErr: `stack.hcl:1:1: var.image: no value for required variable "image": set it with -var image=VALUE, a -var-file or BERTH_VAR_image, or give it a default`,
		},
		{
			name: "invalid type and default are reported once",
			src: `variable "a" {
  type = strin
}
variable "b" {
  default = upper(1, 2)
}
`,
			wantErr: `stack.hcl:2:10: var.a: The keyword "strin" is not a valid type specification
stack.hcl:5:22: var.b: Function "upper" expects only 1 argument(s)`,
		},
		{
			name:    "undeclared -var",
			src:     portVar,
			in:      HCLInput{Vars: map[string]string{"prot": "1"}},
			wantErr: `var.prot: -var sets "prot", which is not declared by a variable block; did you mean "port"?`,
		},
		{
			name:  "undeclared and misspelt in a var-file, and a block",
			src:   portVar,
			files: map[string]string{"v.hcl": "prot = 1\nweb {}\n"},
			in:    HCLInput{VarFiles: []string{"v.hcl"}},
			wantErr: `v.hcl:1:1: var.prot: variable "prot" is not declared by a variable block; did you mean "port"?
v.hcl:2:1: a variable file holds only name = value lines, not blocks`,
		},
		{
			name:    "missing var-file",
			src:     portVar,
			in:      HCLInput{VarFiles: []string{"nope.hcl"}},
			wantErr: `nope.hcl: read variable file: no such file`,
		},
		{
			name: "bad variable blocks",
			src: `variable "a" {
  tpye = string
  default = 1
  check {}
}
variable "a" {}
variable {}
variable "b" {
  validation {
    condition = 1
  }
}
`,
			wantErr: `stack.hcl:2:3: var.a: unsupported attribute "tpye" in variable "a"; did you mean "type"?
stack.hcl:4:3: var.a: unsupported block type "check" in variable "a"
stack.hcl:6:1: var.a: duplicate variable "a"; the first is at line 1
stack.hcl:7:1: a variable block needs exactly one label, its name: variable "NAME" { ... }
stack.hcl:8:1: var.b: no value for required variable "b": set it with -var b=VALUE, a -var-file or BERTH_VAR_b, or give it a default
stack.hcl:9:3: var.b: a validation block needs error_message`,
		},
		{
			name: "reference to an undeclared variable",
			src: `variable "image" {
  default = "nginx"
}
service "web" {
  image = var.imgae
}
`,
			wantErr: `stack.hcl:5:11: services.web.image: no variable named "imgae" is declared; did you mean "image"?`,
		},
	})
}

// With several HCL files, a -var may be meant for another file: values for
// undeclared names are kept apart from the file's problems.
func TestDecodeHCLFileUndeclared(t *testing.T) {
	dir := t.TempDir()
	vf := filepath.Join(dir, "v.hcl")
	if err := os.WriteFile(vf, []byte("port = 1\nother = 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := decodeHCLFile(filepath.Join(dir, "stack.override.hcl"), []byte(`service "web" {
  image = "nginx"
}
`), HCLInput{Vars: map[string]string{"port": "8080"}, VarFiles: []string{vf}})
	if err != nil {
		t.Fatalf("unexpected problems: %v", err)
	}
	want := "var.port: -var sets \"port\", which is not declared by a variable block\n" +
		dir + "/v.hcl:1:1: var.port: variable \"port\" is not declared by a variable block\n" +
		dir + "/v.hcl:2:1: var.other: variable \"other\" is not declared by a variable block"
	if diff := cmp.Diff(want, r.Undeclared.Error()); diff != "" {
		t.Errorf("undeclared (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{vf}, r.Files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}
