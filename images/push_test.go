//go:build !lean

package images

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPushProgress: push reports each layer on its own, Preparing, Pushing
// with bytes and Pushed, or Layer already exists when the registry has the
// blob, and ends with Docker's digest line.
func TestPushProgress(t *testing.T) {
	src, dst := newTestRegistry(t, false, nil), newTestRegistry(t, false, nil)
	pushRandom(t, src.host+"/prog/app:1", 3)
	s, _ := testStore(t)
	r := testRegistries(t, RegistryConfig{}, nil)
	pulled, err := r.Pull(t.Context(), s, src.host+"/prog/app:1", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	im, err := s.Image(t.Context(), pulled.Ref)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, l := range im.Layers {
		ids = append(ids, shortDigest(l.Digest))
	}
	slices.Sort(ids)

	push := func(target string) (map[string][]string, []Progress) {
		t.Helper()
		if err := s.Tag(t.Context(), pulled.Ref, target); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var evs []Progress
		res, err := r.Push(t.Context(), s, target, PushOptions{Progress: func(p Progress) {
			mu.Lock()
			defer mu.Unlock()
			evs = append(evs, p)
		}})
		if err != nil {
			t.Fatal(err)
		}
		statuses := map[string][]string{}
		for _, ev := range evs {
			if ev.Status == StatusPushing {
				if ev.Current <= 0 || ev.Current > ev.Total {
					t.Errorf("%s: pushing %d of %d", ev.ID, ev.Current, ev.Total)
				}
				if st := statuses[ev.ID]; len(st) > 0 && st[len(st)-1] == StatusPushing {
					continue // one entry for a run of Pushing events
				}
			}
			statuses[ev.ID] = append(statuses[ev.ID], ev.Status)
		}
		last := evs[len(evs)-1]
		if want := "1: digest: " + res.Digest + " size: "; last.ID != "" || !strings.HasPrefix(last.Status, want) {
			t.Errorf("last event %+v, want %q…", last, want)
		}
		delete(statuses, "")
		return statuses, evs
	}

	first, _ := push(dst.host + "/prog/app:1")
	want := map[string][]string{}
	for _, id := range ids {
		want[id] = []string{StatusPreparing, StatusPushing, StatusPushed}
	}
	if diff := cmp.Diff(want, first); diff != "" {
		t.Errorf("first push (-want +got):\n%s", diff)
	}
	again, _ := push(dst.host + "/prog/again:1")
	for _, id := range ids {
		want[id] = []string{StatusPreparing, StatusLayerExists}
	}
	if diff := cmp.Diff(want, again); diff != "" {
		t.Errorf("second push (-want +got):\n%s", diff)
	}
}
