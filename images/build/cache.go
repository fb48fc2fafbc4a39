package build

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

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/internal/dirsize"
)

// Cache is the build cache: one record per step, named by the step's key,
// holding the state the step produced. Records are written atomically, so
// concurrent builds at worst both compute a step and one record wins.
// Cache mounts (RUN --mount=type=cache) live beside the records.
//
//	<dir>/records/<key>.json   a step's resulting state
//	<dir>/mounts/<id>/         a cache mount's directory
type Cache struct {
	Dir string
}

// key is a step's cache key: the parent state, the instruction after
// expansion, and whatever else the step reads (build arguments in effect,
// content digests of its sources), each part length-prefixed so that no two
// different inputs give the same bytes.
func key(parent string, parts ...string) string {
	h := sha256.New()
	fmt.Fprintf(h, "berth-build-v1\x00%d:%s", len(parent), parent)
	for _, p := range parts {
		fmt.Fprintf(h, "\x00%d:%s", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// commandText is an instruction after expansion, as a cache key part: its
// name and BuildKit's fields as JSON (deterministic: struct order, sorted
// map keys).
func commandText(name string, c any) string {
	b, err := json.Marshal(c)
	if err != nil {
		return name + " " + err.Error()
	}
	return name + " " + string(b)
}

func (c *Cache) recordPath(key string) string {
	return filepath.Join(c.Dir, "records", key+".json")
}

// get returns the state stored under key, or nil.
func (c *Cache) get(key string) *state {
	b, err := os.ReadFile(c.recordPath(key))
	if err != nil {
		return nil
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil
	}
	return &st
}

// put stores st under key.
func (c *Cache) put(key string, st *state) error {
	if err := os.MkdirAll(filepath.Join(c.Dir, "records"), 0o700); err != nil {
		return fmt.Errorf("build cache: %w", err)
	}
	return atomicfile.WriteJSON(c.recordPath(key), st, 0o600)
}

// Layers lists the layers of every record, for the image store's
// Options.KeepLayers: a cached step is a hit only while its layers are
// stored, so garbage collection must keep them although no image names
// them (an intermediate stage's, or an image's after rmi). Unreadable
// records are skipped (get treats them as misses); a missing cache is
// empty. Safe to call while builds write records (each is replaced
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
		b, err := os.ReadFile(filepath.Join(c.Dir, "records", e.Name()))
		if err != nil {
			continue
		}
		// The layers only: decoding the whole config of every record
		// would cost every rmi ~0.1 ms a record.
		var rec struct {
			Layers []struct {
				ChainID v1.Hash `json:"chainID"`
				Digest  v1.Hash `json:"digest"`
			} `json:"layers"`
		}
		if json.Unmarshal(b, &rec) != nil {
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
	var res PruneResult
	recs, err := os.ReadDir(filepath.Join(c.Dir, "records"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("build cache: %w", err)
	}
	for _, e := range recs {
		p := filepath.Join(c.Dir, "records", e.Name())
		if !all {
			if !strings.HasSuffix(e.Name(), ".json") {
				continue
			}
			st := c.get(strings.TrimSuffix(e.Name(), ".json"))
			if st != nil && valid != nil {
				var chains []string
				for _, l := range st.Layers {
					chains = append(chains, l.ChainID.String())
				}
				if valid(chains) {
					continue
				}
			}
		}
		if fi, err := e.Info(); err == nil {
			res.Bytes += fi.Size()
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return res, fmt.Errorf("build cache: %w", err)
		}
		res.Records++
	}
	if all {
		os.RemoveAll(filepath.Join(c.Dir, "stat")) // an accelerator only
		mounts, err := os.ReadDir(filepath.Join(c.Dir, "mounts"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return res, fmt.Errorf("build cache: %w", err)
		}
		sort.Slice(mounts, func(i, j int) bool { return mounts[i].Name() < mounts[j].Name() })
		for _, m := range mounts {
			p := filepath.Join(c.Dir, "mounts", m.Name())
			res.Bytes += dirsize.Regular(p)
			if err := os.RemoveAll(p); err != nil {
				return res, fmt.Errorf("build cache: %w", err)
			}
			res.Mounts++
		}
	}
	return res, nil
}
