// Package dirsize measures how much file data a directory tree holds, the
// way `ps -s`, `system df` and the build cache report it.
package dirsize

import (
	"io/fs"
	"path/filepath"
)

// Regular is the sum of the sizes of the regular files under dir. Links are
// not followed, and what cannot be read is left out rather than failing:
// the trees measured (a container's upper dir, a cache mount) may change
// while they are walked. A missing dir is 0.
func Regular(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
