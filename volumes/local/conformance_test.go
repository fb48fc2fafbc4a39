package local_test

import (
	"context"
	"testing"

	"github.com/berth-dev/berth/volumes"
	"github.com/berth-dev/berth/volumes/local"
	"github.com/berth-dev/berth/volumes/volumetest"
)

func TestConformance(t *testing.T) {
	volumetest.Run(t, volumetest.Harness{
		New: func(t *testing.T) (volumes.Manager, func(string) func()) {
			m, err := local.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			use := func(name string) func() {
				id := "conformance-container"
				if _, err := m.Mount(t.Context(), name, id); err != nil {
					t.Fatalf("mount %s: %v", name, err)
				}
				return func() {
					// Called from cleanups too, when t.Context is cancelled.
					if err := m.Unmount(context.WithoutCancel(t.Context()), name, id); err != nil {
						t.Errorf("unmount %s: %v", name, err)
					}
				}
			}
			return m, use
		},
	})
}
