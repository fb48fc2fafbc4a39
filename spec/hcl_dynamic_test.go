package spec

import "testing"

func TestDecodeHCLDynamic(t *testing.T) {
	runHCLCases(t, []hclCase{
		{
			name: "repeated blocks from a list, after the attribute's elements",
			src: `variable "ports" {
  default = [80, 443]
}
service "web" {
  ports = ["22:22"]
  dynamic "port" {
    for_each = var.ports
    content {
      target    = port.value
      published = tostring(8000 + port.value)
    }
  }
}
`,
			want: svc("web", map[string]any{"ports": []any{
				"22:22",
				map[string]any{"target": 80, "published": "8080"},
				map[string]any{"target": 443, "published": "8443"},
			}}),
		},
		{
			name: "labelled blocks from a map, with an iterator and nested dynamic blocks",
			src: `locals {
  workers = {
    mail  = ["smtp", "imap"]
    queue = ["amqp"]
  }
}
dynamic "service" {
  for_each = local.workers
  iterator = w
  labels   = ["worker-${w.key}"]
  content {
    image = "localhost/busybox:latest"
    dynamic "network" {
      for_each = toset(w.value)
      labels   = [network.value]
      content {
        aliases = ["${w.key}-${network.value}"]
      }
    }
  }
}
`,
			want: map[string]any{"services": map[string]any{
				"worker-mail": map[string]any{"image": "localhost/busybox:latest", "networks": map[string]any{
					"imap": map[string]any{"aliases": []any{"mail-imap"}},
					"smtp": map[string]any{"aliases": []any{"mail-smtp"}},
				}},
				"worker-queue": map[string]any{"image": "localhost/busybox:latest", "networks": map[string]any{
					"amqp": map[string]any{"aliases": []any{"queue-amqp"}},
				}},
			}},
		},
		{
			name: "an empty for_each makes no blocks",
			src: `service "web" {
  image = "nginx"
  dynamic "healthcheck" {
    for_each = []
    content {
      test = ["CMD", "true"]
    }
  }
}
`,
			want: svc("web", map[string]any{"image": "nginx"}),
		},
		{
			name: "problems",
			src: `service "web" {
  dynamic "prot" {
    for_each = [1]
    content {}
  }
  dynamic "port" {
    content {}
  }
  dynamic "volume" {
    for_each = "x"
    content {}
  }
  dynamic "healthcheck" {
    for_each = [1, 2]
    each     = 1
    content {
      test = ["CMD", "true"]
      tset = 1
    }
  }
  dynamic "network" {
    for_each = ["a"]
    content {}
  }
}
`,
			wantErr: `stack.hcl:2:11: services.web.prot: unsupported block type "prot" in service "web"; did you mean "port"?
stack.hcl:6:3: services.web.ports: a dynamic block needs for_each and a content block
stack.hcl:10:16: services.web.volumes: for_each must be a list, set, map or object, not string
stack.hcl:13:3: services.web.healthcheck: duplicate healthcheck block; the first is at line 13
stack.hcl:15:5: services.web.healthcheck: unsupported attribute "each" in dynamic "healthcheck"; did you mean "for_each"?
stack.hcl:18:7: services.web.healthcheck.tset: unsupported attribute "tset" in healthcheck block; did you mean "test"?
stack.hcl:21:3: services.web.networks: a network block needs a name: write network "NAME" { ... }`,
		},
	})
}
