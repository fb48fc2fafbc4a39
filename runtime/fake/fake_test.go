package fake_test

import (
	"testing"

	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/fake"
	"github.com/berth-dev/berth/runtime/runtimetest"
)

func TestConformance(t *testing.T) {
	runtimetest.Run(t, runtimetest.Harness{
		New: func(t *testing.T) runtime.Runtime {
			return fake.New(fake.WithImages(fake.Images{"busybox": "sha256:bb"}))
		},
		Config: func(name string) runtime.Config {
			return runtime.Config{Name: name, Image: "busybox", Cmd: []string{"sleep", "3600"}}
		},
	})
}
