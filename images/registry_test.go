//go:build !lean

package images

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// testRegistry is go-containerregistry's registry on 127.0.0.1, behind
// wrap (nil: none).
type testRegistry struct {
	srv  *httptest.Server
	host string // 127.0.0.1:port
}

func newTestRegistry(t testing.TB, tls bool, wrap func(http.Handler) http.Handler) *testRegistry {
	t.Helper()
	var h http.Handler = ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewUnstartedServer(h)
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return &testRegistry{srv: srv, host: strings.TrimPrefix(strings.TrimPrefix(srv.URL, "http://"), "https://")}
}

// testRegistries is a client whose credentials live in a temp Docker config
// dir and whose connections can only reach loopback: names in routes are
// dialled at their loopback address, anything else is refused.
func testRegistries(t testing.TB, cfg RegistryConfig, routes map[string]string) *Registries {
	t.Helper()
	if cfg.CertsDir == "" {
		cfg.CertsDir = filepath.Join(t.TempDir(), "certs.d")
	}
	r := NewRegistries(cfg, t.TempDir())
	r.hubSearch = "http://127.0.0.1:1/v1/search"
	r.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if to, ok := routes[addr]; ok {
			addr = to
		}
		host, _, _ := net.SplitHostPort(addr)
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("test dial %s refused: loopback only", addr)
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	return r
}

// pushRandom pushes a random image of layers layers to ref.
func pushRandom(t testing.TB, ref string, layers int64) v1.Image {
	t.Helper()
	img, err := random.Image(4096, layers)
	if err != nil {
		t.Fatal(err)
	}
	pushImage(t, ref, img)
	return img
}

func pushImage(t testing.TB, ref string, img v1.Image) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
}

func digestOf(t testing.TB, img interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func configDigest(t testing.TB, img v1.Image) string {
	t.Helper()
	d, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// assertClean checks that the store holds nothing but what its images use:
// no temp files, no blob or layer no image names.
func assertClean(t *testing.T, s *Store) {
	t.Helper()
	if got := dirEntries(t, s.tmpDir()); len(got) != 0 {
		t.Errorf("tmp/ holds %v", got)
	}
	freed, err := s.GC(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if freed != 0 {
		t.Errorf("GC freed %d bytes: garbage was left behind", freed)
	}
	ims, _ := s.List(t.Context())
	want := map[string]bool{}
	for _, im := range ims {
		want[im.Manifest.Digest.Hex] = true
		want[strings.TrimPrefix(im.ID, "sha256:")] = true
		for _, l := range im.Layers {
			want[l.Digest.Hex] = true
		}
	}
	for _, b := range dirEntries(t, s.blobDir()) {
		if !want[b] {
			t.Errorf("blob %s is not used by any image", b)
		}
	}
}

func TestPullByTagAndDigest(t *testing.T) {
	reg := newTestRegistry(t, false, nil)
	img := pushRandom(t, reg.host+"/test/app:v1", 3)
	s, _ := testStore(t)
	r := testRegistries(t, RegistryConfig{}, nil)
	var events []Progress
	var mu sync.Mutex
	res, err := r.Pull(t.Context(), s, reg.host+"/test/app:v1", PullOptions{Progress: func(p Progress) {
		mu.Lock()
		events = append(events, p)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	digest := digestOf(t, img)
	if diff := cmp.Diff(PullResult{Ref: reg.host + "/test/app:v1", ID: configDigest(t, img), Digest: digest}, res); diff != "" {
		t.Errorf("pull result (-want +got):\n%s", diff)
	}
	im, err := s.Image(t.Context(), reg.host+"/test/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{reg.host + "/test/app@" + digest}, im.Digests()); diff != "" {
		t.Errorf("RepoDigests (-want +got):\n%s", diff)
	}
	if im.Manifest.Digest.String() != digest {
		t.Errorf("stored manifest %s, registry's %s", im.Manifest.Digest, digest)
	}
	for _, d := range im.LayerDirs() {
		if _, err := os.Stat(filepath.Join(d)); err != nil {
			t.Error(err)
		}
	}
	complete := 0
	for _, e := range events {
		if e.Status == StatusComplete {
			complete++
		}
	}
	if complete != 3 {
		t.Errorf("%d layers reported complete, want 3: %v", complete, events)
	}

	// Again, by digest: every layer is already there.
	events = nil
	res, err = r.Pull(t.Context(), s, reg.host+"/test/app@"+digest, PullOptions{Progress: func(p Progress) { events = append(events, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.ID != im.ID {
		t.Errorf("by digest: ID %s, want %s", res.ID, im.ID)
	}
	for _, e := range events {
		if e.Status == StatusDownloading {
			t.Errorf("layer downloaded again: %v", e)
		}
	}
	assertClean(t, s)
}

func TestPullErrors(t *testing.T) {
	reg := newTestRegistry(t, false, nil)
	pushRandom(t, reg.host+"/test/app:v1", 1)
	s, _ := testStore(t)
	r := testRegistries(t, RegistryConfig{}, nil)
	for _, tc := range []struct {
		ref, want string
		class     func(error) bool
	}{
		{"Upper/Case", "invalid reference format", errdefs.IsInvalidArgument},
		{reg.host + "/test/app:nope", "pull " + reg.host + "/test/app:nope: manifest unknown", errdefs.IsNotFound},
		{reg.host + "/test/none:v1", "pull " + reg.host + "/test/none:v1: ", errdefs.IsNotFound},
	} {
		_, err := r.Pull(t.Context(), s, tc.ref, PullOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !tc.class(err) || strings.Contains(err.Error(), "\n") {
			t.Errorf("pull %s: got %v, want one line containing %q", tc.ref, err, tc.want)
		}
	}
	assertClean(t, s)
	if ims, _ := s.List(t.Context()); len(ims) != 0 {
		t.Errorf("images after failed pulls: %d", len(ims))
	}
}

func platformImage(t *testing.T, os, arch string) v1.Image {
	t.Helper()
	img, err := random.Image(2048, 1)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = os, arch
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestPullIndex(t *testing.T) {
	reg := newTestRegistry(t, false, nil)
	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
	}
	here := platformImage(t, "linux", runtime.GOARCH)
	there := platformImage(t, "linux", other)
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: here, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}}},
		mutate.IndexAddendum{Add: there, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: other}}},
	)
	ref, _ := name.ParseReference(reg.host + "/multi/app:1")
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	s, _ := testStore(t)
	r := testRegistries(t, RegistryConfig{}, nil)
	res, err := r.Pull(t.Context(), s, reg.host+"/multi/app:1", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.ID != configDigest(t, here) || res.Digest != digestOf(t, idx) {
		t.Errorf("pulled %+v, want ID %s digest %s (the index's)", res, configDigest(t, here), digestOf(t, idx))
	}
	im, err := s.Image(t.Context(), reg.host+"/multi/app@"+digestOf(t, idx))
	if err != nil || im.ID != res.ID {
		t.Errorf("lookup by the index digest: %v", err)
	}
	res, err = r.Pull(t.Context(), s, reg.host+"/multi/app:1", PullOptions{Platform: "linux/" + other})
	if err != nil || res.ID != configDigest(t, there) {
		t.Errorf("--platform linux/%s: %+v, %v", other, res, err)
	}
	_, err = r.Pull(t.Context(), s, reg.host+"/multi/app:1", PullOptions{Platform: "linux/s390x"})
	if err == nil || !strings.Contains(err.Error(), "no matching manifest for linux/s390x") || !errdefs.IsNotFound(err) {
		t.Errorf("another platform only: %v", err)
	}
	_, err = r.Pull(t.Context(), s, reg.host+"/multi/app@"+digestOf(t, there), PullOptions{Platform: "linux/s390x"})
	if err == nil || !strings.Contains(err.Error(), "not linux/s390x") {
		t.Errorf("single image of another platform: %v", err)
	}
}

func TestPushPullRoundTrip(t *testing.T) {
	reg := newTestRegistry(t, false, nil)
	a, _ := testStore(t)
	id := importTar(t, a, "app:1", makeTar(t, dir("etc"), file("etc/hostname", "x"), file("bin/sh", "#!")))
	r := testRegistries(t, RegistryConfig{}, nil)
	target := reg.host + "/round/trip:1"
	if err := a.Tag(t.Context(), "app:1", target); err != nil {
		t.Fatal(err)
	}
	var pushed []Progress
	res, err := r.Push(t.Context(), a, target, PushOptions{Progress: func(p Progress) { pushed = append(pushed, p) }})
	if err != nil {
		t.Fatal(err)
	}
	local, _ := a.Image(t.Context(), target)
	if res.Digest != local.Manifest.Digest.String() {
		t.Errorf("pushed digest %s, local manifest %s", res.Digest, local.Manifest.Digest)
	}
	if diff := cmp.Diff([]string{reg.host + "/round/trip@" + res.Digest}, local.Digests()); diff != "" {
		t.Errorf("RepoDigests after push (-want +got):\n%s", diff)
	}
	if len(pushed) == 0 {
		t.Error("no push progress")
	}
	b, _ := testStore(t)
	pr, err := r.Pull(t.Context(), b, target, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pr.ID != id || pr.Digest != res.Digest {
		t.Errorf("pulled back %+v, want ID %s digest %s", pr, id, res.Digest)
	}
	got, _ := b.Image(t.Context(), target)
	if data, err := os.ReadFile(filepath.Join(got.LayerDirs()[0], "etc/hostname")); err != nil || string(data) != "x" {
		t.Errorf("etc/hostname: %q %v", data, err)
	}
	if _, err := r.Push(t.Context(), a, reg.host+"/round/none:1", PushOptions{}); !errdefs.IsNotFound(err) {
		t.Errorf("push of a missing image: %v", err)
	}
}

func TestPullAllTags(t *testing.T) {
	reg := newTestRegistry(t, false, nil)
	for _, tag := range []string{"1", "2", "3"} {
		pushRandom(t, reg.host+"/all/app:"+tag, 1)
	}
	s, _ := testStore(t)
	r := testRegistries(t, RegistryConfig{}, nil)
	res, err := r.PullAllTags(t.Context(), s, reg.host+"/all/app", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range res {
		got = append(got, x.Ref)
	}
	want := []string{reg.host + "/all/app:1", reg.host + "/all/app:2", reg.host + "/all/app:3"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("-a (-want +got):\n%s", diff)
	}
	if _, err := r.PullAllTags(t.Context(), s, reg.host+"/all/app:1", PullOptions{}); !errdefs.IsInvalidArgument(err) {
		t.Errorf("-a with a tag: %v", err)
	}
}

// sabotage serves the registry but cuts the connection half-way through the
// blob with digest target (mode "cut") or serves other bytes for it ("wrong").
func sabotage(mode *string, target *string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if *mode == "" || req.Method != http.MethodGet || !strings.HasSuffix(req.URL.Path, "/blobs/"+*target) {
				next.ServeHTTP(w, req)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, req)
			body := rec.Body.Bytes()
			switch *mode {
			case "cut":
				w.Header().Set("Content-Length", fmt.Sprint(len(body)))
				w.WriteHeader(http.StatusOK)
				w.Write(body[:len(body)/2])
				w.(http.Flusher).Flush()
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
			case "stall": // half the blob, then nothing until the client gives up
				w.Header().Set("Content-Length", fmt.Sprint(len(body)))
				w.WriteHeader(http.StatusOK)
				w.Write(body[:len(body)/2])
				w.(http.Flusher).Flush()
				<-req.Context().Done()
			case "wrong": // a valid layer, but not this one
				other, _ := random.Layer(int64(len(body)), types.DockerLayer)
				rc, _ := other.Compressed()
				defer rc.Close()
				w.WriteHeader(http.StatusOK)
				io.Copy(w, rc)
			}
		})
	}
}

// rangeLog records the Range header of every GET of the blob target
// ("" for none).
func rangeLog(target *string, log *[]string, mu *sync.Mutex) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, "/blobs/"+*target) {
				mu.Lock()
				*log = append(*log, req.Header.Get("Range"))
				mu.Unlock()
			}
			next.ServeHTTP(w, req)
		})
	}
}

func TestPullInterrupted(t *testing.T) {
	mode, target := "", ""
	var ranges []string
	var mu sync.Mutex
	reg := newTestRegistry(t, false, func(h http.Handler) http.Handler {
		return rangeLog(&target, &ranges, &mu)(sabotage(&mode, &target)(h))
	})
	img := pushRandom(t, reg.host+"/cut/app:1", 3)
	layers, _ := img.Layers()
	d, _ := layers[2].Digest()
	target = d.String()
	partial := "partial-" + d.Hex
	size, _ := layers[2].Size()
	s, _ := testStore(t)
	r := testRegistries(t, RegistryConfig{}, nil)
	for _, tc := range []struct {
		mode, want string
		kept       []string // in tmp/ after the failure
	}{
		// A cut connection keeps what came, to resume from.
		{mode: "cut", want: "unexpected EOF", kept: []string{partial}},
		// The registry sends the whole blob (it ignores the Range), and
		// the wrong one: nothing of it is kept.
		{mode: "wrong", want: "digest mismatch"},
	} {
		mode = tc.mode
		_, err := r.Pull(t.Context(), s, reg.host+"/cut/app:1", PullOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "pull "+reg.host+"/cut/app:1: ") {
			t.Errorf("%s: got %v, want %q", tc.mode, err, tc.want)
		}
		if ims, _ := s.List(t.Context()); len(ims) != 0 {
			t.Errorf("%s: an image is visible after a failed pull", tc.mode)
		}
		// Layers the failure cancelled midway keep their parts too.
		got := dirEntries(t, s.tmpDir())
		for _, k := range tc.kept {
			if !slices.Contains(got, k) {
				t.Errorf("%s: tmp/ holds %v, want %s among them", tc.mode, got, k)
			}
		}
		for _, g := range got {
			if !strings.HasPrefix(g, "partial-") || len(tc.kept) == 0 {
				t.Errorf("%s: tmp/ holds %v, want partial downloads only (%v)", tc.mode, got, tc.kept)
				break
			}
		}
		if tc.mode == "wrong" { // bad content: nothing of it is kept
			assertClean(t, s)
		}
	}
	// Ctrl-C while a layer is half downloaded.
	mode = "stall"
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		for {
			if fi, err := os.Stat(filepath.Join(s.tmpDir(), partial)); err == nil && fi.Size() > 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	if _, err := r.Pull(ctx, s, reg.host+"/cut/app:1", PullOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled pull: %v", err)
	}
	// The stalled layer's first half is kept (others that had not
	// started leave nothing).
	got := dirEntries(t, s.tmpDir())
	fi, err := os.Stat(filepath.Join(s.tmpDir(), partial))
	if !slices.Contains(got, partial) || err != nil || fi.Size() == 0 {
		t.Fatalf("cancelled: tmp/ holds %v, want %s with the first half", got, partial)
	}
	half := fi.Size()
	// kill -9 leaves temp files and unnamed blobs and layers behind.
	os.WriteFile(filepath.Join(s.tmpDir(), "blob-123"), []byte("half"), 0o600)
	os.MkdirAll(filepath.Join(s.tmpDir(), "layer-123", "fs", "etc"), 0o755)
	mode = ""
	mu.Lock()
	ranges = nil
	mu.Unlock()
	if _, err := r.Pull(t.Context(), s, reg.host+"/cut/app:1", PullOptions{}); err != nil {
		t.Fatalf("clean pull after failures: %v", err)
	}
	// It asked for the rest of the blob only.
	if want := []string{fmt.Sprintf("bytes=%d-%d", half, size-1)}; !cmp.Equal(ranges, want) {
		t.Errorf("the resumed pull's requests of the blob: Range %q, want %q", ranges, want)
	}
	assertClean(t, s) // what the interrupted pulls kept is the image's now
}

// TestPullResumeBadPartial: a partial download whose content is not the
// blob's (a power loss, a bug) fails its digest check once resumed; the
// layer is then fetched whole, and the pull succeeds.
func TestPullResumeBadPartial(t *testing.T) {
	target := ""
	var ranges []string
	var mu sync.Mutex
	reg := newTestRegistry(t, false, rangeLog(&target, &ranges, &mu))
	img := pushRandom(t, reg.host+"/bad/app:1", 1)
	layers, _ := img.Layers()
	d, _ := layers[0].Digest()
	target = d.String()
	s, _ := testStore(t)
	if err := os.WriteFile(filepath.Join(s.tmpDir(), "partial-"+d.Hex), bytes.Repeat([]byte{0x1f}, 100), 0o600); err != nil {
		t.Fatal(err)
	}
	r := testRegistries(t, RegistryConfig{}, nil)
	if _, err := r.Pull(t.Context(), s, reg.host+"/bad/app:1", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	size, _ := layers[0].Size()
	if want := []string{fmt.Sprintf("bytes=100-%d", size-1), ""}; !cmp.Equal(ranges, want) {
		t.Errorf("requests of the blob: Range %q, want %q", ranges, want)
	}
	assertClean(t, s)
}

func TestConcurrentPullsShareLayers(t *testing.T) {
	reg := newTestRegistry(t, false, nil)
	base, err := random.Layer(8192, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b"} {
		top, _ := random.Layer(4096, types.DockerLayer)
		img, err := mutate.AppendLayers(empty.Image, base, top)
		if err != nil {
			t.Fatal(err)
		}
		pushImage(t, reg.host+"/share/"+n+":1", img)
	}
	s, _ := testStore(t)
	r := testRegistries(t, RegistryConfig{}, nil)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, n := range []string{"a", "b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = r.Pull(t.Context(), s, reg.host+"/share/"+n+":1", PullOptions{})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := dirEntries(t, s.layerRoot()); len(got) != 3 {
		t.Errorf("layers: %v, want 3 (the base once)", got)
	}
	a, _ := s.Image(t.Context(), reg.host+"/share/a:1")
	b, _ := s.Image(t.Context(), reg.host+"/share/b:1")
	if a.Layers[0].Dir != b.Layers[0].Dir {
		t.Errorf("base layer unpacked twice: %s, %s", a.Layers[0].Dir, b.Layers[0].Dir)
	}
	assertClean(t, s)
}

// basicAuth requires user:pass on every request, as a registry with
// htpasswd does.
func basicAuth(user, pass string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			u, p, ok := req.BasicAuth()
			if !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
				return
			}
			next.ServeHTTP(w, req)
		})
	}
}

func writeCA(t *testing.T, certsDir, host string, srv *httptest.Server) {
	t.Helper()
	dir := filepath.Join(certsDir, host)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoginLogoutTLS(t *testing.T) {
	reg := newTestRegistry(t, true, basicAuth("alice", "s3cret"))
	_, port, _ := net.SplitHostPort(reg.host)
	host := "example.com:" + port // in the test server's certificate; routed to loopback
	certs := filepath.Join(t.TempDir(), "certs.d")
	r := testRegistries(t, RegistryConfig{CertsDir: certs}, map[string]string{host: reg.host})

	// No CA yet: the certificate is refused.
	if _, err := r.Login(t.Context(), host, "alice", "s3cret"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("login without the CA: %v", err)
	}
	writeCA(t, certs, host, reg.srv)
	r = testRegistries(t, RegistryConfig{CertsDir: certs}, map[string]string{host: reg.host})

	_, err := r.Login(t.Context(), "https://"+host+"/", "alice", "wrong")
	if err == nil || err.Error() != "login "+host+": unauthorized: incorrect username or password" {
		t.Errorf("bad password: %v", err)
	}
	key, err := r.Login(t.Context(), host, "alice", "s3cret")
	if err != nil || key != host {
		t.Fatalf("login: %q %v", key, err)
	}
	data, err := os.ReadFile(filepath.Join(r.configDir, "config.json"))
	if err != nil || !strings.Contains(string(data), `"`+host+`"`) || !strings.Contains(string(data), `"auth"`) {
		t.Errorf("config.json after login: %s %v", data, err)
	}

	// Credentials from config.json let push and pull through.
	s, _ := testStore(t)
	importTar(t, s, host+"/private/app:1", makeTar(t, file("a", "1")))
	if _, err := r.Push(t.Context(), s, host+"/private/app:1", PushOptions{}); err != nil {
		t.Fatalf("push with credentials: %v", err)
	}
	b, _ := testStore(t)
	if _, err := r.Pull(t.Context(), b, host+"/private/app:1", PullOptions{}); err != nil {
		t.Fatalf("pull with credentials: %v", err)
	}

	if _, had, err := r.Logout(host); err != nil || !had {
		t.Errorf("logout: %v %v", had, err)
	}
	if _, had, _ := r.Logout(host); had {
		t.Error("second logout found credentials")
	}
	c, _ := testStore(t)
	_, err = r.Pull(t.Context(), c, host+"/private/app:1", PullOptions{})
	if err == nil || !errdefs.IsUnauthorized(err) || !strings.Contains(err.Error(), "pull "+host+"/private/app:1: unauthorized") {
		t.Errorf("pull after logout: %v", err)
	}
}

func TestInsecureRegistrySetting(t *testing.T) {
	reg := newTestRegistry(t, false, nil)
	_, port, _ := net.SplitHostPort(reg.host)
	host := "registry.test:" + port
	routes := map[string]string{host: reg.host}
	pushRandom(t, reg.host+"/plain/app:1", 1)
	s, _ := testStore(t)

	r := testRegistries(t, RegistryConfig{}, routes)
	_, err := r.Pull(t.Context(), s, host+"/plain/app:1", PullOptions{})
	if err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("plain HTTP registry not configured insecure: %v", err)
	}
	r = testRegistries(t, RegistryConfig{InsecureRegistries: []string{host}}, routes)
	if _, err := r.Pull(t.Context(), s, host+"/plain/app:1", PullOptions{}); err != nil {
		t.Errorf("insecure registry: %v", err)
	}
	assertClean(t, s)
}

func TestMirrorFallback(t *testing.T) {
	origin := newTestRegistry(t, false, nil)
	mirror := newTestRegistry(t, false, nil)
	img := pushRandom(t, origin.host+"/library/busybox:latest", 1)
	onMirror := pushRandom(t, mirror.host+"/library/alpine:latest", 1)
	down := httptest.NewServer(http.NotFoundHandler())
	downHost := strings.TrimPrefix(down.URL, "http://")
	down.Close()
	// Docker Hub is the origin here, reached on loopback only.
	routes := map[string]string{"index.docker.io:443": origin.host, "index.docker.io:80": origin.host}
	cfg := RegistryConfig{
		Mirrors:            []string{"http://" + downHost, "http://" + mirror.host},
		InsecureRegistries: []string{"index.docker.io"},
	}
	r := testRegistries(t, cfg, routes)
	s, _ := testStore(t)
	res, err := r.Pull(t.Context(), s, "busybox", PullOptions{})
	if err != nil {
		t.Fatalf("mirrors down or without the image, origin up: %v", err)
	}
	if res.ID != configDigest(t, img) || res.Ref != "docker.io/library/busybox:latest" {
		t.Errorf("pulled %+v", res)
	}
	// The image only on the mirror comes from the mirror, named as Docker Hub's.
	res, err = r.Pull(t.Context(), s, "alpine", PullOptions{})
	if err != nil || res.ID != configDigest(t, onMirror) {
		t.Fatalf("from the mirror: %+v %v", res, err)
	}
	im, err := s.Image(t.Context(), "alpine")
	if err != nil || !slices.Contains(im.Tags(), "alpine:latest") {
		t.Errorf("alpine: %v %v", im, err)
	}
}

func TestSearch(t *testing.T) {
	reg := newTestRegistry(t, false, nil)
	pushRandom(t, reg.host+"/team/web:1", 1)
	pushRandom(t, reg.host+"/team/db:1", 1)
	r := testRegistries(t, RegistryConfig{}, nil)
	got, err := r.Search(t.Context(), reg.host+"/we", 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]SearchResult{{Name: reg.host + "/team/web"}}, got); diff != "" {
		t.Errorf("catalog search (-want +got):\n%s", diff)
	}
	_, err = r.Search(t.Context(), "busybox", 0)
	if err == nil || !strings.Contains(err.Error(), "Docker Hub's search is unreachable") {
		t.Errorf("hub search offline: %v", err)
	}
}

func TestLoadRegistryConfig(t *testing.T) {
	p := filepath.Join(t.TempDir(), "registries.json")
	os.WriteFile(p, []byte(`{"insecure-registries":["10.0.0.0/8","reg:5000"],"registry-mirrors":["https://m.example"],"debug":true}`), 0o644)
	cfg, err := LoadRegistryConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	r := NewRegistries(cfg, t.TempDir())
	for host, want := range map[string]bool{"10.1.2.3:5000": true, "reg:5000": true, "reg:5001": false, "127.0.0.1:5000": true, "localhost:1": true, "m.example": false, "example.com": false} {
		if got := r.insecure(host); got != want {
			t.Errorf("insecure(%s) = %v, want %v", host, got, want)
		}
	}
	refs, _ := r.endpoints("docker.io/library/busybox:latest")
	var got []string
	for _, ref := range refs {
		got = append(got, ref.Name())
	}
	if diff := cmp.Diff([]string{"m.example/library/busybox:latest", "index.docker.io/library/busybox:latest"}, got); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
	os.WriteFile(p, []byte(`{"registry-mirrors":["m.example"]}`), 0o644)
	if _, err := LoadRegistryConfig(p); !errdefs.IsInvalidArgument(err) {
		t.Errorf("mirror without scheme: %v", err)
	}
	if _, err := LoadRegistryConfig(filepath.Join(t.TempDir(), "none.json")); err != nil {
		t.Errorf("missing file: %v", err)
	}
}

func TestServerKey(t *testing.T) {
	for in, want := range map[string]string{
		"": DockerHubServer, "docker.io": DockerHubServer, "https://index.docker.io/v1/": DockerHubServer,
		"localhost:5000": "localhost:5000", "https://reg.example:443/": "reg.example:443", "reg.example/v2/": "reg.example",
	} {
		if got := ServerKey(in); got != want {
			t.Errorf("ServerKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// A pull cut by the network keeps the layers it completed, verified, and
// the next pull skips them.
func TestPullResumesAfterNetworkCut(t *testing.T) {
	mode, target := "cut", ""
	reg := newTestRegistry(t, false, sabotage(&mode, &target))
	img := pushRandom(t, reg.host+"/resume/app:1", 3)
	layers, _ := img.Layers()
	d, _ := layers[2].Digest()
	target = d.String()
	s, _ := testStore(t)
	r := testRegistries(t, RegistryConfig{}, nil)
	if _, err := r.Pull(t.Context(), s, reg.host+"/resume/app:1", PullOptions{Jobs: 1}); err == nil {
		t.Fatal("pull through a cut connection succeeded")
	}
	mode = ""
	exists := 0
	if _, err := r.Pull(t.Context(), s, reg.host+"/resume/app:1", PullOptions{Progress: func(p Progress) {
		if p.Status == StatusExists {
			exists++
		}
	}}); err != nil {
		t.Fatal(err)
	}
	if exists != 2 {
		t.Errorf("%d layers skipped on the second pull, want the 2 completed before the cut", exists)
	}
	assertClean(t, s)
}
