package spec

import "testing"

func TestDecodeHCLForms(t *testing.T) {
	runHCLCases(t, []hclCase{
		{
			name: "short and long ports and volumes, in order",
			src: `service "web" {
  image = "nginx"
  ports = ["8080:80"]
  port {
    target    = 443
    published = "8443"
    protocol  = "tcp"
  }
  volumes = ["./html:/usr/share/nginx/html:ro"]
  volume {
    type      = "volume"
    source    = "data"
    target    = "/data"
    read_only = true
    volume {
      nocopy = true
    }
  }
  volume {
    type   = "tmpfs"
    target = "/tmp"
    tmpfs {
      size = "64m"
    }
  }
}
`,
			want: svc("web", map[string]any{
				"image": "nginx",
				"ports": []any{"8080:80", map[string]any{"target": 443, "published": "8443", "protocol": "tcp"}},
				"volumes": []any{
					"./html:/usr/share/nginx/html:ro",
					map[string]any{"type": "volume", "source": "data", "target": "/data", "read_only": true,
						"volume": map[string]any{"nocopy": true}},
					map[string]any{"type": "tmpfs", "target": "/tmp", "tmpfs": map[string]any{"size": "64m"}},
				},
			}),
		},
		{
			name: "depends_on, networks and secrets: short and long",
			src: `service "a" {
  depends_on = ["b"]
  networks   = ["front"]
  secrets    = ["token"]
}
service "b" {
  depends_on "c" {
    condition = "service_completed_successfully"
    restart   = true
    required  = false
  }
  network "back" {
    aliases      = ["b2"]
    ipv4_address = "10.0.0.5"
  }
  secret {
    source = "token"
    target = "/run/secrets/t"
    uid    = "1000"
    gid    = "1000"
    mode   = 256
  }
}
`,
			want: map[string]any{"services": map[string]any{
				"a": map[string]any{"depends_on": []any{"b"}, "networks": []any{"front"}, "secrets": []any{"token"}},
				"b": map[string]any{
					"depends_on": map[string]any{"c": map[string]any{"condition": "service_completed_successfully", "restart": true, "required": false}},
					"networks":   map[string]any{"back": map[string]any{"aliases": []any{"b2"}, "ipv4_address": "10.0.0.5"}},
					"secrets":    []any{map[string]any{"source": "token", "target": "/run/secrets/t", "uid": "1000", "gid": "1000", "mode": 256}},
				},
			}},
		},
		{
			name: "nested blocks: healthcheck, build, deploy, ulimits, logging, develop",
			src: `service "app" {
  build {
    context    = "."
    dockerfile = "Dockerfile"
    args       = { VERSION = "1" }
    target     = "prod"
  }
  healthcheck {
    test     = ["CMD-SHELL", "true"]
    interval = "10s"
  }
  deploy {
    replicas = 2
    resources {
      limits {
        cpus   = "0.5"
        memory = "128m"
      }
      reservations {
        memory = "64m"
      }
    }
    restart_policy {
      condition    = "on-failure"
      max_attempts = 3
    }
  }
  ulimit "nofile" {
    soft = 1024
    hard = 2048
  }
  logging {
    driver  = "json-file"
    options = { max-size = "10m" }
  }
  develop {
    watch {
      path   = "./src"
      action = "sync"
      target = "/app/src"
    }
    watch {
      path   = "package.json"
      action = "rebuild"
    }
  }
  x-team = "core"
}
`,
			want: svc("app", map[string]any{
				"build":       map[string]any{"context": ".", "dockerfile": "Dockerfile", "args": map[string]any{"VERSION": "1"}, "target": "prod"},
				"healthcheck": map[string]any{"test": []any{"CMD-SHELL", "true"}, "interval": "10s"},
				"deploy": map[string]any{
					"replicas": 2,
					"resources": map[string]any{
						"limits":       map[string]any{"cpus": "0.5", "memory": "128m"},
						"reservations": map[string]any{"memory": "64m"},
					},
					"restart_policy": map[string]any{"condition": "on-failure", "max_attempts": 3},
				},
				"ulimits": map[string]any{"nofile": map[string]any{"soft": 1024, "hard": 2048}},
				"logging": map[string]any{"driver": "json-file", "options": map[string]any{"max-size": "10m"}},
				"develop": map[string]any{"watch": []any{
					map[string]any{"path": "./src", "action": "sync", "target": "/app/src"},
					map[string]any{"path": "package.json", "action": "rebuild"},
				}},
				"x-team": "core",
			}),
		},
		{
			name: "top-level resources and extensions",
			src: `name = "demo"
x-common = { restart = "always" }
network "front" {
  driver = "bridge"
  ipam {
    driver = "default"
    config {
      subnet  = "10.5.0.0/16"
      gateway = "10.5.0.1"
    }
  }
  labels = { tier = "front" }
}
network "outside" {
  external = true
  name     = "host-net"
}
volume "data" {
  driver      = "local"
  driver_opts = { type = "none", o = "bind", device = "/srv/data" }
}
secret "token" {
  file = "./token.txt"
}
secret "api_key" {
  environment = "API_KEY"
}
config "nginx" {
  content = "server {}"
}
`,
			want: map[string]any{
				"name":     "demo",
				"x-common": map[string]any{"restart": "always"},
				"networks": map[string]any{
					"front": map[string]any{
						"driver": "bridge",
						"ipam": map[string]any{"driver": "default", "config": []any{
							map[string]any{"subnet": "10.5.0.0/16", "gateway": "10.5.0.1"},
						}},
						"labels": map[string]any{"tier": "front"},
					},
					"outside": map[string]any{"external": true, "name": "host-net"},
				},
				"volumes": map[string]any{"data": map[string]any{
					"driver": "local", "driver_opts": map[string]any{"type": "none", "o": "bind", "device": "/srv/data"},
				}},
				"secrets": map[string]any{
					"token":   map[string]any{"file": "./token.txt"},
					"api_key": map[string]any{"environment": "API_KEY"},
				},
				"configs": map[string]any{"nginx": map[string]any{"content": "server {}"}},
			},
		},
		{
			name: "dollar signs are literal and escaped for compose interpolation",
			src: `service "a" {
  command = ["sh", "-c", "echo $HOME $${X} ${upper("x")}"]
}
`,
			want: svc("a", map[string]any{"command": []any{"sh", "-c", "echo $$HOME $${X} X"}}),
		},
		{
			name: "null attributes are unset, numbers are ints or floats",
			src: `service "a" {
  image      = null
  cpus       = 0.5
  scale      = 3
  privileged = true
  environment = { EMPTY = null, N = 1 }
}
`,
			want: svc("a", map[string]any{"cpus": 0.5, "scale": 3, "privileged": true,
				"environment": map[string]any{"EMPTY": nil, "N": 1}}),
		},
		{
			name: "locals in dependency order",
			src: `locals {
  image = "${local.registry}/app:${local.tag}"
  tag   = "v1"
}
locals {
  registry = lower("REGISTRY.example.com")
}
service "a" {
  image = local.image
}
`,
			want: svc("a", map[string]any{"image": "registry.example.com/app:v1"}),
		},
		{
			name: "for expressions build lists and maps",
			src: `locals {
  ports = [8080, 8443]
}
service "a" {
  ports  = [for p in local.ports : "${p}:${p}"]
  labels = { for i, p in local.ports : "port.${i}" => tostring(p) }
}
`,
			want: svc("a", map[string]any{
				"ports":  []any{"8080:8080", "8443:8443"},
				"labels": map[string]any{"port.0": "8080", "port.1": "8443"},
			}),
		},
	})
}
