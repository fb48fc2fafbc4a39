package spec

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHCLSourceMap(t *testing.T) {
	src := `name = "demo"
service "web" {
  image = "nginx"
  ports = [
    "80:80",
    "80:abc",
  ]
  port {
    target = 443
  }
  environment = { A = "1", B = upper("b") }
  healthcheck {
    test = ["CMD", "true"]
  }
  network "front" {}
}
`
	r, err := decodeHCLFile("stack.hcl", []byte(src), HCLInput{})
	if err != nil {
		t.Fatal(err)
	}
	at := func(path string) string {
		rng, found, ok := r.Sources.Lookup(path)
		if !ok {
			return "none"
		}
		return fmt.Sprintf("%s %d:%d", found, rng.Start.Line, rng.Start.Column)
	}
	tests := map[string]string{
		"name":                          "name 1:8",
		"services.web":                  "services.web 2:1",
		"services.web.image":            "services.web.image 3:11",
		"services.web.ports[1]":         "services.web.ports[1] 6:5",
		"services.web.ports[2]":         "services.web.ports[2] 8:3",
		"services.web.ports[2].target":  "services.web.ports[2].target 9:14",
		"services.web.environment.B":    "services.web.environment.B 11:32",
		"services.web.healthcheck.test": "services.web.healthcheck.test 13:12",
		"services.web.networks.front":   "services.web.networks.front 15:3",
		// no entry: the nearest recorded ancestor
		"services.web.ports[1].published":   "services.web.ports[1] 6:5",
		"services.web.healthcheck.interval": "services.web.healthcheck 12:3",
		"services.db":                       "services 2:1",
		"volumes.data":                      "none",
	}
	got := map[string]string{}
	for path := range tests {
		got[path] = at(path)
	}
	if diff := cmp.Diff(tests, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
