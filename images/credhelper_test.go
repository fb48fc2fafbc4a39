//go:build !lean

package images

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestMain lets the test binary act as a Docker credential helper,
// docker-credential-berthtest, keeping credentials in the JSON file
// $BERTH_TEST_CREDS, so the credsStore path of config.json is exercised
// with a real helper process.
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "docker-credential-berthtest" {
		os.Exit(credentialHelper(os.Args[1], os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

func credentialHelper(action string, in io.Reader, out io.Writer) int {
	path := os.Getenv("BERTH_TEST_CREDS")
	store := map[string][2]string{}
	if data, err := os.ReadFile(path); err == nil {
		json.Unmarshal(data, &store)
	}
	input, _ := io.ReadAll(in)
	switch action {
	case "store":
		var c struct{ ServerURL, Username, Secret string }
		if err := json.Unmarshal(input, &c); err != nil {
			fmt.Fprintln(out, err)
			return 1
		}
		store[c.ServerURL] = [2]string{c.Username, c.Secret}
	case "get":
		c, ok := store[strings.TrimSpace(string(input))]
		if !ok {
			fmt.Fprint(out, "credentials not found in native keychain")
			return 1
		}
		json.NewEncoder(out).Encode(map[string]string{"ServerURL": strings.TrimSpace(string(input)), "Username": c[0], "Secret": c[1]})
		return 0
	case "erase":
		delete(store, strings.TrimSpace(string(input)))
	case "list":
		list := map[string]string{}
		for k, v := range store {
			list[k] = v[0]
		}
		json.NewEncoder(out).Encode(list)
		return 0
	}
	data, _ := json.Marshal(store)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		fmt.Fprintln(out, err)
		return 1
	}
	return 0
}

func TestCredentialHelper(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if err := os.Symlink(exe, filepath.Join(bin, "docker-credential-berthtest")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	creds := filepath.Join(t.TempDir(), "creds.json")
	t.Setenv("BERTH_TEST_CREDS", creds)

	reg := newTestRegistry(t, false, basicAuth("dave", "hunter2"))
	r := testRegistries(t, RegistryConfig{}, nil)
	os.WriteFile(filepath.Join(r.configDir, "config.json"), []byte(`{"credsStore":"berthtest"}`), 0o600)

	if _, err := r.Login(t.Context(), reg.host, "dave", "hunter2"); err != nil {
		t.Fatalf("login: %v", err)
	}
	cfg, _ := os.ReadFile(filepath.Join(r.configDir, "config.json"))
	if bytes.Contains(cfg, []byte("hunter2")) || bytes.Contains(cfg, []byte(`"auth"`)) {
		t.Errorf("the password went to config.json, not the helper: %s", cfg)
	}
	if data, _ := os.ReadFile(creds); !bytes.Contains(data, []byte("hunter2")) {
		t.Errorf("helper store: %s", data)
	}
	s, _ := testStore(t)
	importTar(t, s, reg.host+"/helped/app:1", makeTar(t, file("a", "1")))
	if _, err := r.Push(t.Context(), s, reg.host+"/helped/app:1", PushOptions{}); err != nil {
		t.Fatalf("push with the helper's credentials: %v", err)
	}
	if _, had, err := r.Logout(reg.host); !had || err != nil {
		t.Fatalf("logout: %v %v", had, err)
	}
	if data, _ := os.ReadFile(creds); bytes.Contains(data, []byte("hunter2")) {
		t.Errorf("helper still has the credentials: %s", data)
	}
}

// A hostile layer is refused by a pull, which leaves nothing behind.
func TestPullHostileLayer(t *testing.T) {
	reg := newTestRegistry(t, false, nil)
	for name, data := range map[string][]byte{
		"dotdot":  makeTar(t, file("../escape", "x")),
		"symlink": makeTar(t, symlink("etc", "/etc"), file("etc/passwd", "pwned")),
	} {
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
		if err != nil {
			t.Fatal(err)
		}
		img, _ := mutate.AppendLayers(empty.Image, layer)
		pushImage(t, reg.host+"/hostile/"+name+":1", img)
		s, _ := testStore(t)
		_, err = testRegistries(t, RegistryConfig{}, nil).Pull(t.Context(), s, reg.host+"/hostile/"+name+":1", PullOptions{})
		if !errdefs.IsInvalidArgument(err) {
			t.Errorf("%s: %v, want a refusal", name, err)
		}
		if _, err := os.Stat(filepath.Join(s.Dir(), "..", "escape")); err == nil {
			t.Errorf("%s: a file escaped the layer", name)
		}
		assertClean(t, s)
	}
}

// A zstd layer (OCI's tar+zstd) is pulled and unpacked like a gzip one.
func TestPullZstdLayer(t *testing.T) {
	reg := newTestRegistry(t, false, nil)
	data := makeTar(t, dir("etc"), file("etc/zst", "compressed"))
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithCompression(compression.ZStd), tarball.WithMediaType(types.OCILayerZStd))
	if err != nil {
		t.Fatal(err)
	}
	img, _ := mutate.AppendLayers(empty.Image, layer)
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	pushImage(t, reg.host+"/zstd/app:1", img)
	s, _ := testStore(t)
	if _, err := testRegistries(t, RegistryConfig{}, nil).Pull(t.Context(), s, reg.host+"/zstd/app:1", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	im, _ := s.Image(t.Context(), reg.host+"/zstd/app:1")
	if got, err := os.ReadFile(filepath.Join(im.LayerDirs()[0], "etc/zst")); err != nil || string(got) != "compressed" {
		t.Errorf("etc/zst: %q %v", got, err)
	}
	if im.Layers[0].MediaType != types.OCILayerZStd {
		t.Errorf("media type %s", im.Layers[0].MediaType)
	}
}
