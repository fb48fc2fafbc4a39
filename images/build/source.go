package build

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// source is a tree COPY and ADD read from: the build context (with its
// .dockerignore) or another stage's or image's root filesystem. Paths are
// resolved with os.Root, so no symlink leads out of the tree.
type source struct {
	root *os.Root
	name string // for messages: "build context", "stage builder"

	mu sync.Mutex                     // PatternMatcher is not safe concurrently
	pm *patternmatcher.PatternMatcher // nil: nothing excluded

	sums *statCache // nil: always read files to digest them
}

// openContext opens the build context dir and reads its .dockerignore.
func openContext(dir string) (*source, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	s := &source{root: root, name: "build context"}
	f, err := root.Open(".dockerignore")
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("build context: %w", err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		root.Close()
		return nil, fmt.Errorf(".dockerignore: %w: %w", err, errdefs.ErrInvalidArgument)
	}
	if s.pm, err = patternmatcher.New(patterns); err != nil {
		root.Close()
		return nil, fmt.Errorf(".dockerignore: %w: %w", err, errdefs.ErrInvalidArgument)
	}
	return s, nil
}

func openTree(dir, name string) (*source, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &source{root: root, name: name}, nil
}

func (s *source) Close() error { return s.root.Close() }

// excluded reports whether .dockerignore excludes rel (slash-separated,
// relative to the context).
func (s *source) excluded(rel string) bool {
	if s.pm == nil || rel == "." {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.pm.MatchesOrParentMatches(rel)
	return err == nil && m
}

// mayInclude reports whether an excluded directory may still hold
// re-included entries (a "!" pattern), so that it must be walked.
func (s *source) mayInclude() bool { return s.pm != nil && s.pm.Exclusions() }

// match expands a COPY source pattern into the paths it names, relative to
// the tree, sorted. Wildcards follow filepath.Match, per path component.
func (s *source) match(pattern string) ([]string, error) {
	p := path.Clean("/" + filepath.ToSlash(pattern))[1:]
	if p == "" {
		p = "."
	}
	if !strings.ContainsAny(p, "*?[\\") {
		if _, err := s.root.Stat(p); err != nil || s.excluded(p) {
			return nil, fmt.Errorf("%s: not found in %s (or excluded by .dockerignore): %w", pattern, s.name, errdefs.ErrNotFound)
		}
		return []string{p}, nil
	}
	cands := []string{"."}
	for _, comp := range strings.Split(p, "/") {
		var next []string
		for _, dir := range cands {
			if !strings.ContainsAny(comp, "*?[\\") {
				next = append(next, path.Join(dir, comp))
				continue
			}
			ents, err := fs.ReadDir(s.root.FS(), dir)
			if err != nil {
				continue
			}
			for _, e := range ents {
				ok, err := path.Match(comp, e.Name())
				if err != nil {
					return nil, fmt.Errorf("%s: %w: %w", pattern, err, errdefs.ErrInvalidArgument)
				}
				if ok {
					next = append(next, path.Join(dir, e.Name()))
				}
			}
		}
		cands = next
	}
	var out []string
	for _, c := range cands {
		if _, err := s.root.Lstat(c); err == nil && !s.excluded(c) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no source files were specified (nothing matched in %s): %w", pattern, s.name, errdefs.ErrNotFound)
	}
	sort.Strings(out)
	return out, nil
}

// entry is one file to copy: rel in the source, dest in the image.
type entry struct {
	rel  string
	dest string // absolute, clean
	info fs.FileInfo
	link string // symlink target
}

// walk lists rel and, for a directory, everything under it that
// .dockerignore keeps, in lexical order. The top-level rel is followed if
// it is a symlink (as Docker does for COPY sources); nothing below is.
// dest is where rel itself lands.
func (s *source) walk(rel, dest string) ([]entry, error) {
	fi, err := s.root.Stat(rel)
	if err != nil {
		return nil, fmt.Errorf("%s in %s: %w", rel, s.name, err)
	}
	if !fi.IsDir() {
		return []entry{{rel: rel, dest: dest, info: fi}}, nil
	}
	var out []entry
	err = fs.WalkDir(s.root.FS(), rel, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != rel && s.excluded(p) {
			if d.IsDir() && s.mayInclude() {
				return nil // a "!" pattern may bring back something below
			}
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if p == rel {
			info = fi
		}
		if err != nil {
			return err
		}
		sub, _ := filepath.Rel(rel, p)
		e := entry{rel: p, dest: path.Join(dest, filepath.ToSlash(sub)), info: info}
		if info.Mode()&fs.ModeSymlink != 0 {
			if e.link, err = s.root.Readlink(p); err != nil {
				return err
			}
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s in %s: %w", rel, s.name, err)
	}
	return out, nil
}

// digest is the content digest of entries for the cache key: destination
// names, types, modes, link targets and file contents; not times or owners
// (as BuildKit's content checksums).
func (s *source) digest(entries []entry) (string, error) {
	h := sha256.New()
	buf := make([]byte, 64<<10)
	for _, e := range entries {
		fmt.Fprintf(h, "%s\x00%o\x00%s\x00", e.dest, uint32(e.info.Mode()), e.link)
		if e.info.Mode().IsRegular() {
			sum, ok := s.sums.get(e.rel, e.info)
			if !ok {
				f, err := s.root.Open(e.rel)
				if err != nil {
					return "", err
				}
				fh := sha256.New()
				_, err = io.CopyBuffer(fh, onlyReader{f}, buf)
				f.Close()
				if err != nil {
					return "", err
				}
				sum = hex.EncodeToString(fh.Sum(nil))
				s.sums.put(e.rel, e.info, sum)
			}
			io.WriteString(h, sum)
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// onlyReader hides a file's WriteTo, so that io.CopyBuffer uses the buffer.
type onlyReader struct{ io.Reader }
