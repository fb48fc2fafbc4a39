package spec

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkDecodeHCL decodes a 200-service stack with ports, volumes,
// environment, healthchecks and depends_on.
func BenchmarkDecodeHCL(b *testing.B) {
	var src strings.Builder
	src.WriteString("locals {\n  image = \"localhost/busybox:latest\"\n}\n")
	for i := range 200 {
		fmt.Fprintf(&src, `service "svc%d" {
  image   = local.image
  command = ["httpd", "-f", "-p", "80"]
  ports   = ["%d:80"]
  volumes = ["data%d:/data"]
  environment = { INDEX = "%d", LEVEL = "info" }
  healthcheck {
    test     = ["CMD", "true"]
    interval = "5s"
  }
  depends_on = [%s]
}
volume "data%d" {}
`, i, 10000+i, i, i, dependsOn(i), i)
	}
	data := []byte(src.String())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeHCL("/stack.hcl", data, HCLInput{}); err != nil {
			b.Fatal(err)
		}
	}
}

func dependsOn(i int) string {
	if i == 0 {
		return ""
	}
	return fmt.Sprintf("%q", fmt.Sprintf("svc%d", i-1))
}
