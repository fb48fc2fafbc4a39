//go:build !lean

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// fetchURL GETs an http(s) URL for import.
func fetchURL(ctx context.Context, src string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, fmt.Errorf("import from %s: %w", src, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("import from %s: %w", src, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("import from %s: %s", src, resp.Status)
	}
	return resp.Body, nil
}
