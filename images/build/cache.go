package build

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/images/buildcache"
	"github.com/berth-dev/berth/internal/atomicfile"
)

// Cache is the build cache (package buildcache): build reads and writes
// its step records; buildcache lists, keeps and prunes them.
type Cache = buildcache.Cache

// Entry and EntryLayer are what system df counts (buildcache).
type (
	Entry      = buildcache.Entry
	EntryLayer = buildcache.EntryLayer
)

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

// getRecord returns the state stored under key, or nil.
func getRecord(c *Cache, key string) *state {
	b, err := os.ReadFile(c.RecordPath(key))
	if err != nil {
		return nil
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil
	}
	return &st
}

// putRecord stores st under key.
func putRecord(c *Cache, key string, st *state) error {
	if err := os.MkdirAll(filepath.Dir(c.RecordPath(key)), 0o700); err != nil {
		return fmt.Errorf("build cache: %w", err)
	}
	return atomicfile.WriteJSON(c.RecordPath(key), st, 0o600)
}
