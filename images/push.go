package images

import (
	"context"
	"fmt"

	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
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
	updates := make(chan v1.Update, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for u := range updates {
			report(Progress{Status: StatusPushing, Current: u.Complete, Total: u.Total})
		}
	}()
	err = remote.Write(ref, img, r.options(ctx, remote.WithProgress(updates))...)
	<-done
	if err != nil {
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
	report(Progress{Status: StatusPushed})
	return PushResult{Ref: full, Tag: tag, Digest: digest.String(), Size: local.Manifest.Size}, nil
}

func containsName(names []string, n string) bool {
	for _, x := range names {
		if x == n {
			return true
		}
	}
	return false
}
