package images

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/zstd"
)

// testStore opens a store in a temp dir with a clock that ticks a second
// per reading and an in-use set the test controls.
func testStore(t *testing.T) (*Store, map[string]bool) {
	t.Helper()
	inUse := map[string]bool{}
	var mu sync.Mutex
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s, err := Open(filepath.Join(t.TempDir(), "images"), Options{
		InUse: func(id string) bool { return inUse[id] },
		Now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			clock = clock.Add(time.Second)
			return clock
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, inUse
}

func importTar(t *testing.T, s *Store, name string, data []byte, changes ...string) string {
	t.Helper()
	id, err := s.Import(t.Context(), bytes.NewReader(data), ImportOptions{Name: name, Changes: changes, Source: "-"})
	if err != nil {
		t.Fatalf("import %s: %v", name, err)
	}
	return id
}

// names lists every image as "ID-prefix: names" for comparison.
func names(t *testing.T, s *Store) map[string][]string {
	t.Helper()
	ims, err := s.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, im := range ims {
		n := []string{}
		for _, x := range im.Names {
			n = append(n, Familiar(x))
		}
		sort.Strings(n)
		out[im.ID] = n
	}
	return out
}

func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{in: "busybox", want: "docker.io/library/busybox:latest"},
		{in: "busybox:1.36", want: "docker.io/library/busybox:1.36"},
		{in: "library/busybox", want: "docker.io/library/busybox:latest"},
		{in: "me/app", want: "docker.io/me/app:latest"},
		{in: "localhost/x", want: "localhost/x:latest"},
		{in: "localhost:5000/x:v1", want: "localhost:5000/x:v1"},
		{in: "ghcr.io/o/r", want: "ghcr.io/o/r:latest"},
		{in: "busybox@sha256:" + sixtyFour('a'), want: "docker.io/library/busybox@sha256:" + sixtyFour('a')},
		{in: "busybox:1@sha256:" + sixtyFour('a'), want: "docker.io/library/busybox@sha256:" + sixtyFour('a')},
		{in: "Busybox", err: "invalid reference format"},
		{in: "a b", err: "invalid reference format"},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.in)
		if tt.err != "" {
			if !errdefs.IsInvalidArgument(err) {
				t.Errorf("Normalize(%q) = %q, %v; want an invalid-argument error", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := NormalizeTag("busybox@sha256:" + sixtyFour('a')); !errdefs.IsInvalidArgument(err) {
		t.Errorf("NormalizeTag of a digest reference = %v, want refused", err)
	}
	if got := Familiar("docker.io/library/busybox:latest"); got != "busybox:latest" {
		t.Errorf("Familiar = %q", got)
	}
}

func sixtyFour(c byte) string { return string(bytes.Repeat([]byte{c}, 64)) }

func TestImport(t *testing.T) {
	s, _ := testStore(t)
	data := makeTar(t, dir("bin"), file("bin/hello", "hi"), symlink("bin/sh", "hello"))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	var zs bytes.Buffer
	ze, _ := zstd.NewWriter(&zs)
	ze.Write(data)
	ze.Close()
	for name, in := range map[string][]byte{"plain": data, "gzip": gz.Bytes(), "zstd": zs.Bytes()} {
		t.Run(name, func(t *testing.T) {
			id := importTar(t, s, "localhost/"+name+":v1", in,
				`CMD ["/bin/hello", "x"]`, `ENV A=1 B="two words"`, `ENV C 3`, `WORKDIR /srv`, `USER app`,
				`EXPOSE 80 53/udp`, `LABEL a=b "c d"=e`, `VOLUME /data`, `STOPSIGNAL SIGTERM`)
			im, err := s.Image(t.Context(), "localhost/"+name+":v1")
			if err != nil {
				t.Fatal(err)
			}
			if im.ID != id {
				t.Errorf("ID %s, import said %s", im.ID, id)
			}
			want := v1.Config{
				Cmd:          []string{"/bin/hello", "x"},
				Env:          []string{"A=1", "B=two words", "C=3"},
				WorkingDir:   "/srv",
				User:         "app",
				ExposedPorts: map[string]struct{}{"80/tcp": {}, "53/udp": {}},
				Labels:       map[string]string{"a": "b", "c d": "e"},
				Volumes:      map[string]struct{}{"/data": {}},
				StopSignal:   "SIGTERM",
			}
			if diff := cmp.Diff(want, im.Config.Config); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if len(im.Layers) != 1 || im.Layers[0].DiffID != im.Layers[0].Digest || im.Config.History[0].Comment != "Imported from -" {
				t.Errorf("layers %+v history %+v", im.Layers, im.Config.History)
			}
			dirs := im.LayerDirs()
			if b, err := os.ReadFile(filepath.Join(dirs[0], "bin/sh")); err != nil || string(b) != "hi" {
				t.Errorf("layer dir: %q, %v", b, err)
			}
		})
	}
	// The same tar three ways is one layer, unpacked once.
	if got := dirEntries(t, s.layerRoot()); len(got) != 1 {
		t.Errorf("layers = %v, want one", got)
	}
}

func TestImportBadInputChangesNothing(t *testing.T) {
	s, _ := testStore(t)
	data := makeTar(t, file("a", "1"))
	for _, opts := range []ImportOptions{
		{Changes: []string{"FROB x"}},
		{Changes: []string{"EXPOSE 99999"}},
		{Name: "Bad Name"},
		{Platform: "nonsense"},
	} {
		if _, err := s.Import(t.Context(), bytes.NewReader(data), opts); !errdefs.IsInvalidArgument(err) {
			t.Errorf("Import(%+v) = %v, want invalid argument", opts, err)
		}
	}
	if _, err := s.Import(t.Context(), bytes.NewReader(makeTar(t, file("../x", "1"))), ImportOptions{Name: "x"}); err == nil {
		t.Error("import of a hostile tar succeeded")
	}
	if _, err := s.Import(t.Context(), bytes.NewReader([]byte("not a tar at all, just text")), ImportOptions{Name: "x"}); err == nil {
		t.Error("import of garbage succeeded")
	}
	if got := names(t, s); len(got) != 0 {
		t.Errorf("images after bad imports: %v", got)
	}
	for _, d := range []string{s.blobDir(), s.layerRoot(), s.tmpDir()} {
		if got := dirEntries(t, d); len(got) != 0 {
			t.Errorf("%s after bad imports: %v", d, got)
		}
	}
}

func TestLookup(t *testing.T) {
	s, _ := testStore(t)
	id := importTar(t, s, "busybox", makeTar(t, file("a", "1")))
	im, _ := s.Image(t.Context(), id)
	hex := id[len("sha256:"):]
	digestRef := "docker.io/library/busybox@" + im.Manifest.Digest.String()
	if err := s.updateIndex(t.Context(), func(v *view) ([]v1.Descriptor, error) {
		return s.setName(v.entries, v, im.Manifest, im.ID, digestRef), nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"busybox", "busybox:latest", "docker.io/library/busybox:latest", id, hex, hex[:12], hex[:4], "busybox@" + im.Manifest.Digest.String()} {
		got, err := s.Resolve(t.Context(), ref)
		if err != nil || got != id {
			t.Errorf("Resolve(%q) = %q, %v; want %s", ref, got, err, id)
		}
	}
	for _, ref := range []string{"busybox:other", "nothere", "sha256:" + sixtyFour('0'), "0000"} {
		if _, err := s.Resolve(t.Context(), ref); !errdefs.IsNotFound(err) {
			t.Errorf("Resolve(%q) = %v, want not found", ref, err)
		}
	}
	_, err := s.Resolve(t.Context(), "nothere")
	if err == nil || err.Error() != "No such image: nothere:latest" {
		t.Errorf("error text %q", err)
	}
	im, _ = s.Image(t.Context(), id)
	if diff := cmp.Diff([]string{"busybox@" + im.Manifest.Digest.String()}, im.Digests()); diff != "" {
		t.Errorf("digests: %s", diff)
	}
}

func TestTagAndRemove(t *testing.T) {
	s, inUse := testStore(t)
	a := importTar(t, s, "a", makeTar(t, file("a", "1")))
	ctx := t.Context()
	mustTag := func(src, dst string) {
		t.Helper()
		if err := s.Tag(ctx, src, dst); err != nil {
			t.Fatalf("tag %s %s: %v", src, dst, err)
		}
	}
	mustTag("a", "b:v1")
	mustTag(a[7:19], "localhost/c")
	if diff := cmp.Diff(map[string][]string{a: {"a:latest", "b:v1", "localhost/c:latest"}}, names(t, s)); diff != "" {
		t.Fatalf("after tag (-want +got):\n%s", diff)
	}
	// Untag one name of several.
	rm, err := s.Remove(ctx, "b:v1", false)
	if err != nil || !cmp.Equal(rm, []Removal{{Untagged: "b:v1"}}) {
		t.Fatalf("rmi b:v1 = %v, %v", rm, err)
	}
	// By ID with names in two repositories: needs force.
	if _, err := s.Remove(ctx, a, false); !errdefs.IsConflict(err) {
		t.Fatalf("rmi by ID with two repos = %v, want conflict", err)
	}
	// Moving a tag leaves the old image dangling.
	b := importTar(t, s, "", makeTar(t, file("b", "2")))
	mustTag(b, "a")
	if diff := cmp.Diff(map[string][]string{a: {"localhost/c:latest"}, b: {"a:latest"}}, names(t, s)); diff != "" {
		t.Fatalf("after moving a tag (-want +got):\n%s", diff)
	}
	mustTag(b, "localhost/c")
	if diff := cmp.Diff(map[string][]string{a: {}, b: {"a:latest", "localhost/c:latest"}}, names(t, s)); diff != "" {
		t.Fatalf("after moving the last tag (-want +got):\n%s", diff)
	}
	// In use: refused without force; with force untagged only.
	inUse[b] = true
	if _, err := s.Remove(ctx, b, true); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][]string{a: {}, b: {}}, names(t, s)); diff != "" {
		t.Fatalf("after forced rmi of an in-use image (-want +got):\n%s", diff)
	}
	if _, err := s.Remove(ctx, b, false); !errdefs.IsConflict(err) {
		t.Fatalf("rmi of an in-use image = %v, want conflict", err)
	}
	inUse[b] = false
	rm, err = s.Remove(ctx, b, false)
	if err != nil || !cmp.Equal(rm, []Removal{{Deleted: b}}) {
		t.Fatalf("rmi b = %v, %v", rm, err)
	}
	if _, err := s.Remove(ctx, b, false); !errdefs.IsNotFound(err) {
		t.Fatalf("second rmi = %v, want not found", err)
	}
}

func TestGC(t *testing.T) {
	s, _ := testStore(t)
	ctx := t.Context()
	shared := makeTar(t, file("shared", "1"))
	one := importTar(t, s, "one", shared, "CMD one")
	two := importTar(t, s, "two", shared, "CMD two")
	if one == two {
		t.Fatal("different configs gave one ID")
	}
	three := importTar(t, s, "three", makeTar(t, file("own", "3")))
	im, _ := s.Image(ctx, "one")
	layer := im.Layers[0]
	if _, err := s.Remove(ctx, "one", false); err != nil {
		t.Fatal(err)
	}
	if !s.HasBlob(layer.Digest) || !s.HasLayer(layer.ChainID) {
		t.Fatal("removing one image freed a layer another still uses")
	}
	if _, err := s.Remove(ctx, "two", false); err != nil {
		t.Fatal(err)
	}
	if s.HasBlob(layer.Digest) || s.HasLayer(layer.ChainID) {
		t.Fatal("removing the last image kept its layer")
	}
	// An open ingest holds collection off.
	in, err := s.Ingest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	orphan, err := in.WriteLayer(ctx, bytes.NewReader(makeTar(t, file("orphan", "o"))), LayerInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remove(ctx, three, false); err != nil {
		t.Fatal(err)
	}
	if !s.HasLayer(orphan.ChainID) {
		t.Fatal("collection ran under an open ingest")
	}
	in.Close()
	freed, err := s.GC(ctx)
	if err != nil || freed != 1+1 {
		t.Fatalf("GC = %d, %v; want 2 bytes freed", freed, err)
	}
	for _, d := range []string{s.blobDir(), s.layerRoot(), s.tmpDir()} {
		if got := dirEntries(t, d); len(got) != 0 {
			t.Errorf("%s after removing everything: %v", d, got)
		}
	}
}

func TestPrune(t *testing.T) {
	s, inUse := testStore(t)
	ctx := t.Context()
	dangling := importTar(t, s, "", makeTar(t, file("d", "1")))
	busy := importTar(t, s, "", makeTar(t, file("b", "22")))
	tagged := importTar(t, s, "kept", makeTar(t, file("k", "333")))
	inUse[busy] = true
	rm, freed, err := s.Prune(ctx, false)
	if err != nil || !cmp.Equal(rm, []Removal{{Deleted: dangling}}) || freed != 1 {
		t.Fatalf("prune = %v, %d, %v", rm, freed, err)
	}
	rm, _, err = s.Prune(ctx, true)
	if err != nil || !cmp.Equal(rm, []Removal{{Untagged: "kept:latest"}, {Deleted: tagged}}) {
		t.Fatalf("prune -a = %v, %v", rm, err)
	}
	if diff := cmp.Diff(map[string][]string{busy: {}}, names(t, s)); diff != "" {
		t.Errorf("after prune (-want +got):\n%s", diff)
	}
}

func TestWriteLayerDigestMismatch(t *testing.T) {
	s, _ := testStore(t)
	in, err := s.Ingest(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	_, err = in.WriteLayer(t.Context(), bytes.NewReader(makeTar(t, file("a", "1"))), LayerInput{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: v1.Hash{Algorithm: "sha256", Hex: sixtyFour('b')}})
	if !errdefs.IsFailedPrecondition(err) {
		t.Fatalf("WriteLayer = %v, want a digest mismatch", err)
	}
	for _, d := range []string{s.blobDir(), s.layerRoot(), s.tmpDir()} {
		if got := dirEntries(t, d); len(got) != 0 {
			t.Errorf("%s after a mismatch: %v", d, got)
		}
	}
}

// TestConcurrentImports checks that parallel writers keep every name.
func TestConcurrentImports(t *testing.T) {
	s, _ := testStore(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := makeTar(t, file("f", string(rune('a'+i))))
			_, err := s.Import(t.Context(), bytes.NewReader(data), ImportOptions{Name: "img:" + string(rune('a'+i))})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := names(t, s); len(got) != 8 {
		t.Errorf("%d images after 8 parallel imports: %v", len(got), got)
	}
}

func TestLayerRestoredFromBlob(t *testing.T) {
	s, _ := testStore(t)
	importTar(t, s, "x", makeTar(t, file("a", "1")))
	im, _ := s.Image(t.Context(), "x")
	if err := os.RemoveAll(filepath.Dir(im.Layers[0].Dir)); err != nil {
		t.Fatal(err)
	}
	im, err := s.Image(t.Context(), "x")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(im.Layers[0].Dir, "a")); err != nil || string(b) != "1" {
		t.Fatalf("restored layer: %q, %v", b, err)
	}
	if _, err := s.Image(t.Context(), "nope"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("Image(nope) = %v", err)
	}
}

// TestV1Image reads an imported image back through go-containerregistry's
// OCI layout reader: the store is a valid image layout.
func TestV1Image(t *testing.T) {
	s, _ := testStore(t)
	id := importTar(t, s, "v1img", makeTar(t, file("a", "1")), "CMD x")
	img, err := s.V1Image(t.Context(), "v1img")
	if err != nil {
		t.Fatal(err)
	}
	name, err := img.ConfigName()
	if err != nil || name.String() != id {
		t.Fatalf("ConfigName = %v, %v; want %s", name, err, id)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("Layers = %v, %v", layers, err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	st, err := Unpack(t.Context(), rc, t.TempDir())
	if err != nil || st.Size != 1 {
		t.Fatalf("unpack through ggcr: %+v, %v", st, err)
	}
}

// TestRemoveLastTagTakesDigests: as in Docker, untagging a repository's
// last tag also removes its digest references.
func TestRemoveLastTagTakesDigests(t *testing.T) {
	s, _ := testStore(t)
	ctx := t.Context()
	id := importTar(t, s, "repo:1", makeTar(t, file("a", "1")))
	im, _ := s.Image(ctx, id)
	byDigest := "docker.io/library/repo@" + im.Manifest.Digest.String()
	if err := s.updateIndex(ctx, func(v *view) ([]v1.Descriptor, error) {
		return s.setName(v.entries, v, im.Manifest, im.ID, byDigest), nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(ctx, "repo:1", "repo:2"); err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(ctx, "repo:1", "other"); err != nil {
		t.Fatal(err)
	}
	rm, err := s.Remove(ctx, "repo:1", false)
	if err != nil || !cmp.Equal(rm, []Removal{{Untagged: "repo:1"}}) {
		t.Fatalf("rmi repo:1 = %v, %v", rm, err)
	}
	rm, err = s.Remove(ctx, "repo:2", false)
	want := []Removal{{Untagged: "repo:2"}, {Untagged: "repo@" + im.Manifest.Digest.String()}}
	if err != nil || !cmp.Equal(rm, want) {
		t.Fatalf("rmi repo:2 = %v, %v; want %v", rm, err, want)
	}
	rm, err = s.Remove(ctx, "other", false)
	if err != nil || !cmp.Equal(rm, []Removal{{Untagged: "other:latest"}, {Deleted: id}}) {
		t.Fatalf("rmi other = %v, %v", rm, err)
	}
}

// failingReader returns data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// TestInterruptedLayer: a stream cut in the middle or a cancelled context
// fails the layer and leaves nothing, and the next try succeeds.
func TestInterruptedLayer(t *testing.T) {
	s, _ := testStore(t)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(makeTar(t, file("a", string(bytes.Repeat([]byte("x"), 1<<20))), file("b", "2")))
	zw.Close()
	full := gz.Bytes()
	in, err := s.Ingest(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	cut := &failingReader{data: full[:len(full)/2], err: errors.New("connection reset")}
	if _, err := in.WriteLayer(t.Context(), cut, LayerInput{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip"}); err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("WriteLayer of a cut stream = %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := in.WriteLayer(ctx, bytes.NewReader(full), LayerInput{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("WriteLayer with a cancelled context = %v", err)
	}
	for _, d := range []string{s.blobDir(), s.layerRoot(), s.tmpDir()} {
		if got := dirEntries(t, d); len(got) != 0 {
			t.Errorf("%s after interrupted layers: %v", d, got)
		}
	}
	l, err := in.WriteLayer(t.Context(), bytes.NewReader(full), LayerInput{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip"})
	if err != nil || !s.HasBlob(l.Digest) || !s.HasLayer(l.ChainID) || l.Size != 1<<20+1 {
		t.Fatalf("retry: %+v, %v", l, err)
	}
}

// TestNormalizeShort: where the short path answers, it answers as the
// reference grammar does.
func TestNormalizeShort(t *testing.T) {
	long := func(c byte, n int) string { return strings.Repeat(string(c), n) }
	ins := []string{
		"busybox", "alpine:3.20", "a", "1", "a1b2", "busybox:latest", "busybox:Tag_1.2-x", "b:_x", "b:1",
		"busybox:", ":tag", "busybox:.x", "busybox:-x", "busybox:a:b", "Busybox", "a b", "a_b", "a-b", "a.b",
		"busybox@sha256:" + sixtyFour('a'), "me/app", "localhost:5000/x", sixtyFour('a'), sixtyFour('a') + ":1",
		long('a', 63), long('a', 65), long('a', 200), long('a', 201), "a:" + long('b', 128), "a:" + long('b', 129),
	}
	short := 0
	for _, in := range ins {
		got, ok := normalizeShort(in)
		if !ok {
			continue
		}
		short++
		named, err := reference.ParseNormalizedNamed(in)
		if err != nil {
			t.Errorf("normalizeShort(%q) = %q, but the grammar refuses it: %v", in, got, err)
			continue
		}
		if want := reference.TagNameOnly(named).String(); got != want {
			t.Errorf("normalizeShort(%q) = %q, want %q", in, got, want)
		}
		if want := reference.FamiliarString(reference.TagNameOnly(named)); Familiar(got) != want {
			t.Errorf("Familiar(%q) = %q, want %q", got, Familiar(got), want)
		}
	}
	if short < 10 {
		t.Errorf("the short path took only %d of the references", short)
	}
}
