package main

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/berth-dev/berth/internal/dirsize"
)

// throttle holds back one blob: a GET of it streams the first half bytes,
// then stalls (reporting on streaming) until release is closed or the
// client goes away.
type throttle struct {
	digest    string
	half      int64
	streaming chan struct{}
	release   chan struct{}
	once      sync.Once
	mu        sync.Mutex
	ranges    []string // the Range header of each GET of the blob
}

func (th *throttle) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+th.digest) {
			next.ServeHTTP(w, r)
			return
		}
		th.mu.Lock()
		th.ranges = append(th.ranges, r.Header.Get("Range"))
		th.mu.Unlock()
		select {
		case <-th.release:
			next.ServeHTTP(w, r)
		default:
			next.ServeHTTP(&stallWriter{ResponseWriter: w, th: th, r: r}, r)
		}
	})
}

type stallWriter struct {
	http.ResponseWriter
	th *throttle
	r  *http.Request
	n  int64
}

func (s *stallWriter) Write(p []byte) (int, error) {
	if s.n+int64(len(p)) < s.th.half {
		s.n += int64(len(p))
		return s.ResponseWriter.Write(p)
	}
	k := s.th.half - s.n
	if k > 0 {
		if _, err := s.ResponseWriter.Write(p[:k]); err != nil {
			return 0, err
		}
		s.n += k
	}
	s.ResponseWriter.(http.Flusher).Flush()
	s.th.once.Do(func() { close(s.th.streaming) })
	select {
	case <-s.th.release:
	case <-s.r.Context().Done():
		return int(k), s.r.Context().Err()
	}
	n, err := s.ResponseWriter.Write(p[k:])
	s.n += int64(n)
	return int(k) + n, err
}

// killTestImage is a runnable image: busybox, then a layer of 8 MiB of
// random bytes (so its blob is 8 MiB too) and /data/marker.
func killTestImage(t *testing.T, busybox string) (v1.Image, v1.Layer) {
	t.Helper()
	bbTar := filepath.Join(t.TempDir(), "busybox.tar")
	if err := busyboxTar(busybox, bbTar); err != nil {
		t.Fatal(err)
	}
	base, err := tarball.LayerFromFile(bbTar)
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 8<<20)
	rand.Read(big)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "data/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "data/big", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(big))})
	tw.Write(big)
	tw.WriteHeader(&tar.Header{Name: "data/marker", Typeflag: tar.TypeReg, Mode: 0o644, Size: 3})
	tw.Write([]byte("ok\n"))
	tw.Close()
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, base, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", goruntime.GOARCH
	cf.Config.Cmd = []string{"cat", "/data/marker"}
	cf.Config.Env = []string{"PATH=/bin"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img, layer
}

// TestPullKilled kills the built berth binary with SIGKILL while a layer's
// blob streams in, then checks the store: no image, no blob or layer under
// the half-fetched digest, every stored blob whole, what came kept as the
// blob's partial download; and that the next pull fetches only the rest
// (a Range request), completes, and its image inspects and runs.
func TestPullKilled(t *testing.T) {
	if os.Getenv("BERTH_TEST_ROOT") != "1" {
		t.Skip("builds the binary and runs a container as root: set BERTH_TEST_ROOT=1")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("runc not installed")
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox not installed")
	}
	img, big := killTestImage(t, busybox)
	bigDigest, _ := big.Digest()
	bigSize, _ := big.Size()
	th := &throttle{digest: bigDigest.String(), half: bigSize / 2, streaming: make(chan struct{}), release: make(chan struct{})}
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(th.release) }) }
	t.Cleanup(release) // before the server closes: no handler left stalled
	host := loopbackRegistry(t, th.wrap)
	ref := host + "/kill/app:1"
	r, _ := name.ParseReference(ref)
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}

	dir, short := e2eBinaries(t)
	root, run := filepath.Join(dir, "root"), filepath.Join(short, "run")
	berth := func(args ...string) (string, error) {
		t.Helper()
		out, err := exec.Command(filepath.Join(dir, "berth"), append([]string{"--root", root, "--run-root", run}, args...)...).CombinedOutput()
		return string(out), err
	}

	pull := exec.Command(filepath.Join(dir, "berth"), "--root", root, "--run-root", run, "pull", "--progress", "plain", ref)
	var pullOut bytes.Buffer
	pull.Stdout, pull.Stderr = &pullOut, &pullOut
	if err := pull.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pull.Process.Kill(); pull.Wait() })
	select {
	case <-th.streaming:
	case <-time.After(30 * time.Second):
		t.Fatalf("the blob never started streaming:\n%s", pullOut.String())
	}
	// Kill once berth has written part of the blob to its temp file.
	tmp := filepath.Join(root, "images", "tmp")
	deadline := time.Now().Add(10 * time.Second)
	for dirsize.Regular(tmp) < bigSize/4 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := dirsize.Regular(tmp); got < bigSize/4 {
		t.Fatalf("berth wrote %d bytes into tmp/ of the %d streamed", got, bigSize/2)
	}
	pull.Process.Kill()
	pull.Wait()
	t.Logf("killed with %d bytes in tmp/", dirsize.Regular(tmp))

	// Nothing of the pull is an image; nothing half-written is under a
	// final name.
	if out, err := berth("images", "-q"); err != nil || out != "" {
		t.Errorf("images after the kill: %q %v", out, err)
	}
	if out, err := berth("image", "inspect", ref); err == nil {
		t.Errorf("inspect after the kill succeeded:\n%s", out)
	}
	blobs := filepath.Join(root, "images", "blobs", "sha256")
	if _, err := os.Stat(filepath.Join(blobs, bigDigest.Hex)); err == nil {
		t.Errorf("the half-fetched blob %s is in blobs/", bigDigest)
	}
	checkBlobsWhole(t, blobs)
	diffIDs, _ := img.ConfigFile()
	chain := sha256.Sum256([]byte(diffIDs.RootFS.DiffIDs[0].String() + " " + diffIDs.RootFS.DiffIDs[1].String()))
	if _, err := os.Stat(filepath.Join(root, "images", "layers", hex.EncodeToString(chain[:]))); err == nil {
		t.Error("the half-fetched layer's chain directory exists")
	}
	layers, _ := os.ReadDir(filepath.Join(root, "images", "layers"))
	for _, l := range layers {
		if _, err := os.Stat(filepath.Join(root, "images", "layers", l.Name(), "layer.json")); err != nil {
			t.Errorf("layer %s has no layer.json: %v", l.Name(), err)
		}
	}

	// What came before the kill waits in tmp/ under the blob's digest.
	partial := filepath.Join(tmp, "partial-"+bigDigest.Hex)
	fi, err := os.Stat(partial)
	if err != nil || fi.Size() == 0 {
		t.Fatalf("no partial download of the blob after the kill: %v", err)
	}
	kept := fi.Size()

	release()
	th.mu.Lock()
	th.ranges = nil
	th.mu.Unlock()
	start := time.Now()
	if out, err := berth("pull", "--progress", "plain", ref); err != nil {
		t.Fatalf("pull after the kill: %v\n%s", err, out)
	}
	t.Logf("the next pull took %v, resuming at byte %d of %d", time.Since(start), kept, bigSize)
	// It asked for the rest of the blob only.
	th.mu.Lock()
	if want := []string{fmt.Sprintf("bytes=%d-%d", kept, bigSize-1)}; !slices.Equal(th.ranges, want) {
		t.Errorf("the next pull's requests of the blob: Range %q, want %q", th.ranges, want)
	}
	th.mu.Unlock()
	if n := dirsize.Regular(tmp); n != 0 {
		t.Errorf("tmp/ holds %d bytes after the next pull", n)
	}
	want, _ := img.ConfigName()
	if out, err := berth("image", "inspect", "-f", "{{.Id}}", ref); err != nil || strings.TrimSpace(out) != want.String() {
		t.Errorf("inspect = %q %v, want %s", out, err, want)
	}
	checkBlobsWhole(t, blobs)
	name := "killtest" + hex.EncodeToString(chain[:4])
	t.Cleanup(func() { berth("rm", "-f", name) })
	if out, err := berth("run", "--rm", "--name", name, "--network", "none", ref); err != nil || out != "ok\n" {
		t.Errorf("run = %q %v", out, err)
	}
	// The container inspects with Docker's template names.
	if out, err := berth("run", "-d", "--name", name, "--network", "none", "-v", "/tmp:/host:ro", ref, "sleep", "30"); err != nil {
		t.Fatalf("run -d: %v\n%s", err, out)
	}
	out, err := berth("inspect", "-f", "{{.State.Status}} {{.Name}} {{.Config.Image}} {{.HostConfig.RestartPolicy.Name}} {{range .Mounts}}{{.Destination}}{{end}} {{.NetworkSettings.IPAddress}}|{{gt .State.Pid 0}}", name)
	if want := "running /" + name + " " + ref + " no /host |true\n"; err != nil || out != want {
		t.Errorf("inspect -f = %q %v, want %q", out, err, want)
	}
	if out, err := berth("rm", "-f", name); err != nil {
		t.Errorf("rm -f: %v\n%s", err, out)
	}
}

// checkBlobsWhole checks that every blob's content has its name's digest.
func checkBlobsWhole(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		io.Copy(h, f)
		f.Close()
		if got := hex.EncodeToString(h.Sum(nil)); got != e.Name() {
			t.Errorf("blob %s holds content of digest %s", e.Name(), got)
		}
	}
}
