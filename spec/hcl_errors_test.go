package spec

import "testing"

// Every problem of a file is reported at once, positioned, with the
// model path.
func TestDecodeHCLProblems(t *testing.T) {
	runHCLCases(t, []hclCase{
		{
			name: "syntax error",
			src: `service "web" {
  image = "nginx
}
`,
			wantErr: `stack.hcl:2:17: Quoted strings may not be split over multiple lines. To produce a multi-line string, either use the \n escape to represent a newline character or use the "heredoc" multi-line template syntax
stack.hcl:2:17: No closing marker was found for the string
stack.hcl:3:2: Quoted strings may not be split over multiple lines. To produce a multi-line string, either use the \n escape to represent a newline character or use the "heredoc" multi-line template syntax`,
		},
		{
			name: "unknown names with suggestions",
			src: `nmae = "x"
service "web" {
  imgae = "nginx"
  helthcheck {
    test = ["CMD", "true"]
  }
  healthcheck {
    tset = ["CMD", "true"]
  }
  deploy {
    resources {
      limit { memory = "1g" }
    }
  }
  frobnicate = 1
}
servce "db" {}
`,
			wantErr: `stack.hcl:1:1: nmae: unsupported attribute "nmae" in the stack file; did you mean "name"?
stack.hcl:3:3: services.web.imgae: unsupported attribute "imgae" in service "web"; did you mean "image"?
stack.hcl:4:3: services.web.helthcheck: unsupported block type "helthcheck" in service "web"; did you mean "healthcheck"?
stack.hcl:8:5: services.web.healthcheck.tset: unsupported attribute "tset" in healthcheck block; did you mean "test"?
stack.hcl:12:7: services.web.deploy.resources.limit: unsupported block type "limit" in resources block; did you mean "limits"?
stack.hcl:15:3: services.web.frobnicate: unsupported attribute "frobnicate" in service "web"
stack.hcl:17:1: servce: unsupported block type "servce" in the stack file; did you mean "service"?`,
		},
		{
			name: "wrong kinds and labels",
			src: `service "web" {
  image {}
  port = 80
  port "http" {}
  network {}
  healthcheck "x" {}
  environment {
    A = "1"
  }
}
service {}
network "a" "b" {}
`,
			wantErr: `stack.hcl:2:3: services.web.image: image is an attribute, not a block: write image = ...
stack.hcl:3:3: services.web.port: port is a block here: write port { ... }, or set ports = ...
stack.hcl:4:8: services.web.ports: a port block has no label: write port { ... }
stack.hcl:5:3: services.web.networks: a network block needs a name: write network "NAME" { ... }
stack.hcl:6:15: services.web.healthcheck: a healthcheck block has no label: write healthcheck { ... }
stack.hcl:7:3: services.web.environment: environment is an attribute, not a block: write environment = ...
stack.hcl:11:1: services: a service block needs a name: write service "NAME" { ... }
stack.hcl:12:13: networks: a network block has exactly one label, its name`,
		},
		{
			name: "duplicates and conflicts",
			src: `service "web" {
  healthcheck {}
  healthcheck {}
  build = "."
  build {}
  networks = ["a"]
  network "b" {}
  ports = "80"
  port { target = 80 }
}
service "web" {}
`,
			wantErr: `stack.hcl:3:3: services.web.healthcheck: duplicate healthcheck block; the first is at line 2
stack.hcl:5:3: services.web.build: build is set both as an attribute and as a block; use one
stack.hcl:7:3: services.web.networks.b: networks is set both as an attribute and as network blocks; use one
stack.hcl:9:3: services.web.ports: port blocks cannot be added to ports: it is set to a value that is not a list
stack.hcl:11:1: services.web: duplicate service "web"; the first is at line 1`,
		},
		{
			name: "unknown keys in object values of block-shaped attributes",
			src: `service "web" {
  healthcheck = { tset = ["CMD", "true"], interval = "1s" }
  ports       = ["80:80", { target = 80, publshed = "8080" }]
  depends_on  = { db = { conditon = "service_healthy" } }
  deploy = {
    resources = { limits = { memroy = "1g" } }
  }
  labels = { anything = "goes" }
}
`,
			wantErr: `stack.hcl:2:19: services.web.healthcheck.tset: unsupported attribute "tset" in healthcheck block; did you mean "test"?
stack.hcl:3:42: services.web.ports[1].publshed: unsupported attribute "publshed" in port block; did you mean "published"?
stack.hcl:4:26: services.web.depends_on.db.conditon: unsupported attribute "conditon" in depends_on "db"; did you mean "condition"?
stack.hcl:6:30: services.web.deploy.resources.limits.memroy: unsupported attribute "memroy" in limits block; did you mean "memory"?`,
		},
		{
			name: "expression errors",
			src: `locals {
  a = local.b
  b = local.a
  c = local.nope
}
service "web" {
  image   = upper(1, 2)
  command = nosuch("x")
  user    = local.cc
  labels  = { a = unknown.x }
  ports   = ["80:80", "${local.c}"]
}
`,
			wantErr: `stack.hcl:2:3: local.a: local value "a" depends on itself (through other locals)
stack.hcl:3:3: local.b: local value "b" depends on itself (through other locals)
stack.hcl:4:7: local.c: no local value named "nope" is declared
stack.hcl:7:22: services.web.image: Function "upper" expects only 1 argument(s)
stack.hcl:8:13: services.web.command: There is no function named "nosuch"
stack.hcl:9:13: services.web.user: no local value named "cc" is declared; did you mean "c"?
stack.hcl:10:19: services.web.labels: There is no variable named "unknown"`,
		},
	})
}
