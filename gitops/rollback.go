package gitops

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// CheckoutPath puts the folder dir of the repository (slash-separated, "."
// for all of it) as it is at commit into the checked-out tree, in place:
// files are written, files the commit's folder does not have are removed.
// The rest of the tree and HEAD stay as they are, so the next Update of the
// same commit leaves the folder alone and a new commit's Update replaces
// it. It is how a stack is rolled back to its last good commit while the
// repository's other stacks stay at the new one.
func (r *Repo) CheckoutPath(commit, dir string) error {
	repo, err := r.open()
	if err != nil {
		return err
	}
	c, err := repo.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		return fmt.Errorf("check out %s of %s: %w", dir, short(commit), err)
	}
	tree, err := c.Tree()
	if err != nil {
		return fmt.Errorf("check out %s of %s: %w", dir, short(commit), err)
	}
	dir = path.Clean(dir)
	if dir != "." {
		if tree, err = tree.Tree(dir); err != nil {
			return fmt.Errorf("check out %s of %s: %w", dir, short(commit), err)
		}
	}
	root := filepath.Join(r.Tree(), filepath.FromSlash(dir))
	want := map[string]bool{}
	err = tree.Files().ForEach(func(f *object.File) error {
		if dir == "." && (f.Name == ".git" || strings.HasPrefix(f.Name, ".git/")) {
			return nil
		}
		want[filepath.FromSlash(f.Name)] = true
		return writeFile(filepath.Join(root, filepath.FromSlash(f.Name)), f)
	})
	if err != nil {
		return fmt.Errorf("check out %s of %s: %w", dir, short(commit), err)
	}
	var stale []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if !want[rel] {
			stale = append(stale, p)
		}
		return nil
	})
	for _, p := range stale {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("check out %s of %s: %w", dir, short(commit), err)
		}
	}
	return nil
}

// writeFile writes a file of the commit at p: a symlink as a symlink, a
// file through a temporary file renamed over p. A file already there with
// that content and mode is left alone (a bind mount of it keeps its inode).
func writeFile(p string, f *object.File) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if f.Mode == filemode.Symlink {
		target, err := f.Contents()
		if err != nil {
			return err
		}
		if err := os.RemoveAll(p); err != nil {
			return err
		}
		return os.Symlink(target, p)
	}
	mode := fs.FileMode(0o644)
	if f.Mode == filemode.Executable {
		mode = 0o755
	}
	if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm() == mode && fi.Size() == f.Size {
		if have, err := os.ReadFile(p); err == nil {
			if want, err := f.Contents(); err == nil && string(have) == want {
				return nil
			}
		}
	}
	rd, err := f.Reader()
	if err != nil {
		return err
	}
	defer rd.Close()
	tmp, err := os.CreateTemp(filepath.Dir(p), ".berth-rollback-*")
	if err != nil {
		return err
	}
	_, err = io.Copy(tmp, rd)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), mode)
	}
	if err == nil {
		if fi, lerr := os.Lstat(p); lerr == nil && fi.IsDir() {
			err = os.RemoveAll(p)
		}
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
