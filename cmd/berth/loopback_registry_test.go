package main

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// loopbackRegistry starts go-containerregistry's registry on 127.0.0.1
// (plain HTTP: loopback registries are insecure by default, as in Docker),
// wrapped by wrap if not nil, and points the Docker config and registry
// settings at temp files.
func loopbackRegistry(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("BERTH_REGISTRIES_CONFIG", filepath.Join(t.TempDir(), "registries.json"))
	t.Setenv("BERTH_CERTS_DIR", filepath.Join(t.TempDir(), "certs.d"))
	return strings.TrimPrefix(srv.URL, "http://")
}
