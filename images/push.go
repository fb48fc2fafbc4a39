//go:build !lean

package images

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
)

// PushOptions are `berth push`'s options.
type PushOptions struct {
	// Progress, when not nil, is told how many bytes went up.
	Progress func(Progress)
}

// PushResult is what a push sent.
type PushResult struct {
	Ref    string // the full reference pushed
	Tag    string // its tag
	Digest string // the manifest digest, the same as the local one
	Size   int64  // the manifest's size
}

// Push sends the local image ref names (NAME[:TAG]) to its registry, blobs
// the registry lacks first, then the manifest exactly as stored, so the
// digest there is the digest here. The image then also has the name
// repo@digest (RepoDigests), as after docker push.
func (r *Registries) Push(ctx context.Context, st *Store, ref string, opts PushOptions) (PushResult, error) {
	full, err := NormalizeTag(ref)
	if err != nil {
		return PushResult{}, err
	}
	res, err := r.push(ctx, st, full, opts)
	if err != nil {
		return PushResult{}, fmt.Errorf("push %s: %w", Familiar(full), err)
	}
	return res, nil
}

func (r *Registries) push(ctx context.Context, st *Store, full string, opts PushOptions) (PushResult, error) {
	// The ingest is a lease: no rmi collects the blobs while they go up.
	in, err := st.Ingest(ctx)
	if err != nil {
		return PushResult{}, err
	}
	defer in.Close()
	local, err := st.lookupFilled(full)
	if err != nil || !containsName(local.Names, full) {
		return PushResult{}, errdefs.ErrNotFound.WithMessage("an image does not exist locally with the tag: " + Familiar(full))
	}
	img, err := st.V1Image(ctx, full)
	if err != nil {
		return PushResult{}, err
	}
	ref, err := r.parse(full)
	if err != nil {
		return PushResult{}, err
	}
	report := progressFunc(opts.Progress, Familiar(full))
	// One pusher for the layers and the manifest: it authenticates once
	// per repository and remembers the blobs it sent, so Push below only
	// uploads the config and puts the manifest.
	pusher, err := remote.NewPusher(r.options(ctx)...)
	if err != nil {
		return PushResult{}, err
	}
	if err := pushLayers(ctx, pusher, ref.Context(), img, report); err != nil {
		return PushResult{}, registryError(err)
	}
	if err := pusher.Push(ctx, ref, img); err != nil {
		return PushResult{}, registryError(err)
	}
	digest, err := img.Digest()
	if err != nil {
		return PushResult{}, err
	}
	repo, tag, _ := splitFull(full)
	if _, err := in.AddImage(ctx, local.Manifest, repo+"@"+digest.String()); err != nil {
		return PushResult{}, err
	}
	// Docker's last line of a push, also in its JSON stream.
	report(Progress{Status: fmt.Sprintf("%s: digest: %s size: %d", tag, digest, local.Manifest.Size)})
	return PushResult{Ref: full, Tag: tag, Digest: digest.String(), Size: local.Manifest.Size}, nil
}

// pushLayers uploads img's layers, four at a time, each reporting on its
// own (ID its short digest): Preparing, then Pushing with the bytes read,
// then Pushed, or Layer already exists when the registry had the blob (its
// content was never read).
func pushLayers(ctx context.Context, p *remote.Pusher, repo name.Repository, img v1.Image, report func(Progress)) error {
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	type job struct {
		l      v1.Layer
		digest v1.Hash
		size   int64
	}
	var jobs []job
	seen := map[v1.Hash]bool{}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return err
		}
		size, err := l.Size()
		if err != nil {
			return err
		}
		if !seen[d] {
			seen[d] = true
			jobs = append(jobs, job{l, d, size})
			report(Progress{ID: shortDigest(d), Status: StatusPreparing})
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, j := range jobs {
		g.Go(func() error {
			id := shortDigest(j.digest)
			tl := &trackedLayer{Layer: j.l, report: func(n int64) {
				report(Progress{ID: id, Status: StatusPushing, Current: n, Total: j.size})
			}}
			if err := p.Upload(gctx, repo, tl); err != nil {
				return fmt.Errorf("layer %s: %w", j.digest, err)
			}
			if tl.read.Load() {
				report(Progress{ID: id, Status: StatusPushed, Current: j.size, Total: j.size})
			} else {
				report(Progress{ID: id, Status: StatusLayerExists})
			}
			return nil
		})
	}
	return g.Wait()
}

// trackedLayer is a layer whose compressed content reports the bytes the
// upload read, and records that it was read at all. A retry opens it
// again and counts from 0.
type trackedLayer struct {
	v1.Layer
	read   atomic.Bool
	report func(int64)
}

func (t *trackedLayer) Compressed() (io.ReadCloser, error) {
	rc, err := t.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	t.read.Store(true)
	return struct {
		io.Reader
		io.Closer
	}{&progressReader{r: rc, report: t.report}, rc}, nil
}

func containsName(names []string, n string) bool {
	for _, x := range names {
		if x == n {
			return true
		}
	}
	return false
}
