package spec

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/consts"

	"github.com/berth-dev/berth/internal/atomicfile"
)

// DefaultCacheEntries is how many loaded stacks a Cache keeps when not told.
const DefaultCacheEntries = 64

// Cache keeps loaded stacks on disk so that loading an unchanged stack
// again skips compose-go (hundreds of milliseconds for a large stack) and
// costs reading its files and decoding the model (a few milliseconds).
//
// An entry is found by a key made of the Options (files as given, working
// directory, project name, env files, profiles, HCL variables and var
// files, services, NoInterpolate), the current directory, the environment
// variables that choose the files (COMPOSE_FILE and the other COMPOSE_*
// variables loading reads), berth's binary and the Go types of the model.
// It holds the loaded Stack; it is used only when the stack's
// CurrentDigest, the digest of every input file and every environment
// variable the load consulted as they are now, equals the Digest it was
// stored with. So a cached load returns what LoadStack would return, and
// an edit to any file or variable the model came from is a miss.
//
// Only successful loads are stored. A missing, unreadable, corrupt or
// outdated entry is a miss, never an error, and so is a cache directory
// that cannot be written: the cache only ever saves time. Entries are
// written atomically (internal/atomicfile), so concurrent berth processes
// share a directory safely; the last writer of an entry wins. The
// directory keeps at most Max entries, the least recently used are
// removed.
//
// A Cache is safe for concurrent use. A nil *Cache loads without caching.
type Cache struct {
	dir string
	max int
}

// NewCache returns a cache in dir (created when first written) keeping at
// most max entries (DefaultCacheEntries when max <= 0).
func NewCache(dir string, max int) *Cache {
	if max <= 0 {
		max = DefaultCacheEntries
	}
	return &Cache{dir: dir, max: max}
}

// LoadStack is LoadStack through the cache: a stored model when its inputs
// are unchanged, otherwise a load, stored for next time.
func (c *Cache) LoadStack(ctx context.Context, o Options) (*Stack, error) {
	s, _, err := c.load(ctx, o)
	return s, err
}

// load is LoadStack that also says whether the cache answered.
func (c *Cache) load(ctx context.Context, o Options) (*Stack, bool, error) {
	if c == nil {
		s, err := LoadStack(ctx, o)
		return s, false, err
	}
	if o.Env == nil {
		o.Env = osEnv() // the same environment for the key, the check and the load
	}
	key, ok := cacheKey(o)
	if !ok {
		s, err := LoadStack(ctx, o)
		return s, false, err
	}
	path := filepath.Join(c.dir, key+cacheExt)
	if s, ok := c.get(path, o.Env); ok {
		return s, true, nil
	}
	start := time.Now()
	s, err := LoadStack(ctx, o)
	if err != nil {
		return nil, false, err
	}
	if !changedSince(slices.Concat(s.Files, s.Absent), start.Add(-time.Second)) {
		c.put(path, s)
	}
	return s, false, nil
}

const (
	cacheExt    = ".stack"
	cacheMagic  = "berth stack cache 1\n"
	crcSize     = 4
	cacheFormat = "1" // bump when what LoadStack produces changes meaning
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// get returns the entry at path when it decodes and its inputs are
// unchanged.
func (c *Cache) get(path string, env map[string]string) (*Stack, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	s, err := decodeEntry(b)
	if err != nil {
		return nil, false
	}
	d, err := s.CurrentDigest(env)
	if err != nil || d != s.Digest {
		return nil, false
	}
	now := time.Now()
	_ = os.Chtimes(path, now, now) // recently used; see prune
	return s, true
}

// put stores s at path and prunes the directory. Failures are ignored: the
// next load is only slower.
func (c *Cache) put(path string, s *Stack) {
	b, err := encodeEntry(s)
	if err != nil {
		return
	}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return
	}
	if atomicfile.Write(path, b, 0o600) != nil {
		return
	}
	c.prune()
}

// prune removes the least recently used entries beyond c.max.
func (c *Cache) prune() {
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		return
	}
	type entry struct {
		path string
		used time.Time
	}
	var es []entry
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), cacheExt) {
			continue
		}
		if fi, err := e.Info(); err == nil {
			es = append(es, entry{filepath.Join(c.dir, e.Name()), fi.ModTime()})
		}
	}
	if len(es) <= c.max {
		return
	}
	slices.SortFunc(es, func(a, b entry) int { return b.used.Compare(a.used) })
	for _, e := range es[c.max:] {
		_ = os.Remove(e.path)
	}
}

func encodeEntry(s *Stack) ([]byte, error) {
	b, err := encodeValue([]byte(cacheMagic), *s)
	if err != nil {
		return nil, err
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, crcTable)), nil
}

func decodeEntry(b []byte) (*Stack, error) {
	if len(b) < len(cacheMagic)+crcSize || !bytes.HasPrefix(b, []byte(cacheMagic)) {
		return nil, errCorrupt
	}
	body, sum := b[:len(b)-crcSize], b[len(b)-crcSize:]
	if crc32.Checksum(body, crcTable) != binary.BigEndian.Uint32(sum) {
		return nil, errCorrupt
	}
	var s Stack
	if err := decodeValue(body[len(cacheMagic):], &s); err != nil {
		return nil, err
	}
	if s.Project == nil {
		return nil, errCorrupt
	}
	return &s, nil
}

// changedSince says whether any of files was modified at or after t: the
// load may have read it half-way through an edit, so its model is not
// stored under the digest of the new content.
func changedSince(files []string, t time.Time) bool {
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return true
		}
		if err == nil && !fi.ModTime().Before(t) {
			return true
		}
	}
	return false
}

// discoveryEnv are the variables that decide which files a load reads;
// they are in the key so that two environments choosing different files
// keep different entries instead of replacing each other's.
var discoveryEnv = []string{
	consts.ComposeFilePath, consts.ComposePathSeparator, consts.ComposeProjectName,
	consts.ComposeProfiles, consts.ComposeDisableDefaultEnvFile,
}

// cacheKey is the file name of the entry for o, or false when o cannot be
// cached (the current directory is unknown).
func cacheKey(o Options) (string, bool) {
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	h := newDigest()
	h.str(cacheFormat)
	h.str(cacheIdentity())
	h.str(wd)
	list := func(name string, ss []string) {
		h.str(name)
		h.str(strconv.Itoa(len(ss)))
		for _, s := range ss {
			h.str(s)
		}
	}
	list("files", o.Files)
	h.str("workdir")
	h.str(o.WorkingDir)
	h.str("project")
	h.str(o.ProjectName)
	list("env-files", o.EnvFiles)
	list("profiles", o.Profiles)
	list("var-files", o.VarFiles)
	list("services", o.Services)
	h.str("vars")
	for _, k := range slices.Sorted(maps.Keys(o.Vars)) {
		h.str(k)
		h.str(o.Vars[k])
	}
	h.str("no-interpolate")
	h.str(strconv.FormatBool(o.NoInterpolate))
	for _, k := range discoveryEnv {
		v, ok := o.Env[k]
		h.str(k)
		h.str(strconv.FormatBool(ok))
		h.str(v)
	}
	return strings.TrimPrefix(h.sum(), "sha256:"), true
}

var (
	identityOnce sync.Once
	identity     string
)

// cacheIdentity names the program and the model's Go types: an entry
// written by another build of berth (a new compose-go, a fix in loading)
// is never read. The executable is named by path, size and modification
// time, which change with every install.
func cacheIdentity() string {
	identityOnce.Do(func() {
		var b strings.Builder
		if exe, err := os.Executable(); err == nil {
			b.WriteString(exe)
			if fi, err := os.Stat(exe); err == nil {
				b.WriteString(" " + strconv.FormatInt(fi.Size(), 10) + " " + fi.ModTime().UTC().Format(time.RFC3339Nano))
			}
		}
		sum := newDigest()
		sum.str(codecTypeFingerprint(reflect.TypeFor[Stack]()))
		b.WriteString(" " + sum.sum())
		identity = b.String()
	})
	return identity
}
