//go:build !lean

package images

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
)

// PullResult is what a pull stored.
type PullResult struct {
	Ref    string // the full reference pulled: docker.io/library/busybox:latest
	ID     string // the image ID
	Digest string // the manifest (or index) digest the registry gave for Ref
}

// Pull fetches the image ref names (NAME[:TAG|@DIGEST], normalised as
// Docker does) into st and names it ref and repo@digest. Layers are fetched
// in parallel and unpacked while they download; layers st already has are
// skipped. Nothing is visible as an image until everything is stored and
// verified; an interrupted pull leaves only garbage for GC, and the next
// pull skips the layers it completed and resumes the ones it was fetching. For Docker Hub, mirrors are tried first.
func (r *Registries) Pull(ctx context.Context, st *Store, ref string, opts PullOptions) (PullResult, error) {
	full, err := Normalize(ref)
	if err != nil {
		return PullResult{}, err
	}
	res, err := r.pull(ctx, st, full, opts)
	if err != nil {
		return PullResult{}, fmt.Errorf("pull %s: %w", Familiar(full), err)
	}
	return res, nil
}

// PullAllTags pulls every tag of ref's repository, as `pull -a`.
func (r *Registries) PullAllTags(ctx context.Context, st *Store, ref string, opts PullOptions) ([]PullResult, error) {
	full, err := Normalize(ref)
	if err != nil {
		return nil, err
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid reference format: %s: %v", ref, err))
	}
	if !reference.IsNameOnly(named) {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("tag can't be used with --all-tags/-a: %s", ref))
	}
	repoFull := repoOf(full)
	tags, err := r.Tags(ctx, repoFull)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", reference.FamiliarName(named), err)
	}
	var out []PullResult
	for _, t := range tags {
		res, err := r.Pull(ctx, st, repoFull+":"+t, opts)
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
	return out, nil
}

// Tags lists the tags of a repository (a full name without tag).
func (r *Registries) Tags(ctx context.Context, repoFull string) ([]string, error) {
	refs, err := r.endpoints(repoFull + ":latest")
	if err != nil {
		return nil, err
	}
	var last error
	for _, ref := range refs {
		tags, err := remote.List(ref.Context(), r.options(ctx)...)
		if err == nil {
			return tags, nil
		}
		if last = registryError(err); ctx.Err() != nil {
			break
		}
	}
	return nil, last
}

func (r *Registries) pull(ctx context.Context, st *Store, full string, opts PullOptions) (PullResult, error) {
	refs, err := r.endpoints(full)
	if err != nil {
		return PullResult{}, err
	}
	var last error
	for _, ref := range refs {
		res, err := r.pullFrom(ctx, st, full, ref, opts)
		if err == nil {
			return res, nil
		}
		last = err
		// A mirror that fails for any reason is skipped, as Docker does;
		// bad input or a cancelled pull is not retried elsewhere.
		if ctx.Err() != nil || errdefs.IsInvalidArgument(err) {
			break
		}
	}
	return PullResult{}, last
}

// pullFrom pulls full from the endpoint ref (the origin or a mirror).
func (r *Registries) pullFrom(ctx context.Context, st *Store, full string, ref name.Reference, opts PullOptions) (PullResult, error) {
	report := progressFunc(opts.Progress, Familiar(full))
	report(Progress{Status: StatusResolving})
	desc, err := remote.Get(ref, r.options(ctx)...)
	if err != nil {
		return PullResult{}, registryError(err)
	}
	img, err := r.choose(ctx, desc, ref, opts.Platform)
	if err != nil {
		return PullResult{}, err
	}
	// Files in tmp/ before we start are a killed writer's, or a
	// concurrent one's: collect once this pull is done, if no writer is
	// active then.
	stale := st.hasTemp()
	in, err := st.Ingest(ctx)
	if err != nil {
		return PullResult{}, err
	}
	defer in.Close()
	// Layers resume from their partial downloads by Range requests to
	// the endpoint they come from.
	from := func(ctx context.Context, digest v1.Hash, offset, size int64) (io.ReadCloser, int64, error) {
		return r.fetchBlobFrom(ctx, ref.Context(), digest, offset, size)
	}
	mdesc, err := storeImage(ctx, in, img, opts, from, report)
	if err != nil {
		// What this pull stored no image names. After bad content or a
		// refusal, collect it now (unless another writer is active; then
		// the next rmi, prune or GC will). After a network failure or a
		// cancel, keep the layers that completed, verified, for the next
		// pull to skip: it resumes at layer granularity.
		in.Close()
		if !resumable(err) {
			_, _ = st.collect(context.WithoutCancel(ctx), true)
		}
		return PullResult{}, err
	}
	repo, tag, _ := splitFull(full)
	names := []string{repo + "@" + desc.Digest.String()}
	if tag != "" {
		names = append([]string{full}, names...)
	}
	id, err := in.AddImage(ctx, mdesc, names...)
	if err != nil {
		return PullResult{}, err
	}
	if stale {
		in.Close()
		_, _ = st.collect(ctx, true)
	}
	report(Progress{Status: StatusDigest + ": " + desc.Digest.String()})
	return PullResult{Ref: full, ID: id, Digest: desc.Digest.String()}, nil
}

// choose returns the image desc names, picking the platform's manifest
// from an index.
func (r *Registries) choose(ctx context.Context, desc *remote.Descriptor, ref name.Reference, platformStr string) (v1.Image, error) {
	want, err := platform(platformStr)
	if err != nil {
		return nil, err
	}
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return nil, registryError(err)
		}
		if platformStr != "" {
			// Like Docker: a single-platform image must match an explicit
			// --platform.
			cf, err := img.ConfigFile()
			if err != nil {
				return nil, registryError(err)
			}
			got := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
			if !platformMatches(got, *want) {
				return nil, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("image is for %s, not %s", platformString(got), platformString(*want)))
			}
		}
		return img, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, registryError(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, registryError(err)
	}
	var available []string
	for _, m := range im.Manifests {
		if m.Platform == nil || !m.MediaType.IsImage() {
			continue
		}
		if m.Platform.OS == "unknown" { // attestations
			continue
		}
		available = append(available, platformString(*m.Platform))
		if platformMatches(*m.Platform, *want) {
			img, err := remote.Image(ref.Context().Digest(m.Digest.String()), r.options(ctx)...)
			if err != nil {
				return nil, registryError(err)
			}
			return img, nil
		}
	}
	return nil, errdefs.ErrNotFound.WithMessage(fmt.Sprintf("no matching manifest for %s in the manifest list entries (has %s)", platformString(*want), strings.Join(available, ", ")))
}

// storeImage stores img's config, layers and manifest through in and
// returns the manifest's descriptor, ready for AddImage.
func storeImage(ctx context.Context, in *Ingest, img v1.Image, opts PullOptions, from rangeFetcher, report func(Progress)) (v1.Descriptor, error) {
	raw, err := img.RawManifest()
	if err != nil {
		return v1.Descriptor{}, registryError(err)
	}
	mt, err := img.MediaType()
	if err != nil {
		return v1.Descriptor{}, registryError(err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("manifest: %w", err)
	}
	cfgRaw, err := img.RawConfigFile()
	if err != nil {
		return v1.Descriptor{}, registryError(err)
	}
	if _, _, err := in.WriteBlob(ctx, bytes.NewReader(cfgRaw), m.Config.Digest); err != nil {
		return v1.Descriptor{}, fmt.Errorf("config: %w", err)
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(cfgRaw))
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("config: %w", err)
	}
	if len(cf.RootFS.DiffIDs) != len(m.Layers) {
		return v1.Descriptor{}, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("image has %d layers but %d diff IDs", len(m.Layers), len(cf.RootFS.DiffIDs)))
	}
	if err := storeLayers(ctx, in, img, m, cf, opts, from, report); err != nil {
		return v1.Descriptor{}, err
	}
	digest, size, err := in.WriteBlob(ctx, bytes.NewReader(raw), v1.Hash{})
	if err != nil {
		return v1.Descriptor{}, err
	}
	if want, err := img.Digest(); err == nil && want != digest {
		return v1.Descriptor{}, digestMismatch("manifest", want, digest)
	}
	return v1.Descriptor{MediaType: mt, Digest: digest, Size: size}, nil
}

// storeLayers fetches the layers st lacks, opts.Jobs at a time, each
// streamed through decompression into its unpacked directory.
func storeLayers(ctx context.Context, in *Ingest, img v1.Image, m *v1.Manifest, cf *v1.ConfigFile, opts PullOptions, from rangeFetcher, report func(Progress)) error {
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = 4
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	var parent v1.Hash
	seen := map[v1.Hash]bool{}
	for i, l := range m.Layers {
		diffID := cf.RootFS.DiffIDs[i]
		li := LayerInput{Parent: parent, MediaType: l.MediaType, Digest: l.Digest, DiffID: diffID}
		parent = ChainID(parent, diffID)
		chain := parent // parent changes under the goroutine
		id := shortDigest(l.Digest)
		if seen[chain] {
			continue
		}
		seen[chain] = true
		if in.s.HasLayer(chain) && in.s.HasBlob(l.Digest) {
			report(Progress{ID: id, Status: StatusExists})
			continue
		}
		if !l.MediaType.IsLayer() && l.MediaType != "" {
			return errdefs.ErrNotImplemented.WithMessage(fmt.Sprintf("layer %s: media type %s", l.Digest, l.MediaType))
		}
		report(Progress{ID: id, Status: StatusWaiting})
		g.Go(func() error {
			layer, err := img.LayerByDigest(l.Digest)
			if err != nil {
				return fmt.Errorf("layer %s: %w", l.Digest, registryError(err))
			}
			if err := fetchLayer(gctx, in, layer, l, li, chain, from, func(n int64) {
				report(Progress{ID: id, Status: StatusDownloading, Current: n, Total: l.Size})
			}); err != nil {
				return fmt.Errorf("layer %s: %w", l.Digest, err)
			}
			report(Progress{ID: id, Status: StatusComplete, Current: l.Size, Total: l.Size})
			return nil
		})
	}
	return g.Wait()
}

// rangeFetcher fetches a blob from offset on: the body and the offset it
// really starts at (0 when the registry sent it whole).
type rangeFetcher func(ctx context.Context, digest v1.Hash, offset, size int64) (io.ReadCloser, int64, error)

// fetchLayer downloads the layer l into the store, unpacking it unless
// its chain is unpacked already. With from, the download goes through the
// layer's partial file in tmp/ and starts where an earlier, killed or cut
// off pull of it stopped (docs/registry.md); a resumed download that turns
// out bad (its digest, or content the unpacking refuses) is tried once
// more from the start, since the stored part may be what was bad.
func fetchLayer(ctx context.Context, in *Ingest, layer v1.Layer, l v1.Descriptor, li LayerInput, chain v1.Hash, from rangeFetcher, progress func(int64)) error {
	var p *partialBlob
	if from != nil && !in.s.HasLayer(chain) {
		p, _ = in.s.openPartial(l.Digest) // no partial: download as without one
		if p != nil {
			defer func() {
				if fi, err := p.f.Stat(); err == nil && fi.Size() == 0 {
					p.remove() // nothing came: nothing to resume
				}
				p.Close()
			}()
		}
	}
	for attempt := 0; ; attempt++ {
		rc, start, err := openLayer(ctx, layer, l, p, from)
		if err != nil {
			return registryError(err)
		}
		nr := &netReader{r: rc}
		pr := &progressReader{r: nr, n: start, last: start, total: l.Size, report: progress}
		if in.s.HasLayer(chain) {
			// Unpacked already (from a blob compressed differently): only
			// the blob is missing.
			_, _, err = in.WriteBlob(ctx, pr, l.Digest)
		} else {
			_, err = in.writeLayer(ctx, pr, li, p)
		}
		rc.Close()
		if err == nil {
			return nil
		}
		err = registryError(err)
		// A failure of the network (or a cancel) keeps what came for the
		// next pull; one of the content (its digest, or what the
		// decompression or the unpacking refuses) keeps none of it.
		cut := (nr.err != nil || ctx.Err() != nil) && resumable(err)
		if p != nil && !cut {
			if rerr := p.reset(); rerr == nil && start > 0 && attempt == 0 {
				continue
			}
			p.remove()
		}
		return err
	}
}

// netReader records the error reading the network stream failed with.
type netReader struct {
	r   io.Reader
	err error
}

func (n *netReader) Read(b []byte) (int, error) {
	k, err := n.r.Read(b)
	if err != nil && err != io.EOF && n.err == nil {
		n.err = err
	}
	return k, err
}

// openLayer opens the layer's compressed stream: the rest of it after
// what p holds when from can fetch a range, else all of it.
func openLayer(ctx context.Context, layer v1.Layer, l v1.Descriptor, p *partialBlob, from rangeFetcher) (io.ReadCloser, int64, error) {
	if p != nil && p.n > l.Size {
		if err := p.reset(); err != nil {
			return nil, 0, err
		}
	}
	if p != nil && p.n == l.Size {
		// All of it came before the kill: it is checked as it is read.
		return io.NopCloser(strings.NewReader("")), p.n, nil
	}
	if p != nil && p.n > 0 {
		rc, start, err := from(ctx, l.Digest, p.n, l.Size)
		if err == nil && start == 0 {
			err = p.reset() // the whole blob came: start the file again
			if err != nil {
				rc.Close()
			}
		}
		if err == nil {
			return rc, start, nil
		}
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		// The range was refused: fetch it all, as without a partial.
		if err := p.reset(); err != nil {
			return nil, 0, err
		}
	}
	rc, err := layer.Compressed()
	return rc, 0, err
}

func shortDigest(h v1.Hash) string {
	if len(h.Hex) < 12 {
		return h.Hex
	}
	return h.Hex[:12]
}

// progressFunc serialises calls to fn and fills in ref.
func progressFunc(fn func(Progress), ref string) func(Progress) {
	if fn == nil {
		return func(Progress) {}
	}
	var mu sync.Mutex
	return func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		p.Ref = ref
		fn(p)
	}
}

// progressReader reports how much was read, at most every 512 KiB.
type progressReader struct {
	r      io.Reader
	n      int64
	last   int64
	total  int64
	report func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if p.n-p.last >= 512<<10 || (errors.Is(err, io.EOF) && p.n != p.last) {
		p.last = p.n
		p.report(p.n)
	}
	return n, err
}

// hasTemp reports whether tmp/ holds anything: a blob or layer being
// written, or left by a writer that was killed.
func (s *Store) hasTemp() bool {
	d, err := os.Open(s.tmpDir())
	if err != nil {
		return false
	}
	defer d.Close()
	names, _ := d.Readdirnames(1)
	return len(names) > 0
}

// resumable reports whether a failed pull's completed layers are worth
// keeping for the next attempt: the failure was the network's or the
// user's, not the content's or the registry's answer.
func resumable(err error) bool {
	switch {
	case errdefs.IsInvalidArgument(err), errdefs.IsNotFound(err), errdefs.IsFailedPrecondition(err),
		errdefs.IsUnauthorized(err), errdefs.IsPermissionDenied(err), errdefs.IsNotImplemented(err):
		return false
	}
	return true
}

// StorePuller pulls into one store through one registry client, with
// fixed options: the Puller for code that only needs images to be there.
type StorePuller struct {
	Registries *Registries
	Store      *Store
	Options    PullOptions
}

// Pull implements Puller.
func (p StorePuller) Pull(ctx context.Context, ref string) (string, error) {
	res, err := p.Registries.Pull(ctx, p.Store, ref, p.Options)
	return res.ID, err
}

var _ Puller = StorePuller{}
