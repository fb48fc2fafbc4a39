package spec

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The block names are the HCL format's public surface, derived from
// compose-go's schema: pin them so that a compose-go upgrade that would
// rename one is noticed.
func TestHCLShapeBlocks(t *testing.T) {
	root, err := composeShape()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string // block types from the top, space-separated
		key  string
		mode blockMode
	}{
		{"service", "services", blockLabeled},
		{"network", "networks", blockLabeled},
		{"volume", "volumes", blockLabeled},
		{"secret", "secrets", blockLabeled},
		{"config", "configs", blockLabeled},
		{"include", "include", blockList},
		{"network ipam", "ipam", blockSingle},
		{"network ipam config", "config", blockList},
		{"service port", "ports", blockList},
		{"service volume", "volumes", blockList},
		{"service volume bind", "bind", blockSingle},
		{"service volume volume", "volume", blockSingle},
		{"service volume tmpfs", "tmpfs", blockSingle},
		{"service secret", "secrets", blockList},
		{"service config", "configs", blockList},
		{"service network", "networks", blockLabeled},
		{"service depends_on", "depends_on", blockLabeled},
		{"service ulimit", "ulimits", blockLabeled},
		{"service healthcheck", "healthcheck", blockSingle},
		{"service build", "build", blockSingle},
		{"service build secret", "secrets", blockList},
		{"service deploy", "deploy", blockSingle},
		{"service deploy resources limits", "limits", blockSingle},
		{"service deploy resources reservations", "reservations", blockSingle},
		{"service deploy resources reservations device", "devices", blockList},
		{"service deploy restart_policy", "restart_policy", blockSingle},
		{"service deploy update_config", "update_config", blockSingle},
		{"service deploy placement preference", "preferences", blockList},
		{"service develop watch", "watch", blockList},
		{"service extends", "extends", blockSingle},
		{"service logging", "logging", blockSingle},
		{"service env_file", "env_file", blockList},
		{"service device", "devices", blockList},
		{"service gpu", "gpus", blockList},
		{"service blkio_config device_read_bps", "device_read_bps", blockList},
		{"service post_start", "post_start", blockList},
	}
	for _, tc := range tests {
		s := root
		var got hclBlockShape
		for _, typ := range strings.Fields(tc.path) {
			b, ok := s.blocks[typ]
			if !ok {
				t.Fatalf("%s: no block %q (have %v)", tc.path, typ, s.blockNames())
			}
			got, s = b, b.body
		}
		if diff := cmp.Diff([2]any{tc.key, tc.mode}, [2]any{got.key, got.mode}); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.path, diff)
		}
	}
}
