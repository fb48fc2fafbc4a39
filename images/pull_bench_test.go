//go:build !lean

package images

import (
	"bytes"
	"io"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// BenchmarkPull pulls a one-layer image of ~48 MB (benchLayer) from
// go-containerregistry's registry on loopback into an empty store: download,
// digest checks, decompression and unpacking, as `berth pull` does. Compare
// with BenchmarkGunzip, the single-core decompression of the same layer.
func BenchmarkPull(b *testing.B) {
	gz, size := benchLayer(b)
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(gz)), nil })
	if err != nil {
		b.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		b.Fatal(err)
	}
	reg := newTestRegistry(b, false, nil)
	pushImage(b, reg.host+"/bench/pull:1", img)
	r := testRegistries(b, RegistryConfig{}, nil)
	b.SetBytes(size)
	for b.Loop() {
		b.StopTimer()
		s, err := Open(filepath.Join(b.TempDir(), "images"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := r.Pull(b.Context(), s, reg.host+"/bench/pull:1", PullOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
