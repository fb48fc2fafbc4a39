// Package gitops follows a Git repository that holds stacks: it fetches
// the repository with go-git, checks the commit a ref names out into a
// state directory, discovers the stacks under the followed paths, hands
// each one to an Applier (which converges it as `berth up -d` does), prunes
// the stacks that left the repository, and keeps a status record per
// repository. It also verifies the push webhooks of GitHub, GitLab and
// Gitea.
//
// It owns Git and its state directory. It must not plan or apply anything
// itself, nor import runtime, network or volumes implementations: the
// Applier is the controller's seam (cmd/berth wires the up code path into
// it), and a trigger (a timer tick, a webhook) only says "the stacks may
// need work".
package gitops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Repo is a followed repository: its objects under Dir/git and the tree of
// the commit last checked out under Tree(). The tree is updated in place,
// so the stacks' paths (bind mounts, env files) stay the same from one
// commit to the next and an unchanged service is not recreated.
//
// A Repo is not safe for concurrent use; the Syncer serialises it.
type Repo struct {
	URL  string
	Ref  string // branch, tag or commit SHA; "" is the remote's HEAD
	Dir  string // the repository's state directory (StateDir)
	Auth transport.AuthMethod
}

// StateDir is the state directory under base (<root>/gitops) of what key
// names: a hash of it, so that two keys never share one. cmd/berth keys by
// the URL, the ref and the followed paths.
func StateDir(base, key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(base, hex.EncodeToString(sum[:8]))
}

// Tree is the directory holding the checked-out tree: Dir/src/<name>, where
// name is the repository's name (the URL's last element without .git), so
// that a stack at the repository's root is named after the repository.
func (r *Repo) Tree() string {
	return filepath.Join(r.Dir, "src", repoName(r.URL))
}

func repoName(url string) string {
	u := strings.TrimRight(url, "/")
	if i := strings.LastIndexAny(u, "/:"); i >= 0 {
		u = u[i+1:]
	}
	u = strings.TrimSuffix(u, ".git")
	if u == "" || u == "." || u == ".." {
		return "repo"
	}
	return u
}

// Update fetches the repository, resolves Ref and checks its commit out
// into Tree (files the new commit deleted are deleted). It returns the
// commit's SHA. It is idempotent: a commit already checked out is left as
// it is.
func (r *Repo) Update(ctx context.Context) (string, error) {
	repo, err := r.open()
	if err != nil {
		return "", err
	}
	err = repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: "origin",
		RefSpecs:   []config.RefSpec{"+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"},
		Auth:       r.Auth,
		Tags:       git.NoTags,
		Force:      true,
		Prune:      true,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return "", fmt.Errorf("fetch %s: %w", r.URL, err)
	}
	hash, err := r.resolve(ctx, repo)
	if err != nil {
		return "", err
	}
	if head, err := repo.Head(); err == nil && head.Hash() == hash {
		return hash.String(), nil
	}
	wt, err := repo.Worktree()
	if err != nil {
		return "", fmt.Errorf("check out %s: %w", hash, err)
	}
	if err := wt.Checkout(&git.CheckoutOptions{Hash: hash, Force: true}); err != nil {
		return "", fmt.Errorf("check out %s: %w", hash, err)
	}
	return hash.String(), nil
}

// open opens the local repository, creating it (with the remote "origin")
// on first use.
func (r *Repo) open() (*git.Repository, error) {
	for _, d := range []string{filepath.Join(r.Dir, "git"), r.Tree()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open %s: %w", r.URL, err)
		}
	}
	st := filesystem.NewStorage(osfs.New(filepath.Join(r.Dir, "git")), cache.NewObjectLRUDefault())
	wt := osfs.New(r.Tree())
	repo, err := git.Open(st, wt)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		repo, err = git.Init(st, wt)
		if err == nil {
			_, err = repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{r.URL}})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", r.URL, err)
	}
	return repo, nil
}

// resolve finds the commit Ref names among the fetched references: a
// branch, then a tag (annotated ones peeled), then a commit SHA (full or
// abbreviated). An empty Ref is the branch the remote's HEAD points at.
func (r *Repo) resolve(ctx context.Context, repo *git.Repository) (plumbing.Hash, error) {
	ref := r.Ref
	if ref == "" {
		head, err := r.remoteHead(ctx, repo)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		ref = head
	}
	var names []plumbing.ReferenceName
	switch {
	case strings.HasPrefix(ref, "refs/heads/"):
		names = append(names, plumbing.NewRemoteReferenceName("origin", strings.TrimPrefix(ref, "refs/heads/")))
	case strings.HasPrefix(ref, "refs/"):
		names = append(names, plumbing.ReferenceName(ref))
	default:
		names = append(names, plumbing.NewRemoteReferenceName("origin", ref), plumbing.NewTagReferenceName(ref))
	}
	for _, n := range names {
		rf, err := repo.Reference(n, true)
		if err != nil {
			continue
		}
		return peel(repo, rf.Hash())
	}
	if isHex(ref) {
		if h, err := repo.ResolveRevision(plumbing.Revision(ref)); err == nil {
			return peel(repo, *h)
		}
	}
	return plumbing.ZeroHash, fmt.Errorf("ref %q: no such branch, tag or commit in %s: %w", ref, r.URL, errdefs.ErrNotFound)
}

// remoteHead is the branch the remote's HEAD names (or its commit SHA when
// the remote does not say).
func (r *Repo) remoteHead(ctx context.Context, repo *git.Repository) (string, error) {
	remote, err := repo.Remote("origin")
	if err != nil {
		return "", fmt.Errorf("remote of %s: %w", r.URL, err)
	}
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: r.Auth})
	if err != nil {
		return "", fmt.Errorf("list %s: %w", r.URL, err)
	}
	for _, rf := range refs {
		if rf.Name() != plumbing.HEAD {
			continue
		}
		if rf.Type() == plumbing.SymbolicReference {
			return rf.Target().String(), nil
		}
		return rf.Hash().String(), nil
	}
	return "", fmt.Errorf("%s has no HEAD: give --ref: %w", r.URL, errdefs.ErrNotFound)
}

// peel turns a tag object's hash into its commit's.
func peel(repo *git.Repository, h plumbing.Hash) (plumbing.Hash, error) {
	for range 10 {
		tag, err := repo.TagObject(h)
		if err != nil {
			break
		}
		h = tag.Target
	}
	c, err := repo.CommitObject(h)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("commit %s: %w", h, err)
	}
	return c.Hash, nil
}

func isHex(s string) bool {
	if len(s) < 4 || len(s) > 40 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// cleanPath checks a --path: relative, inside the repository, in slash
// form ("." for the root).
func cleanPath(p string) (string, error) {
	p = path.Clean(filepath.ToSlash(p))
	if path.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") {
		return "", fmt.Errorf("path %q: want a folder inside the repository: %w", p, errdefs.ErrInvalidArgument)
	}
	return p, nil
}
