//go:build !lean

package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/images"
)

func TestPushPullCLI(t *testing.T) {
	host := loopbackRegistry(t, nil)
	a, b := t.TempDir(), t.TempDir()
	file := filepath.Join(t.TempDir(), "rootfs.tar")
	os.WriteFile(file, rootfsTar(t, "hello", false), 0o644)
	ref := host + "/cli/app:1"
	mustCLI(t, a, "import", file, ref)
	out := mustCLI(t, a, "push", "--progress", "plain", ref)
	if !strings.Contains(out, "The push refers to repository ["+host+"/cli/app]") || !strings.Contains(out, "1: digest: sha256:") {
		t.Errorf("push printed %q", out)
	}
	if got := mustCLI(t, b, "pull", "-q", ref); got != ref+"\n" {
		t.Errorf("pull -q printed %q", got)
	}
	out = mustCLI(t, b, "pull", "--progress", "plain", ref)
	if !strings.Contains(out, "Status: Image is up to date for "+ref) {
		t.Errorf("second pull printed %q", out)
	}
	out = mustCLI(t, b, "pull", "--progress", "json", ref)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Errorf("--progress json line %q: %v", line, err)
		}
	}
	idA := mustCLI(t, a, "image", "inspect", "-f", "{{.ID}} {{json .RepoDigests}}", ref)
	idB := mustCLI(t, b, "image", "inspect", "-f", "{{.ID}} {{json .RepoDigests}}", ref)
	if idA != idB || !strings.Contains(idB, host+"/cli/app@sha256:") {
		t.Errorf("inspect after push %q, after pull %q", idA, idB)
	}
	if got := mustCLI(t, b, "images", "--digests", "--format", "{{.Repository}} {{.Digest}}"); !strings.HasPrefix(got, host+"/cli/app sha256:") {
		t.Errorf("images --digests: %q", got)
	}
	_, _, err := berthCLI(t, b, "", "pull", host+"/cli/app:nope")
	if err == nil || err.Error() != "pull "+host+"/cli/app:nope: manifest unknown" {
		t.Errorf("unknown tag: %v", err)
	}
	out = mustCLI(t, b, "search", "--format", "{{.Name}}", host+"/cli")
	if out != host+"/cli/app\n" {
		t.Errorf("search: %q", out)
	}
	mustCLI(t, a, "tag", ref, host+"/cli/app:2")
	if out := mustCLI(t, a, "push", "-q", "-a", host+"/cli/app"); out != ref+"\n"+host+"/cli/app:2\n" {
		t.Errorf("push -a: %q", out)
	}
	if _, _, err := berthCLI(t, a, "", "push", "-a", ref); err == nil || !strings.Contains(err.Error(), "tag can't be used") {
		t.Errorf("push -a with a tag: %v", err)
	}
}

func TestSaveLoadCLI(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	file := filepath.Join(t.TempDir(), "rootfs.tar")
	os.WriteFile(file, rootfsTar(t, "hello", true), 0o644)
	mustCLI(t, a, "import", file, "one:1")
	mustCLI(t, a, "import", file, "two")
	archive := filepath.Join(t.TempDir(), "images.tar")
	mustCLI(t, a, "save", "-o", archive, "one:1", "two")
	out := mustCLI(t, b, "load", "-i", archive)
	if diff := cmp.Diff("Loaded image: one:1\nLoaded image: two:latest\n", out); diff != "" {
		t.Errorf("load (-want +got):\n%s", diff)
	}
	data, _ := os.ReadFile(archive)
	c := t.TempDir()
	if out, _, err := berthCLI(t, c, string(data), "load"); err != nil || !strings.Contains(out, "Loaded image: one:1") {
		t.Errorf("load from stdin: %q %v", out, err)
	}
	oci, _, err := berthCLI(t, a, "", "save", "--format", "oci", "one:1")
	if err != nil {
		t.Fatal(err)
	}
	d := t.TempDir()
	if out, _, err := berthCLI(t, d, oci, "image", "load"); err != nil || out != "Loaded image: one:1\n" {
		t.Errorf("load of an OCI archive: %q %v", out, err)
	}
}

func TestLoginLogoutCLI(t *testing.T) {
	host := loopbackRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != "bob" || p != "pw" {
				w.Header().Set("WWW-Authenticate", `Basic realm="t"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	root := t.TempDir()
	_, _, err := berthCLI(t, root, "nope\n", "login", "-u", "bob", "--password-stdin", host)
	if err == nil || err.Error() != "login "+host+": unauthorized: incorrect username or password" {
		t.Errorf("bad password: %v", err)
	}
	out, _, err := berthCLI(t, root, "pw\n", "login", "-u", "bob", "--password-stdin", host)
	if err != nil || out != "Login Succeeded\n" {
		t.Fatalf("login: %q %v", out, err)
	}
	cfg, _ := os.ReadFile(filepath.Join(os.Getenv("DOCKER_CONFIG"), "config.json"))
	var parsed struct {
		Auths map[string]struct{ Auth string }
	}
	if err := json.Unmarshal(cfg, &parsed); err != nil || parsed.Auths[host].Auth != "Ym9iOnB3" { // base64("bob:pw")
		t.Errorf("config.json: %s", cfg)
	}
	if out := mustCLI(t, root, "logout", host); out != "Removing login credentials for "+host+"\n" {
		t.Errorf("logout: %q", out)
	}
	if out := mustCLI(t, root, "logout", host); out != "Not logged in to "+host+"\n" {
		t.Errorf("second logout: %q", out)
	}
}

func TestProgressPrinter(t *testing.T) {
	evs := []images.Progress{
		{Ref: "busybox:latest", Status: images.StatusResolving},
		{Ref: "busybox:latest", ID: "aaa", Status: images.StatusExists},
		{Ref: "busybox:latest", ID: "bbb", Status: images.StatusWaiting},
		{Ref: "busybox:latest", ID: "bbb", Status: images.StatusDownloading, Current: 50, Total: 100},
		{Ref: "busybox:latest", ID: "bbb", Status: images.StatusDownloading, Current: 55, Total: 100},
		{Ref: "busybox:latest", ID: "bbb", Status: images.StatusComplete, Current: 100, Total: 100},
		{Ref: "busybox:latest", Status: "Digest: sha256:x"},
	}
	for _, tc := range []struct {
		mode progressMode
		want string
	}{
		{"plain", "latest: Pulling from library/busybox\naaa: Already exists\nbbb: Waiting\nbbb: Downloading 50B/100B\nbbb: Pull complete\nDigest: sha256:x\n"},
		{"quiet", ""},
		{"json", `{"ref":"busybox:latest","status":"Resolving"}` + "\n"},
		{"tty", "latest: Pulling from library/busybox\n"},
	} {
		var b strings.Builder
		p := newProgressPrinter(&b, tc.mode)
		for _, ev := range evs {
			p.Update(ev)
		}
		got := b.String()
		if tc.mode == "json" || tc.mode == "tty" {
			got = got[:strings.Index(got, "\n")+1]
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.mode, diff)
		}
	}
}

func TestEnsureImage(t *testing.T) {
	host := loopbackRegistry(t, nil)
	src, root := t.TempDir(), t.TempDir()
	file := filepath.Join(t.TempDir(), "rootfs.tar")
	os.WriteFile(file, rootfsTar(t, "hello", false), 0o644)
	ref := host + "/ensure/app:1"
	mustCLI(t, src, "import", file, ref)
	mustCLI(t, src, "push", "-q", ref)
	g := &globals{root: root}
	cmd := &cobra.Command{}
	cmd.SetContext(t.Context())
	var progress strings.Builder
	id, err := ensurePlatformImage(cmd, g, ref, "", &progress)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(progress.String(), "Unable to find image '"+ref+"' locally\n") || !strings.HasSuffix(progress.String(), "Status: Downloaded newer image for "+ref+"\n") {
		t.Errorf("progress: %q", progress.String())
	}
	progress.Reset()
	again, err := ensurePlatformImage(cmd, g, ref, "", &progress)
	if err != nil || again != id || progress.Len() != 0 {
		t.Errorf("second ensure: %s %v %q", again, err, progress.String())
	}
}

// TestPushProgressCLI: push shows each layer as docker push does, with bars
// on a terminal, lines in plain mode, JSON lines with --progress json.
func TestPushProgressCLI(t *testing.T) {
	host := loopbackRegistry(t, nil)
	root := t.TempDir()
	file := filepath.Join(t.TempDir(), "rootfs.tar")
	os.WriteFile(file, rootfsTar(t, strings.Repeat("x", 3<<20), false), 0o644)
	mustCLI(t, root, "import", file, host+"/bars/app:1")
	mustCLI(t, root, "tag", host+"/bars/app:1", host+"/bars/app:2")
	mustCLI(t, root, "tag", host+"/bars/app:1", host+"/bars/app:3")

	tty := mustCLI(t, root, "push", "--progress", "tty", host+"/bars/app:1")
	for _, want := range []string{"The push refers to repository [" + host + "/bars/app]\n", ": Preparing", ": Pushing [", "=>", "\x1b[2K", ": Pushed\n", "1: digest: sha256:"} {
		if !strings.Contains(tty, want) {
			t.Errorf("tty push lacks %q:\n%q", want, tty)
		}
	}
	plain := mustCLI(t, root, "push", "--progress", "plain", host+"/bars/app:2")
	lines := strings.Split(strings.TrimSpace(plain), "\n")
	if len(lines) != 4 || !strings.HasSuffix(lines[1], ": Preparing") || !strings.HasSuffix(lines[2], ": Layer already exists") || !strings.HasPrefix(lines[3], "2: digest: sha256:") {
		t.Errorf("plain push of a pushed layer:\n%s", plain)
	}
	js := mustCLI(t, root, "push", "--progress", "json", host+"/bars/app:3")
	var last map[string]any
	for _, l := range strings.Split(strings.TrimSpace(js), "\n") {
		if err := json.Unmarshal([]byte(l), &last); err != nil {
			t.Fatalf("json push line %q: %v", l, err)
		}
	}
	if s, _ := last["status"].(string); !strings.HasPrefix(s, "3: digest: sha256:") {
		t.Errorf("json push ended with %v", last)
	}
	if q := mustCLI(t, root, "push", "-q", host+"/bars/app:3"); q != host+"/bars/app:3\n" {
		t.Errorf("push -q printed %q", q)
	}
}
