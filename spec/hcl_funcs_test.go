package spec

import "testing"

func labelsOf(m map[string]any) map[string]any {
	return svc("a", map[string]any{"labels": m})
}

func TestDecodeHCLFunctions(t *testing.T) {
	runHCLCases(t, []hclCase{
		{
			name: "try does not hide a misspelt reference",
			src: `locals {
  present = 1
}
service "a" {
  labels = { x = try(local.presnt, "fallback") }
}
`,
			wantErr: `stack.hcl:5:22: services.a.labels: no local value named "presnt" is declared; did you mean "present"?`,
		},
		{
			name: "strings, collections, numbers",
			src: `service "a" {
  labels = {
    upper   = upper("abc")
    join    = join(",", sort(["b", "a"]))
    format  = format("%s-%03d", "web", 7)
    replace = replace("a.b.c", ".", "/")
    regex   = regexreplace("v1.2.3", "^v", "")
    trim    = trimspace("  x  ")
    split   = length(split(",", "a,b,c"))
    merge   = jsonencode(merge({ a = 1 }, { b = 2 }))
    lookup  = lookup({ a = "1" }, "b", "none")
    max     = max(3, 9, 2)
    starts  = startswith("localhost/x", "localhost/")
    range   = jsonencode(range(3))
    try     = try(tonumber("x"), "fallback")
    coal    = coalesce("", "second")
  }
}
`,
			want: labelsOf(map[string]any{
				"upper": "ABC", "join": "a,b", "format": "web-007", "replace": "a/b/c",
				"regex": "1.2.3", "trim": "x", "split": 3, "merge": `{"a":1,"b":2}`,
				"lookup": "none", "max": 9, "starts": true, "range": "[0,1,2]",
				"try": "fallback", "coal": "", // first non-null, not first non-empty
			}),
		},
		{
			name: "encodings",
			src: `service "a" {
  labels = {
    b64   = base64encode("hello")
    unb64 = base64decode("aGVsbG8=")
    json  = jsondecode("{\"a\": [1, 2]}").a[1]
    yaml  = yamlencode({ a = [1, "x"] })
    unyml = yamldecode("a:\n  b: c\n").a.b
    sha   = sha256("x")
    csv   = csvdecode("a,b\n1,2\n")[0].b
  }
}
`,
			want: labelsOf(map[string]any{
				"b64": "aGVsbG8=", "unb64": "hello", "json": 2,
				"yaml":  "a:\n    - 1\n    - x\n",
				"unyml": "c",
				"sha":   "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
				"csv":   "2",
			}),
		},
		{
			name: "cidr functions",
			src: `service "a" {
  labels = {
    host = cidrhost("10.1.0.0/16", 300)
    last = cidrhost("10.1.2.0/24", -2)
    v6   = cidrhost("fd00::/64", 16)
    sub  = cidrsubnet("10.1.0.0/16", 8, 3)
    mask = cidrnetmask("10.0.0.0/20")
  }
}
`,
			want: labelsOf(map[string]any{
				"host": "10.1.1.44", "last": "10.1.2.254", "v6": "fd00::10",
				"sub": "10.1.3.0/24", "mask": "255.255.240.0",
			}),
		},
		{
			name:  "file functions read relative to the stack file",
			files: map[string]string{"index.html": "<h1>hi $x</h1>\n", "motd.tpl": "Hello ${name}, %{ for p in ports }${p} %{ endfor }\n"},
			src: `config "index" {
  content = file("index.html")
}
service "a" {
  labels = {
    exists  = fileexists("index.html")
    missing = fileexists("nope")
    b64     = filebase64("index.html")
    tpl     = templatefile("motd.tpl", { name = "web", ports = [80, 443] })
  }
}
`,
			want: map[string]any{
				"configs": map[string]any{"index": map[string]any{"content": "<h1>hi $$x</h1>\n"}},
				"services": map[string]any{"a": map[string]any{"labels": map[string]any{
					"exists": true, "missing": false, "b64": "PGgxPmhpICR4PC9oMT4K",
					"tpl": "Hello web, 80 443 \n",
				}}},
			},
		},
		{
			name: "env reads the given environment only",
			src: `service "a" {
  environment = {
    HOME_DIR = env("HOME")
    LEVEL    = env("LOG_LEVEL", "info")
    SET      = env("SET_BUT_EMPTY", "default")
  }
}
`,
			in: HCLInput{Env: map[string]string{"HOME": "/home/me", "SET_BUT_EMPTY": ""}},
			want: svc("a", map[string]any{"environment": map[string]any{
				"HOME_DIR": "/home/me", "LEVEL": "info", "SET": "",
			}}),
		},
		{
			name: "function errors",
			src: `service "a" {
  image   = env("NOT_SET")
  command = [file("nope.txt")]
  user    = cidrhost("10.0.0.0/30", 9)
  labels  = { x = base64decode("***") }
}
`,
			wantErr: `stack.hcl:2:13: services.a.image: Call to function "env" failed: environment variable NOT_SET is not set; give a default with env("NOT_SET", "")
stack.hcl:3:14: services.a.command: Call to function "file" failed: no file exists at nope.txt
stack.hcl:4:37: services.a.user: Invalid value for "hostnum" parameter: prefix 10.0.0.0/30 has no host number 9
stack.hcl:5:19: services.a.labels: Call to function "base64decode" failed: invalid base64: illegal base64 data at input byte 0`,
		},
	})
}
