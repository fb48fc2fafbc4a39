package images

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
)

// benchLayer is a gzip layer of ~48 MB: 400 files of mixed text and noise.
func benchLayer(b *testing.B) (gz []byte, size int64) {
	b.Helper()
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	rng := rand.New(rand.NewPCG(1, 2))
	chunk := make([]byte, 120<<10)
	for i := range 400 {
		for j := range chunk {
			if j%4 == 0 {
				chunk[j] = byte(rng.IntN(256))
			} else {
				chunk[j] = "the quick brown fox "[j%20]
			}
		}
		tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("d%d/f%d", i%20, i), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(chunk))})
		tw.Write(chunk)
		size += int64(len(chunk))
	}
	tw.Close()
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(raw.Bytes())
	zw.Close()
	return z.Bytes(), size
}

// BenchmarkWriteLayer measures storing and unpacking a gzip layer, beside
// BenchmarkGunzip, the single-core decompression rate of the same data.
func BenchmarkWriteLayer(b *testing.B) {
	gz, size := benchLayer(b)
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	for b.Loop() {
		in, _ := s.Ingest(b.Context())
		if _, err := in.WriteLayer(b.Context(), bytes.NewReader(gz), LayerInput{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip"}); err != nil {
			b.Fatal(err)
		}
		in.Close()
		b.StopTimer()
		s.updateIndex(b.Context(), func(v *view) ([]v1.Descriptor, error) { return nil, nil })
		s.GC(b.Context())
		b.StartTimer()
	}
}

func BenchmarkGunzip(b *testing.B) {
	gz, size := benchLayer(b)
	b.SetBytes(size)
	for b.Loop() {
		zr, _ := gzip.NewReader(bytes.NewReader(gz))
		io.Copy(io.Discard, zr)
	}
}

// BenchmarkImageLookup is the store's part of `berth run`: finding one
// image among 50.
func BenchmarkImageLookup(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 50 {
		data := makeTar(b, file("f", fmt.Sprint(i)))
		if _, err := s.Import(b.Context(), bytes.NewReader(data), ImportOptions{Name: fmt.Sprintf("img%d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if _, err := s.Image(b.Context(), "img25"); err != nil {
			b.Fatal(err)
		}
	}
}
