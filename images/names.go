package images

import (
	"context"
	"fmt"
	"slices"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Tag gives the image src names the name dst (NAME[:TAG], normalised; the
// default tag is latest). If dst named another image, that image loses the
// name and stays as a dangling image if it has no other.
func (s *Store) Tag(ctx context.Context, src, dst string) error {
	name, err := NormalizeTag(dst)
	if err != nil {
		return err
	}
	return s.updateIndex(ctx, func(v *view) ([]v1.Descriptor, error) {
		im, _, err := v.lookup(src)
		if err != nil {
			return nil, err
		}
		return s.setName(v.entries, v, im.Manifest, im.ID, name), nil
	})
}

// manifestIDs maps each manifest digest in v to its image ID.
func (v *view) manifestIDs() map[v1.Hash]string {
	ids := map[v1.Hash]string{}
	for _, im := range v.images {
		for _, m := range im.manifests {
			ids[m] = im.ID
		}
	}
	return ids
}

// setName returns entries with name pointing at manifest: the entry that
// had the name is dropped (its image kept as dangling if nothing else names
// it), and so is the dangling entry of manifest's image.
func (s *Store) setName(entries []v1.Descriptor, v *view, manifest v1.Descriptor, target, name string) []v1.Descriptor {
	ids := v.manifestIDs()
	ids[manifest.Digest] = target
	idOf := func(d v1.Hash) string { return ids[d] }
	var out []v1.Descriptor
	var displaced []v1.Descriptor
	for _, e := range entries {
		n := e.Annotations[AnnotationName]
		switch {
		case n == name && idOf(e.Digest) != target:
			displaced = append(displaced, e)
		case n == name:
		case n == "" && idOf(e.Digest) == target:
		default:
			out = append(out, e)
		}
	}
	out = append(out, s.named(manifest, target, name))
	for _, d := range displaced {
		id := idOf(d.Digest)
		if !slices.ContainsFunc(out, func(e v1.Descriptor) bool { return idOf(e.Digest) == id }) {
			out = append(out, s.named(d, id, ""))
		}
	}
	return out
}

// Removal is one line of rmi's report, as in Docker's API: either an
// untagged reference (familiar form) or a deleted image ID.
type Removal struct {
	Untagged string `json:"Untagged,omitempty"`
	Deleted  string `json:"Deleted,omitempty"`
}

// Remove removes the name ref or, by ID, the image, like `docker rmi`:
//
//   - by name, when the image has other names: only that name goes;
//   - by name, its last name, or by ID: the image is deleted, and its blobs
//     and layers collected unless another image uses them;
//   - by ID, an image with names in several repositories needs force;
//   - an image a container uses (Options.InUse) needs force, and then is
//     only untagged: it stays as a dangling image while the container
//     lives, so its layers are never collected under a container.
//
// Refusals are errdefs.ErrConflict, an unknown image errdefs.ErrNotFound.
func (s *Store) Remove(ctx context.Context, ref string, force bool) ([]Removal, error) {
	var report []Removal
	err := s.updateIndex(ctx, func(v *view) ([]v1.Descriptor, error) {
		report = nil
		im, name, err := v.lookup(ref)
		if err != nil {
			return nil, err
		}
		inUse := s.inUse(im.ID)
		short := ShortID(im.ID)
		untag := []string{name}
		if name != "" {
			untag = withOrphanDigests(im.Names, name)
		}
		if name == "" {
			untag = im.Names
			if !force && repos(im.Names) > 1 {
				return nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf("conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories", short))
			}
		}
		last := len(untag) == len(im.Names)
		if last && inUse && !force {
			if name != "" {
				return nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf("conflict: unable to remove repository reference %q (must force) - a container is using its referenced image %s", Familiar(name), short))
			}
			return nil, errdefs.ErrConflict.WithMessage(fmt.Sprintf("conflict: unable to delete %s (must be forced) - image is being used by a container", short))
		}
		ids := v.manifestIDs()
		var out []v1.Descriptor
		keptDangling := false
		for _, e := range v.entries {
			n := e.Annotations[AnnotationName]
			if ids[e.Digest] != im.ID {
				out = append(out, e)
				continue
			}
			switch {
			case !last && slices.Contains(untag, n):
			case !last:
				out = append(out, e)
			case inUse && !keptDangling:
				out = append(out, s.named(e, im.ID, ""))
				keptDangling = true
			}
		}
		for _, n := range untag {
			if n != "" {
				report = append(report, Removal{Untagged: Familiar(n)})
			}
		}
		if last && !inUse {
			report = append(report, Removal{Deleted: im.ID})
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	if _, err := s.collect(ctx, true); err != nil {
		return report, err
	}
	return report, nil
}

// withOrphanDigests returns name plus, as Docker does, the digest
// references of name's repository when name is that repository's last tag.
func withOrphanDigests(names []string, name string) []string {
	out := []string{name}
	if _, tag, _ := SplitName(name); tag == "" {
		return out
	}
	repo := repoOf(name)
	var digests []string
	for _, n := range names {
		if n == name || repoOf(n) != repo {
			continue
		}
		if _, tag, _ := SplitName(n); tag != "" {
			return out // another tag of the repository keeps its digests
		}
		digests = append(digests, n)
	}
	return append(out, digests...)
}

func repos(names []string) int {
	seen := map[string]bool{}
	for _, n := range names {
		seen[repoOf(n)] = true
	}
	return len(seen)
}

// ShortID is an image ID as Docker shows it: 12 hex digits, no "sha256:".
func ShortID(id string) string {
	hex, _, _ := idOrPrefix(id)
	if len(hex) > 12 {
		return hex[:12]
	}
	return hex
}

// Prune deletes dangling images (all images with all set) that no
// container uses, then collects their blobs and layers. It returns what it
// removed and the unpacked bytes freed.
func (s *Store) Prune(ctx context.Context, all bool) ([]Removal, int64, error) {
	return s.PruneMatching(ctx, all, nil)
}
