package local_test

import (
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
					if err := m.Unmount(t.Context(), name, id); err != nil {
						t.Errorf("unmount %s: %v", name, err)
					}
				}
			}
			return m, use
		},
	})
}
