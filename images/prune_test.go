package images

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPruneMatching(t *testing.T) {
	s, inUse := testStore(t)
	ctx := t.Context()
	spared := importTar(t, s, "", makeTar(t, file("s", "1")))
	doomed := importTar(t, s, "", makeTar(t, file("d", "22")))
	busy := importTar(t, s, "", makeTar(t, file("b", "333")))
	tagged := importTar(t, s, "kept", makeTar(t, file("k", "4444")))
	inUse[busy] = true
	var seen []string
	match := func(im *Image) bool {
		if im.Config == nil {
			t.Errorf("match saw %s without its config", im.ID)
		}
		seen = append(seen, im.ID)
		return im.ID != spared
	}
	rm, freed, err := s.PruneMatching(ctx, false, match)
	if err != nil || !cmp.Equal(rm, []Removal{{Deleted: doomed}}) || freed != 2 {
		t.Fatalf("prune = %v, %d, %v", rm, freed, err)
	}
	// Only what Prune would delete is offered: not a busy or named image.
	slices.Sort(seen)
	want := []string{spared, doomed}
	slices.Sort(want)
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("match saw (-want +got):\n%s", diff)
	}
	rm, _, err = s.PruneMatching(ctx, true, nil)
	if err != nil || len(rm) != 3 || !slices.Contains(rm, Removal{Deleted: spared}) || !slices.Contains(rm, Removal{Deleted: tagged}) {
		t.Fatalf("prune -a without match = %v, %v; want spared and tagged removed", rm, err)
	}
	if diff := cmp.Diff(map[string][]string{busy: {}}, names(t, s)); diff != "" {
		t.Errorf("after prune (-want +got):\n%s", diff)
	}
}
