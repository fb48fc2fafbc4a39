//go:build !lean

package images

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// fetchBlobFrom GETs the blob digest (size bytes) of repo from offset on
// (a Range request, closed: bytes=offset-(size-1), which every registry
// that does ranges takes, go-containerregistry's own included), authenticated as go-containerregistry's remote package does
// (its transport: the registry's token or basic auth from the keychain).
// It returns the body and the offset it starts at: offset when the
// registry answered 206 with that range, 0 when it sent the whole blob
// (200: a registry or proxy that ignores Range).
func (r *Registries) fetchBlobFrom(ctx context.Context, repo name.Repository, digest v1.Hash, offset, size int64) (io.ReadCloser, int64, error) {
	auth, err := authn.Resolve(ctx, r.keychain, repo)
	if err != nil {
		return nil, 0, err
	}
	rt, err := transport.NewWithContext(ctx, repo.Registry, auth, r, []string{repo.Scope(transport.PullScope)})
	if err != nil {
		return nil, 0, err
	}
	u := url.URL{Scheme: repo.Scheme(), Host: repo.RegistryStr(), Path: fmt.Sprintf("/v2/%s/blobs/%s", repo.RepositoryStr(), digest)}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", offset, size-1))
	req.Header.Set("User-Agent", "berth")
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return nil, 0, err
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		if !strings.HasPrefix(resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-", offset)) {
			resp.Body.Close()
			return nil, 0, fmt.Errorf("blob %s: asked for bytes %d-, got range %q", digest, offset, resp.Header.Get("Content-Range"))
		}
		return resp.Body, offset, nil
	case http.StatusOK:
		return resp.Body, 0, nil
	}
	defer resp.Body.Close()
	return nil, 0, transport.CheckError(resp, http.StatusOK, http.StatusPartialContent)
}
