//go:build !lean

package images

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// SearchResult is one repository found, with Docker's JSON field names.
type SearchResult struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	StarCount   int    `json:"star_count"`
	IsOfficial  bool   `json:"is_official"`
	IsAutomated bool   `json:"is_automated"`
}

// Search finds repositories whose name contains term. A term starting with
// a registry host (localhost:5000/app, registry.example/team) searches
// that registry's catalog (/v2/_catalog, which private registries serve);
// any other term is sent to Docker Hub's search API. limit <= 0 means 25.
func (r *Registries) Search(ctx context.Context, term string, limit int) ([]SearchResult, error) {
	if limit <= 0 {
		limit = 25
	}
	if host, rest, ok := strings.Cut(term, "/"); ok && (strings.ContainsAny(host, ".:") || host == "localhost") {
		res, err := r.searchCatalog(ctx, host, rest, limit)
		if err != nil {
			return nil, fmt.Errorf("search %s: %w", term, err)
		}
		return res, nil
	}
	res, err := r.searchHub(ctx, term, limit)
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", term, err)
	}
	return res, nil
}

func (r *Registries) searchCatalog(ctx context.Context, host, term string, limit int) ([]SearchResult, error) {
	reg, err := r.registryOf(host)
	if err != nil {
		return nil, err
	}
	repos, err := remote.Catalog(ctx, reg, r.options(ctx)...)
	if err != nil {
		return nil, registryError(err)
	}
	slices.Sort(repos)
	var out []SearchResult
	for _, repo := range repos {
		if strings.Contains(repo, term) {
			out = append(out, SearchResult{Name: host + "/" + repo})
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

func (r *Registries) searchHub(ctx context.Context, term string, limit int) ([]SearchResult, error) {
	u := r.hubSearch + "?q=" + url.QueryEscape(term) + "&n=" + strconv.Itoa(limit)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Transport: r}).Do(req)
	if err != nil {
		return nil, errdefs.ErrUnavailable.WithMessage(fmt.Sprintf("Docker Hub's search is unreachable (%v); to search a private registry, give its host: HOST[:PORT]/TERM", unwrapURLError(err)))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("docker hub search answered %s", resp.Status)
	}
	var body struct {
		Results []SearchResult `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("docker hub search: %w", err)
	}
	if len(body.Results) > limit {
		body.Results = body.Results[:limit]
	}
	return body.Results, nil
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}
