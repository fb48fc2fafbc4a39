package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/patternmatcher"
	digest "github.com/opencontainers/go-digest"
)

// copyPlan is a COPY or ADD with its sources resolved: what the cache key
// needs is known before anything is written.
type copyPlan struct {
	sd                       instructions.SourcesAndDest
	from, chown, chmod, name string
	add                      bool
	checksum                 string // ADD --checksum of the URL source
	parents                  bool   // COPY --parents (labs syntax)
	// exclude is --exclude (labs syntax): .dockerignore-style patterns
	// matched against the paths below each directory source, as
	// BuildKit's copy does (a matched source itself is never excluded).
	exclude []string
	// link is --link: the files are copied as onto an empty tree (FROM
	// scratch) whose layer goes on top, as BuildKit does: nothing below
	// is read, so a symlink in the destination path is not followed and
	// parent directories get the defaults (0755, the --chown owner).
	link bool

	key       string
	fromState *state        // --from: the stage or image read
	groups    []copyGroup   // from the context
	fetched   []fetchedFile // ADD URL
}

// copyGroup is the entries of one source, or one archive ADD extracts.
type copyGroup struct {
	entries []entry
	archive string // rel of a tar archive to extract into dest
	dest    string
}

type fetchedFile struct {
	dest  string
	data  []byte
	mtime time.Time
}

// destination resolves the COPY destination in the image below: whether it
// is a directory (a trailing slash, ".", or an existing directory) and
// where it really is after the image's symlinks.
func destination(st *state, lower *layered, raw string, n int, name string) (dest string, isDir bool, err error) {
	d := st.resolvePath(raw)
	isDir = strings.HasSuffix(d, "/") || raw == "." || strings.HasSuffix(raw, "/.") || lower.isDir(d)
	if n > 1 && !isDir {
		return "", false, fmt.Errorf("when using %s with more than one source file, the destination must be a directory and end with a /: %w", name, errdefs.ErrInvalidArgument)
	}
	clean := cleanAbs(d)
	if isDir {
		dest, err = lower.resolve(clean, true)
	} else {
		var dir string
		dir, err = lower.resolve(path.Dir(clean), true)
		dest = path.Join(dir, path.Base(clean))
	}
	return dest, isDir, err
}

// destLower is the tree a COPY or ADD writes onto: the image below, or
// nothing with --link.
func (bd *build) destLower(st *state, cp *copyPlan) *layered {
	if cp.link {
		return newLayered(nil)
	}
	return newLayered(bd.layerDirs(st))
}

// planCopy resolves a COPY or ADD's sources and computes its cache key
// part: the --from stage's or image's state, or the content digest of the
// context files it reads (after .dockerignore), or of fetched URLs.
func (bd *build) planCopy(ctx context.Context, st *state, cp *copyPlan, stageIdx int) (*copyPlan, error) {
	lower := bd.destLower(st, cp)
	n := len(cp.sd.SourcePaths) + len(cp.sd.SourceContents)
	if cp.from != "" {
		if j := bd.stageRef(cp.from, stageIdx); j >= 0 {
			fs, err := bd.stages[j]()
			if err != nil {
				return nil, err
			}
			cp.fromState = fs
		} else {
			im, err := bd.image(ctx, cp.from, bd.platform, bd.opts.Platform != "")
			if err != nil {
				return nil, fmt.Errorf("--from=%s: %w", cp.from, err)
			}
			if cp.fromState, err = stateOf(im); err != nil {
				return nil, err
			}
		}
		cp.key = "from " + cp.fromState.digest()
		return cp, nil
	}
	var locals []string
	var matches []string
	for _, s := range cp.sd.SourcePaths {
		if cp.add && isURL(s) {
			continue
		}
		locals = append(locals, s)
	}
	if len(locals) > 0 && bd.ctxSrc == nil {
		return nil, fmt.Errorf("%s needs a build context: %w", cp.name, errdefs.ErrInvalidArgument)
	}
	if cp.parents {
		dest, _, err := destination(st, lower, parentsDest(cp.sd.DestPath), 1, cp.name)
		if err != nil {
			return nil, err
		}
		if cp.groups, err = parentsGroups(bd.ctxSrc, locals, dest, cp.exclude); err != nil {
			return nil, err
		}
		h := sha256.New()
		for _, g := range cp.groups {
			d, err := bd.ctxSrc.digest(g.entries)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(h, "parents\x00%s\n", d)
		}
		cp.key = "content " + hex.EncodeToString(h.Sum(nil))
		return cp, nil
	}
	if len(locals) > 0 {
		for _, s := range locals {
			m, err := bd.ctxSrc.match(s)
			if err != nil {
				return nil, err
			}
			matches = append(matches, m...)
		}
		// As BuildKit, "more than one source" counts the arguments, not
		// what a wildcard matched: the directories it matches are merged
		// into the destination, files it matches land on it.
	}
	dest, isDir, err := destination(st, lower, cp.sd.DestPath, n, cp.name)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	for _, m := range matches {
		fi, err := bd.ctxSrc.root.Stat(m)
		if err != nil {
			return nil, err
		}
		g := copyGroup{dest: dest}
		switch {
		case fi.IsDir():
			if g.entries, err = bd.ctxSrc.walk(m, dest); err != nil {
				return nil, err
			}
			if g.entries, err = excludeBelow(g.entries, m, cp.exclude); err != nil {
				return nil, err
			}
			if lower.isDir(dest) && len(g.entries) > 0 {
				g.entries = g.entries[1:] // keep the existing directory as it is
			}
		case cp.add && fi.Mode().IsRegular() && bd.isArchive(m):
			g.archive = m
			if g.entries, err = bd.ctxSrc.walk(m, dest); err != nil {
				return nil, err
			}
		default:
			target := dest
			if isDir {
				target = path.Join(dest, path.Base(m))
			}
			if g.entries, err = bd.ctxSrc.walk(m, target); err != nil {
				return nil, err
			}
		}
		d, err := bd.ctxSrc.digest(g.entries)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(h, "%s\x00%s\x00%s\n", m, g.archive, d)
		cp.groups = append(cp.groups, g)
	}
	for _, s := range cp.sd.SourcePaths {
		if !cp.add || !isURL(s) {
			continue
		}
		f, err := fetch(ctx, s)
		if err != nil {
			return nil, err
		}
		if err := verifyChecksum(s, f.data, cp.checksum); err != nil {
			return nil, err
		}
		f.dest = dest
		if isDir {
			f.dest = path.Join(dest, urlBase(s))
		}
		sum := sha256.Sum256(f.data)
		fmt.Fprintf(h, "url %s\x00%s\x00%s\n", s, f.dest, hex.EncodeToString(sum[:]))
		cp.fetched = append(cp.fetched, f)
	}
	cp.key = "content " + hex.EncodeToString(h.Sum(nil))
	return cp, nil
}

func (bd *build) isArchive(rel string) bool {
	f, err := bd.ctxSrc.root.Open(rel)
	if err != nil {
		return false
	}
	defer f.Close()
	_, _, closeFn, ok := openArchive(f)
	if ok {
		closeFn()
	}
	return ok
}

func urlBase(s string) string {
	u, err := url.Parse(s)
	if err != nil || path.Base(u.Path) == "/" || path.Base(u.Path) == "." {
		return "index.html"
	}
	return path.Base(u.Path)
}

// fetch downloads an ADD URL. Docker gives the file mode 0600 and the
// Last-Modified time.
func fetch(ctx context.Context, u string) (fetchedFile, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fetchedFile{}, fmt.Errorf("ADD %s: %w: %w", u, err, errdefs.ErrInvalidArgument)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fetchedFile{}, fmt.Errorf("ADD %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fetchedFile{}, fmt.Errorf("ADD %s: %s: %w", u, resp.Status, errdefs.ErrUnavailable)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fetchedFile{}, fmt.Errorf("ADD %s: %w", u, err)
	}
	f := fetchedFile{data: data, mtime: time.Unix(0, 0)}
	if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		f.mtime = t
	}
	return f, nil
}

// verifyChecksum checks ADD --checksum (algorithm:hex, as BuildKit: sha256,
// sha384 or sha512) of the data fetched from u; "" checks nothing.
func verifyChecksum(u string, data []byte, checksum string) error {
	if checksum == "" {
		return nil
	}
	want, err := digest.Parse(checksum)
	if err != nil {
		return fmt.Errorf("ADD --checksum=%s: %w: %w", checksum, err, errdefs.ErrInvalidArgument)
	}
	if got := want.Algorithm().FromBytes(data); got != want {
		return fmt.Errorf("ADD %s: checksum mismatch: --checksum=%s, downloaded %s: %w", u, want, got, errdefs.ErrFailedPrecondition)
	}
	return nil
}

// execCopy writes the layer of a planned COPY or ADD.
func (bd *build) execCopy(ctx context.Context, st *state, cp *copyPlan) (*state, error) {
	// Owner names come from the image below, with --link too.
	own, err := parseChown(cp.chown, newLayered(bd.layerDirs(st)))
	if err != nil {
		return nil, err
	}
	mode, err := parseChmod(cp.chmod)
	if err != nil {
		return nil, err
	}
	lower := bd.destLower(st, cp)
	src := bd.ctxSrc
	groups := cp.groups
	if cp.fromState != nil {
		dir, release, err := bd.b.view(bd.layerDirs(cp.fromState))
		if err != nil {
			return nil, err
		}
		defer release()
		if src, err = openTree(dir, "--from="+cp.from); err != nil {
			return nil, err
		}
		defer src.Close()
		fromGroups, err := stageGroups(st, lower, cp, src)
		if err != nil {
			return nil, err
		}
		groups = append(groups, fromGroups...)
	}
	now := bd.b.now()
	contentDest, contentFile := "", ""
	if len(cp.sd.SourceContents) > 0 {
		d, isDir, err := destination(st, lower, cp.sd.DestPath, len(cp.sd.SourceContents)+len(cp.sd.SourcePaths), cp.name)
		if err != nil {
			return nil, err
		}
		contentDest = d
		if !isDir { // one heredoc copied as the destination file
			contentFile = d
		}
	}
	l, err := bd.layerFrom(ctx, st, func(w io.Writer) error {
		t := newLayerTar(w, lower, now)
		for _, g := range groups {
			if g.archive != "" {
				if err := bd.extractArchive(t, g); err != nil {
					return err
				}
				continue
			}
			if err := t.copyEntries(src, g.entries, own, mode); err != nil {
				return err
			}
		}
		for _, f := range cp.fetched {
			m := int64(0o600)
			if mode != nil {
				m = int64(*mode)
			}
			if err := t.writeFile(f.dest, bytes.NewReader(f.data), int64(len(f.data)), m, f.mtime, own); err != nil {
				return err
			}
		}
		for _, sc := range cp.sd.SourceContents { // COPY <<EOF heredocs
			m := int64(0o644)
			if mode != nil {
				m = int64(*mode)
			}
			name := contentFile
			if name == "" {
				name = path.Join(contentDest, path.Base(sc.Path))
			}
			if err := t.writeFile(name, strings.NewReader(sc.Data), int64(len(sc.Data)), m, now, own); err != nil {
				return err
			}
		}
		return t.Close()
	})
	if err != nil {
		return nil, err
	}
	next := st.clone()
	next.addLayer(l)
	srcs := strings.Join(cp.sd.SourcePaths, " ")
	if cp.from != "" {
		srcs = "--from=" + cp.from + " " + srcs
	}
	next.history(now, fmt.Sprintf("/bin/sh -c #(nop) %s %s in %s", cp.name, srcs, cp.sd.DestPath), false)
	return next, nil
}

// stageGroups plans what COPY --from copies out of the stage's tree src:
// a group per match of the source paths. Unlike the build context's, they
// are known only once the stage is built.
func stageGroups(st *state, lower *layered, cp *copyPlan, src *source) ([]copyGroup, error) {
	if cp.parents {
		dest, _, err := destination(st, lower, parentsDest(cp.sd.DestPath), 1, cp.name)
		if err != nil {
			return nil, err
		}
		return parentsGroups(src, cp.sd.SourcePaths, dest, cp.exclude)
	}
	var matches []string
	for _, s := range cp.sd.SourcePaths {
		m, err := src.match(s)
		if err != nil {
			return nil, err
		}
		matches = append(matches, m...)
	}
	dest, isDir, err := destination(st, lower, cp.sd.DestPath, len(matches), cp.name)
	if err != nil {
		return nil, err
	}
	var groups []copyGroup
	for _, m := range matches {
		fi, err := src.root.Stat(m)
		if err != nil {
			return nil, err
		}
		target := dest
		if !fi.IsDir() && isDir {
			target = path.Join(dest, path.Base(m))
		}
		es, err := src.walk(m, target)
		if err != nil {
			return nil, err
		}
		if fi.IsDir() {
			if es, err = excludeBelow(es, m, cp.exclude); err != nil {
				return nil, err
			}
		}
		if fi.IsDir() && lower.isDir(dest) && len(es) > 0 {
			es = es[1:]
		}
		groups = append(groups, copyGroup{entries: es, dest: dest})
	}
	return groups, nil
}

// excludeBelow drops from the entries of the directory source dir those
// whose path below it matches patterns (or lies in a directory that does,
// unless a "!" pattern brings it back), as COPY --exclude.
func excludeBelow(entries []entry, dir string, patterns []string) ([]entry, error) {
	if len(patterns) == 0 {
		return entries, nil
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("--exclude: %w: %w", err, errdefs.ErrInvalidArgument)
	}
	var out []entry
	for _, e := range entries {
		rel := e.rel
		if dir != "." {
			rel = strings.TrimPrefix(e.rel, dir+"/")
		}
		if e.rel != dir {
			if m, err := pm.MatchesOrParentMatches(rel); err != nil {
				return nil, fmt.Errorf("--exclude: %w: %w", err, errdefs.ErrInvalidArgument)
			} else if m {
				continue
			}
		}
		out = append(out, e)
	}
	return out, nil
}

func (bd *build) extractArchive(t *layerTar, g copyGroup) error {
	f, err := bd.ctxSrc.root.Open(g.archive)
	if err != nil {
		return err
	}
	defer f.Close()
	tr, first, closeFn, ok := openArchive(f)
	if !ok {
		return fmt.Errorf("%s: not an archive", g.archive)
	}
	defer closeFn()
	return t.extract(tr, first, g.dest)
}
