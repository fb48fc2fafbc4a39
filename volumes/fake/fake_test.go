package fake_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/volumes"
	"github.com/berth-dev/berth/volumes/fake"
	"github.com/berth-dev/berth/volumes/volumetest"
)

func TestHooks(t *testing.T) {
	ctx := t.Context()
	m := &fake.Manager{}
	if _, err := m.Create(ctx, volumes.Config{Name: "a"}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	m.Hook = func(call, name string) error {
		if call == "list" {
			return boom
		}
		return nil
	}
	if _, err := m.List(ctx); !errors.Is(err, boom) {
		t.Errorf("hooked list: err = %v, want boom", err)
	}
	if _, err := m.Create(ctx, volumes.Config{}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("create without a name: err = %v, want ErrInvalidArgument", err)
	}
}

// TestConformance runs the suite volumes/local runs too.
func TestConformance(t *testing.T) {
	volumetest.Run(t, volumetest.Harness{
		New: func(t *testing.T) (volumes.Manager, func(string) func()) {
			var mu sync.Mutex
			used := map[string]bool{}
			m := &fake.Manager{InUse: func(name string) bool {
				mu.Lock()
				defer mu.Unlock()
				return used[name]
			}}
			use := func(name string) func() {
				mu.Lock()
				used[name] = true
				mu.Unlock()
				return func() {
					mu.Lock()
					delete(used, name)
					mu.Unlock()
				}
			}
			return m, use
		},
	})
}
