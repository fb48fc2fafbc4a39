package runc

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"
)

// Change is one line of `docker diff`: Kind is "A" (added), "C" (changed)
// or "D" (deleted).
type Change struct {
	Kind string
	Path string
}

// Diff lists the changes of a container's filesystem against its image,
// from its overlay upper dir: a whiteout (a 0:0 character device) is a
// deletion, a path the image has is a change, anything else an addition.
// An opaque directory's former content is not listed.
func (r *Runtime) Diff(ctx context.Context, ref string) ([]Change, error) {
	rec, err := r.recordOf(ctx, ref)
	if err != nil {
		return nil, err
	}
	upper := r.UpperDir(rec.ID)
	var out []Change
	err = filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == upper {
			return err
		}
		rel, _ := filepath.Rel(upper, p)
		name := "/" + filepath.ToSlash(rel)
		if d.Type()&fs.ModeCharDevice != 0 {
			var st unix.Stat_t
			if unix.Lstat(p, &st) == nil && st.Rdev == 0 {
				out = append(out, Change{"D", name})
				return nil
			}
		}
		if etcMountPoints[name] && !d.IsDir() {
			if fi, err := d.Info(); err == nil && fi.Size() == 0 {
				return nil // the runtime's mount point for a generated file
			}
		}
		kind := "A"
		for _, l := range rec.Layers {
			if _, err := os.Lstat(filepath.Join(l, rel)); err == nil {
				kind = "C"
				break
			}
		}
		out = append(out, Change{kind, name})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, err
}

// etcMountPoints are the files berth bind-mounts; their empty mount points in
// the upper dir are not changes the user made (Docker hides them too).
var etcMountPoints = map[string]bool{"/etc/hostname": true, "/etc/hosts": true, "/etc/resolv.conf": true}
