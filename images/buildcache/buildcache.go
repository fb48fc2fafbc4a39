// Package buildcache is the build cache's storage: its step records,
// cache mounts and their garbage collection, apart from the Dockerfile
// builder (images/build) that fills it. Commands that only keep, list or
// prune the cache (rmi, image prune, system df) read it without linking
// the builder, whose Dockerfile parser alone costs every berth process
// milliseconds of start-up.
//
//	<dir>/records/<key>.json   a step's resulting state (images/build)
//	<dir>/mounts/<id>/         a cache mount's directory
//	<dir>/stat/                the builder's file digest accelerator
package buildcache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/internal/dirsize"
)

// Cache is the build cache: one record per step, named by the step's key,
// holding the state the step produced. Records are written atomically, so
// concurrent builds at worst both compute a step and one record wins.
type Cache struct {
	Dir string
}

// RecordPath is the file of the record named key.
func (c *Cache) RecordPath(key string) string {
	return filepath.Join(c.Dir, "records", key+".json")
}

// recordLayers is the part of a record this package reads: decoding the
// whole config of every record would cost every rmi ~0.1 ms a record.
type recordLayers struct {
	Layers []struct {
		ChainID v1.Hash `json:"chainID"`
		Digest  v1.Hash `json:"digest"`
		Size    int64   `json:"size"`
	} `json:"layers"`
}

func readLayers(path string) (recordLayers, bool) {
	var rec recordLayers
	b, err := os.ReadFile(path)
	if err != nil {
		return rec, false
	}
	return rec, json.Unmarshal(b, &rec) == nil
}

// Layers lists the layers of every record, for the image store's
// Options.KeepLayers: a cached step is a hit only while its layers are
// stored, so garbage collection must keep them although no image names
// them (an intermediate stage's, or an image's after rmi). Unreadable
// records are skipped (the builder treats them as misses); a missing cache
// is empty. Safe to call while builds write records (each is replaced
// atomically).
func (c *Cache) Layers() ([]images.LayerRef, error) {
	recs, err := os.ReadDir(filepath.Join(c.Dir, "records"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("build cache: %w", err)
	}
	seen := map[images.LayerRef]bool{}
	var out []images.LayerRef
	for _, e := range recs {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		rec, ok := readLayers(filepath.Join(c.Dir, "records", e.Name()))
		if !ok {
			continue
		}
		for _, l := range rec.Layers {
			ref := images.LayerRef{ChainID: l.ChainID, Digest: l.Digest}
			if !seen[ref] {
				seen[ref] = true
				out = append(out, ref)
			}
		}
	}
	return out, nil
}

// MountDir is the directory of the cache mount id, created if missing.
func (c *Cache) MountDir(id string) (string, error) {
	sum := sha256.Sum256([]byte(id))
	dir := filepath.Join(c.Dir, "mounts", hex.EncodeToString(sum[:16]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cache mount %s: %w", id, err)
	}
	return dir, nil
}

// PruneResult is what Prune removed.
type PruneResult struct {
	Records int
	Mounts  int
	Bytes   int64 // of the cache's own files; layers go with the image store's GC
}

// Prune deletes the cache records valid rejects and, with all, every record
// and every cache mount (builder prune -a). valid is given the chain IDs of
// a record's layers, bottom first (sha256:...), and reports whether to keep
// it; nil keeps none, as does an unreadable record. The layers stay in the
// image store until its next collection, which no longer keeps them for the
// deleted records.
func (c *Cache) Prune(all bool, valid func(chains []string) bool) (PruneResult, error) {
	return c.PruneUntil(all, valid, time.Time{})
}

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

// Entry is one object of the build cache as `system df` counts it: a
// step's record or a cache mount.
type Entry struct {
	ID      string    // the record's key, or the cache mount's directory name
	Type    string    // "regular" (a step's record) or "exec.cachemount", Docker's names
	Size    int64     // bytes of the cache's own files (a mount's content)
	Created time.Time // the file's modification time
	// Layers are a record's layers, bottom first, with their unpacked
	// sizes; the image store holds them (GC keeps them for the cache).
	Layers []EntryLayer
}

// EntryLayer is a layer a record refers to.
type EntryLayer struct {
	ChainID v1.Hash
	Size    int64
}

// Entries lists the cache's records and mounts, sorted by type then ID.
// An unreadable record is listed without layers. A missing cache is empty.
// It only reads, so it is safe while builds run.
func (c *Cache) Entries() ([]Entry, error) {
	var out []Entry
	recs, err := os.ReadDir(filepath.Join(c.Dir, "records"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("build cache: %w", err)
	}
	for _, e := range recs {
		key, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		en := Entry{ID: key, Type: "regular", Size: fi.Size(), Created: fi.ModTime()}
		if rec, ok := readLayers(c.RecordPath(key)); ok {
			for _, l := range rec.Layers {
				en.Layers = append(en.Layers, EntryLayer{ChainID: l.ChainID, Size: l.Size})
			}
		}
		out = append(out, en)
	}
	mounts, err := os.ReadDir(filepath.Join(c.Dir, "mounts"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("build cache: %w", err)
	}
	for _, m := range mounts {
		fi, err := m.Info()
		if err != nil || !m.IsDir() {
			continue
		}
		out = append(out, Entry{ID: m.Name(), Type: "exec.cachemount", Size: dirsize.Regular(filepath.Join(c.Dir, "mounts", m.Name())), Created: fi.ModTime()})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Type != out[j].Type {
			return out[i].Type > out[j].Type // regular first
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// RunIDPrefix starts the container ID of every RUN step (images/build),
// the name its network attachment goes by: the network clean-up of other
// commands tells a live step's attachment from a vanished container's by it.
const RunIDPrefix = "berth-build-"
