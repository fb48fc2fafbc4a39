package buildcache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/dirsize"
)

// PruneUntil is Prune limited to the records and cache mounts last
// written at or before until (builder prune --filter until=, the time
// Entries gives as Created): a newer one stays, whatever valid says, and
// so does the builder's stat accelerator, which is no cache entry. A zero
// until limits nothing, and all then removes the accelerator too.
func (c *Cache) PruneUntil(all bool, valid func(chains []string) bool, until time.Time) (PruneResult, error) {
	if until.IsZero() {
		until = time.Unix(1<<62, 0)
		if all {
			os.RemoveAll(filepath.Join(c.Dir, "stat")) // an accelerator only
		}
	}
	var res PruneResult
	recs, err := os.ReadDir(filepath.Join(c.Dir, "records"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("build cache: %w", err)
	}
	for _, e := range recs {
		fi, err := e.Info()
		if err != nil || fi.ModTime().After(until) {
			continue // removed meanwhile, or newer
		}
		p := filepath.Join(c.Dir, "records", e.Name())
		if !all {
			if !strings.HasSuffix(e.Name(), ".json") {
				continue
			}
			if rec, ok := readLayers(p); ok && valid != nil {
				var chains []string
				for _, l := range rec.Layers {
					chains = append(chains, l.ChainID.String())
				}
				if valid(chains) {
					continue
				}
			}
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return res, fmt.Errorf("build cache: %w", err)
		}
		res.Bytes += fi.Size()
		res.Records++
	}
	if !all {
		return res, nil
	}
	mounts, err := os.ReadDir(filepath.Join(c.Dir, "mounts"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("build cache: %w", err)
	}
	sort.Slice(mounts, func(i, j int) bool { return mounts[i].Name() < mounts[j].Name() })
	for _, m := range mounts {
		fi, err := m.Info()
		if err != nil || fi.ModTime().After(until) {
			continue
		}
		p := filepath.Join(c.Dir, "mounts", m.Name())
		size := dirsize.Regular(p)
		if err := os.RemoveAll(p); err != nil {
			return res, fmt.Errorf("build cache: %w", err)
		}
		res.Bytes += size
		res.Mounts++
	}
	return res, nil
}
