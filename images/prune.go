package images

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// PruneMatching is Prune limited to the images match accepts (image
// prune's --filter): match sees each image Prune would delete, with its
// Config read (labels, created time), under the index lock, so it must
// not call the store. A nil match accepts all, as Prune.
func (s *Store) PruneMatching(ctx context.Context, all bool, match func(*Image) bool) ([]Removal, int64, error) {
	var report []Removal
	err := s.updateIndex(ctx, func(v *view) ([]v1.Descriptor, error) {
		report = nil
		ids := v.manifestIDs()
		doomed := map[string]bool{}
		for _, im := range v.images {
			if !(all || im.Dangling()) || s.inUse(im.ID) {
				continue
			}
			if match != nil {
				if err := s.fill(im); err != nil {
					return nil, err
				}
				if !match(im) {
					continue
				}
			}
			doomed[im.ID] = true
			for _, n := range im.Names {
				report = append(report, Removal{Untagged: Familiar(n)})
			}
			report = append(report, Removal{Deleted: im.ID})
		}
		var out []v1.Descriptor
		for _, e := range v.entries {
			if !doomed[ids[e.Digest]] {
				out = append(out, e)
			}
		}
		return out, nil
	})
	if err != nil {
		return nil, 0, err
	}
	freed, err := s.collect(ctx, false)
	return report, freed, err
}
