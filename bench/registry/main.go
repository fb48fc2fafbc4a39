// Command registry serves go-containerregistry's in-memory registry on a
// loopback address for bench/pull.sh, and seeds it with images whose
// layers are given as tar files (gzip-compressed on the way in, as
// docker push does).
//
//	registry -addr 127.0.0.1:5055                      serve until killed
//	registry -push 127.0.0.1:5055/bench/big:v1 a.tar [b.tar ...]
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5055", "loopback address to serve on")
	push := flag.String("push", "", "push an image made of the tar files given as arguments to this reference")
	flag.Parse()
	if *push != "" {
		if err := pushImage(*push, flag.Args()); err != nil {
			log.Fatal(err)
		}
		return
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil || !(host == "127.0.0.1" || host == "localhost" || host == "::1") {
		log.Fatalf("refusing to listen on %s: loopback only", *addr)
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.Serve(l, registry.New(registry.Logger(log.New(io.Discard, "", 0)))))
}

func pushImage(ref string, tars []string) error {
	if !strings.HasPrefix(ref, "127.0.0.1:") && !strings.HasPrefix(ref, "localhost:") {
		return fmt.Errorf("refusing to push %s: loopback registries only", ref)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return err
	}
	var layers []v1.Layer
	for _, t := range tars {
		l, err := tarball.LayerFromFile(t)
		if err != nil {
			return err
		}
		layers = append(layers, l)
	}
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}
	if err := remote.Write(r, img); err != nil {
		return err
	}
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	var total int64
	for _, l := range m.Layers {
		total += l.Size
		fmt.Fprintf(os.Stdout, "layer %s %d\n", l.Digest, l.Size)
	}
	fmt.Fprintf(os.Stdout, "pushed %s: %d layers, %d compressed bytes\n", ref, len(m.Layers), total)
	return nil
}
