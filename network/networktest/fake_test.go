package networktest_test

import (
	"testing"

	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/network/fake"
	"github.com/berth-dev/berth/network/networktest"
)

// The fake lives in another package; its conformance run lives here so the
// suite and the fake are checked together.
func TestFakeConformance(t *testing.T) {
	networktest.Run(t, networktest.Harness{
		New: func(t *testing.T) network.Manager { return &fake.Manager{} },
	})
}
