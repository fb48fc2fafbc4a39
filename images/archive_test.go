//go:build !lean

package images

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// tarFiles reads an archive into name -> content.
func tarFiles(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		if hdr.Typeflag == tar.TypeReg {
			out[hdr.Name] = b
		}
	}
}

// archiveStore has two imported images (uncompressed layers) and one
// pulled (gzip layers), one of the imports with two tags.
func archiveStore(t *testing.T) (*Store, []string) {
	t.Helper()
	s, _ := testStore(t)
	importTar(t, s, "app:1", makeTar(t, dir("etc"), file("etc/motd", "hi")))
	if err := s.Tag(t.Context(), "app:1", "app:latest"); err != nil {
		t.Fatal(err)
	}
	importTar(t, s, "example.com/team/tool:2", makeTar(t, file("tool", "x")))
	reg := newTestRegistry(t, false, nil)
	pushRandom(t, reg.host+"/r/pulled:1", 2)
	if _, err := testRegistries(t, RegistryConfig{}, nil).Pull(t.Context(), s, reg.host+"/r/pulled:1", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	return s, []string{"app:1", "app:latest", "example.com/team/tool:2", reg.host + "/r/pulled:1"}
}

func TestSaveDockerArchiveLayout(t *testing.T) {
	s, refs := archiveStore(t)
	var buf bytes.Buffer
	if err := s.Save(t.Context(), &buf, refs, FormatDocker); err != nil {
		t.Fatal(err)
	}
	files := tarFiles(t, buf.Bytes())
	// Docker's documented layout: manifest.json lists each image's config
	// and layer paths, relative to the archive root; repositories maps
	// repository -> tag -> top layer ID.
	var manifest []DockerManifestEntry
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	if len(manifest) != 3 {
		t.Fatalf("manifest.json has %d images, want 3", len(manifest))
	}
	var tags []string
	for _, e := range manifest {
		tags = append(tags, e.RepoTags...)
		for _, p := range append([]string{e.Config}, e.Layers...) {
			if _, ok := files[p]; !ok {
				t.Errorf("manifest.json names %s, not in the archive", p)
			}
		}
		var cf v1.ConfigFile
		if err := json.Unmarshal(files[e.Config], &cf); err != nil || len(cf.RootFS.DiffIDs) != len(e.Layers) {
			t.Errorf("config %s: %v, %d diff IDs for %d layers", e.Config, err, len(cf.RootFS.DiffIDs), len(e.Layers))
		}
	}
	slices.Sort(tags)
	want := []string{refs[3][:strings.Index(refs[3], "/")] + "/r/pulled:1", "app:1", "app:latest", "example.com/team/tool:2"}
	slices.Sort(want)
	if diff := cmp.Diff(want, tags); diff != "" {
		t.Errorf("RepoTags (-want +got):\n%s", diff)
	}
	var repos map[string]map[string]string
	if err := json.Unmarshal(files["repositories"], &repos); err != nil || len(repos["app"]) != 2 {
		t.Errorf("repositories: %s %v", files["repositories"], err)
	}
	for _, f := range []string{"oci-layout", "index.json"} {
		if _, ok := files[f]; !ok {
			t.Errorf("no %s", f)
		}
	}
	// go-containerregistry's reader of docker save archives agrees.
	opener := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil }
	tag, _ := name.NewTag("app:1")
	img, err := tarball.Image(opener, &tag)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := s.Resolve(t.Context(), "app:1")
	if got := configDigest(t, img); got != id {
		t.Errorf("tarball reader: config %s, want %s", got, id)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	for _, format := range []ArchiveFormat{FormatDocker, FormatOCI} {
		t.Run(string(format), func(t *testing.T) {
			a, refs := archiveStore(t)
			var buf bytes.Buffer
			if err := a.Save(t.Context(), &buf, refs, format); err != nil {
				t.Fatal(err)
			}
			if format == FormatOCI {
				files := tarFiles(t, buf.Bytes())
				if _, ok := files["manifest.json"]; ok {
					t.Error("OCI archive has manifest.json")
				}
				dir := t.TempDir()
				for n, b := range files {
					os.MkdirAll(filepath.Join(dir, filepath.Dir(n)), 0o755)
					os.WriteFile(filepath.Join(dir, n), b, 0o644)
				}
				p, err := layout.FromPath(dir)
				if err != nil {
					t.Fatal(err)
				}
				idx, _ := p.ImageIndex()
				im, _ := idx.IndexManifest()
				if len(im.Manifests) != 4 {
					t.Errorf("OCI index has %d entries, want 4 (one per name)", len(im.Manifests))
				}
			}
			b, _ := testStore(t)
			loaded, err := b.Load(t.Context(), bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if len(loaded) != 3 {
				t.Errorf("loaded %d images, want 3: %+v", len(loaded), loaded)
			}
			for _, ref := range refs {
				want, err := a.Image(t.Context(), ref)
				if err != nil {
					t.Fatal(err)
				}
				got, err := b.Image(t.Context(), ref)
				if err != nil {
					t.Errorf("%s after load: %v", ref, err)
					continue
				}
				if got.ID != want.ID || got.Manifest.Digest != want.Manifest.Digest {
					t.Errorf("%s: loaded %s (manifest %s), saved %s (manifest %s)", ref, got.ID, got.Manifest.Digest, want.ID, want.Manifest.Digest)
				}
			}
			assertClean(t, b)
		})
	}
}

// A docker save archive of before Docker 25 has no index.json: layers are
// <id>/layer.tar or, from other writers, <digest>.tar.gz.
func TestLoadLegacyDockerArchive(t *testing.T) {
	img1, _ := random.Image(2048, 2)
	img2, _ := random.Image(2048, 1)
	t1, _ := name.NewTag("legacy/one:1")
	t2, _ := name.NewTag("localhost:5000/legacy/two")
	var buf bytes.Buffer
	if err := tarball.MultiRefWrite(map[name.Reference]v1.Image{t1: img1, t2: img2}, &buf); err != nil {
		t.Fatal(err)
	}
	s, _ := testStore(t)
	loaded, err := s.Load(t.Context(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, l := range loaded {
		got[l.ID] = l.Names
	}
	want := map[string][]string{
		configDigest(t, img1): {"docker.io/legacy/one:1"},
		configDigest(t, img2): {"localhost:5000/legacy/two:latest"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("loaded (-want +got):\n%s", diff)
	}
	assertClean(t, s)
}

func TestLoadBadArchive(t *testing.T) {
	s, _ := testStore(t)
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"not a tar", []byte("hello")},
		{"no manifest", makeTar(t, file("x", "1"))},
		{"missing layer", makeTar(t, file("manifest.json", `[{"Config":"c.json","RepoTags":["x:1"],"Layers":["l.tar"]}]`),
			file("c.json", `{"rootfs":{"type":"layers","diff_ids":["sha256:`+sixtyFour('a')+`"]}}`))},
	} {
		_, err := s.Load(t.Context(), bytes.NewReader(tc.data))
		if !errdefs.IsInvalidArgument(err) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if ims, _ := s.List(t.Context()); len(ims) != 0 {
		t.Errorf("images after bad loads: %d", len(ims))
	}
	assertClean(t, s)
}

// docker save before Docker 25: <id>/layer.tar uncompressed, a duplicate
// layer as a symlink to the first, config as <hex>.json.
func TestLoadClassicDockerSave(t *testing.T) {
	layer := makeTar(t, file("hello", "world"))
	diff := sha256Hex(layer)
	cfg := fmt.Sprintf(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s","sha256:%s"]}}`, diff, diff)
	cfgHex := sha256Hex([]byte(cfg))
	manifest := fmt.Sprintf(`[{"Config":"%s.json","RepoTags":["classic:1"],"Layers":["aaa/layer.tar","bbb/layer.tar"]}]`, cfgHex)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, data []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))})
		tw.Write(data)
	}
	tw.WriteHeader(&tar.Header{Name: "aaa/", Typeflag: tar.TypeDir, Mode: 0o755})
	add("aaa/VERSION", []byte("1.0"))
	add("aaa/layer.tar", layer)
	tw.WriteHeader(&tar.Header{Name: "bbb/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "bbb/layer.tar", Typeflag: tar.TypeSymlink, Linkname: "../aaa/layer.tar"})
	add(cfgHex+".json", []byte(cfg))
	add("manifest.json", []byte(manifest))
	add("repositories", []byte(`{"classic":{"1":"bbb"}}`))
	tw.Close()

	s, _ := testStore(t)
	loaded, err := s.Load(t.Context(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	want := []Loaded{{ID: "sha256:" + cfgHex, Names: []string{"docker.io/library/classic:1"}}}
	if diff := cmp.Diff(want, loaded); diff != "" {
		t.Errorf("loaded (-want +got):\n%s", diff)
	}
	im, err := s.Image(t.Context(), "classic:1")
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Layers) != 2 || im.Layers[0].MediaType != "application/vnd.oci.image.layer.v1.tar" {
		t.Errorf("layers: %+v", im.Layers)
	}
	assertClean(t, s)
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
