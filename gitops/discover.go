package gitops

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"

	"github.com/berth-dev/berth/spec"
)

// Found is a stack discovered in the checked-out tree.
type Found struct {
	// Path is the stack's folder in the repository, slash-separated ("."
	// for the root).
	Path string
	// Dir is the folder in the checked-out tree.
	Dir string
	// Files are the stack files, as `berth up` discovers them in Dir: the
	// first Compose file and the first override, or stack.hcl and
	// stack.override.hcl. Empty when the folder holds both kinds, which is
	// for the loader to refuse.
	Files []string
}

// Discover finds the stacks under the paths (slash-separated, relative to
// tree; none means the whole tree): every folder holding a Compose file or
// a stack.hcl is a stack. Folders inside a stack are the stack's, not
// stacks of their own, and folders whose name starts with a dot are
// skipped. A followed path that is missing holds no stacks. The result is
// sorted by Path.
func Discover(tree string, paths []string) ([]Found, error) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	seen := map[string]bool{}
	var out []Found
	for _, p := range paths {
		p, err := cleanPath(p)
		if err != nil {
			return nil, err
		}
		root := filepath.Join(tree, filepath.FromSlash(p))
		err = filepath.WalkDir(root, func(dir string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && dir == root {
					return fs.SkipAll
				}
				return err
			}
			if !d.IsDir() {
				return nil
			}
			if dir != root && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			files, ok := stackFiles(dir)
			if !ok {
				return nil
			}
			rel, err := filepath.Rel(tree, dir)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			if !seen[rel] {
				seen[rel] = true
				out = append(out, Found{Path: rel, Dir: dir, Files: files})
			}
			return fs.SkipDir
		})
		if err != nil {
			return nil, fmt.Errorf("discover stacks in %s: %w", p, err)
		}
	}
	slices.SortFunc(out, func(a, b Found) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// stackFiles picks a folder's stack files the way spec's discovery does
// in one directory; ok is false when there is none.
func stackFiles(dir string) (files []string, ok bool) {
	first := func(names []string) string {
		for _, n := range names {
			if fi, err := os.Stat(filepath.Join(dir, n)); err == nil && fi.Mode().IsRegular() {
				return filepath.Join(dir, n)
			}
		}
		return ""
	}
	compose, hcl := first(cli.DefaultFileNames), first([]string{spec.DefaultHCLFile})
	switch {
	case compose != "" && hcl != "":
		return nil, true
	case compose != "":
		files = []string{compose}
		if o := first(cli.DefaultOverrideFileNames); o != "" {
			files = append(files, o)
		}
		return files, true
	case hcl != "":
		files = []string{hcl}
		if o := first([]string{spec.DefaultHCLOverrideFile}); o != "" {
			files = append(files, o)
		}
		return files, true
	}
	return nil, false
}

// under reports whether the repository path p is one of the followed
// paths or inside one.
func under(p string, paths []string) bool {
	if len(paths) == 0 {
		return true
	}
	for _, f := range paths {
		f, err := cleanPath(f)
		if err != nil {
			continue
		}
		if f == "." || p == f || strings.HasPrefix(p, f+"/") {
			return true
		}
	}
	return false
}
