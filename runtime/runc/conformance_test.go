package runc

import (
	"testing"

	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/runtimetest"
)

// TestRootConformance runs the shared runtime.Runtime suite against runc.
func TestRootConformance(t *testing.T) {
	runtimetest.Run(t, runtimetest.Harness{
		New: func(t *testing.T) runtime.Runtime { return rootRuntime(t) },
		Config: func(name string) runtime.Config {
			return runtime.Config{Name: name, Image: "busybox", Cmd: []string{"sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.05; done"}}
		},
	})
}
