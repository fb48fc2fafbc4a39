package build

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/berth-dev/berth/internal/atomicfile"
)

// statCache remembers the content digest of context files by their stat
// data (size, mtime, ctime, inode), as Git's index does, so that an
// unchanged rebuild does not read every file COPY names. A file whose stat
// data changed is read again. It is kept per context directory under
// <cache>/stat/ and is only an accelerator: a missing or broken one means
// reading the files.
type statCache struct {
	path string

	mu      sync.Mutex
	entries map[string]statEntry // by path relative to the context
	dirty   bool
}

type statEntry struct {
	Size  int64  `json:"s"`
	Mtime int64  `json:"m"`
	Ctime int64  `json:"c"`
	Ino   uint64 `json:"i"`
	Sum   string `json:"h"`
}

func newStatCache(c *Cache, contextDir string) *statCache {
	sum := sha256.Sum256([]byte(contextDir))
	sc := &statCache{path: filepath.Join(c.Dir, "stat", hex.EncodeToString(sum[:16])+".json"), entries: map[string]statEntry{}}
	if b, err := os.ReadFile(sc.path); err == nil {
		if json.Unmarshal(b, &sc.entries) != nil {
			sc.entries = map[string]statEntry{}
		}
	}
	return sc
}

func statKey(fi fs.FileInfo) (statEntry, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return statEntry{}, false
	}
	return statEntry{Size: fi.Size(), Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano(), Ino: st.Ino}, true
}

// get returns the digest remembered for rel if its stat data is fi's.
func (sc *statCache) get(rel string, fi fs.FileInfo) (string, bool) {
	if sc == nil {
		return "", false
	}
	k, ok := statKey(fi)
	if !ok {
		return "", false
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	e, ok := sc.entries[rel]
	if !ok || e.Size != k.Size || e.Mtime != k.Mtime || e.Ctime != k.Ctime || e.Ino != k.Ino {
		return "", false
	}
	return e.Sum, true
}

func (sc *statCache) put(rel string, fi fs.FileInfo, sum string) {
	if sc == nil {
		return
	}
	k, ok := statKey(fi)
	if !ok {
		return
	}
	k.Sum = sum
	sc.mu.Lock()
	sc.entries[rel] = k
	sc.dirty = true
	sc.mu.Unlock()
}

// save writes the cache if it changed.
func (sc *statCache) save() error {
	if sc == nil {
		return nil
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if !sc.dirty {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(sc.path), 0o700); err != nil {
		return err
	}
	sc.dirty = false
	return atomicfile.WriteJSON(sc.path, sc.entries, 0o600)
}
