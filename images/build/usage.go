package build

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/internal/dirsize"
)

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
		if st := c.get(key); st != nil {
			for _, l := range st.Layers {
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
