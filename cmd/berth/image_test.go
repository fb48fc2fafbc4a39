package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// berthCLI runs the berth command in-process against root.
func berthCLI(t *testing.T, root, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetArgs(append([]string{"--root", root}, args...))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetIn(strings.NewReader(stdin))
	err = cmd.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

func mustCLI(t *testing.T, root string, args ...string) string {
	t.Helper()
	out, stderr, err := berthCLI(t, root, "", args...)
	if err != nil {
		t.Fatalf("berth %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// rootfsTar is a tiny root file system tarball, gzip-compressed if asked.
func rootfsTar(t *testing.T, content string, gz bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "bin/hello", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(content))})
	tw.Write([]byte(content))
	tw.Close()
	if !gz {
		return buf.Bytes()
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(buf.Bytes())
	zw.Close()
	return z.Bytes()
}

var imageIDLine = regexp.MustCompile(`^sha256:[a-f0-9]{64}\n$`)

func TestImportSources(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(t.TempDir(), "rootfs.tar.gz")
	os.WriteFile(file, rootfsTar(t, "file", true), 0o644)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/rootfs.tar" {
			http.NotFound(w, r)
			return
		}
		w.Write(rootfsTar(t, "url", false))
	}))
	defer srv.Close()

	out := mustCLI(t, root, "import", "-c", `CMD ["/bin/hello"]`, "--change", "ENV A=1", "-m", "from a file", file, "fromfile:v1")
	if !imageIDLine.MatchString(out) {
		t.Fatalf("import printed %q, want an image ID", out)
	}
	out, _, err := berthCLI(t, root, string(rootfsTar(t, "stdin", false)), "import", "-", "localhost/fromstdin")
	if err != nil || !imageIDLine.MatchString(out) {
		t.Fatalf("import - = %q, %v", out, err)
	}
	mustCLI(t, root, "image", "import", "--platform", "linux/arm64/v8", srv.URL+"/rootfs.tar", "fromurl")
	if _, _, err := berthCLI(t, root, "", "import", srv.URL+"/missing.tar", "x"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("import of a missing URL = %v", err)
	}
	if _, _, err := berthCLI(t, root, "", "import", "ftp://example.invalid/x.tar", "x"); err == nil || !strings.Contains(err.Error(), "only http and https") {
		t.Errorf("import from ftp = %v", err)
	}
	if _, _, err := berthCLI(t, root, "", "import", "-c", "FROB x", file, "x"); err == nil || !strings.Contains(err.Error(), "FROB") {
		t.Errorf("import with a bad change = %v", err)
	}

	got := mustCLI(t, root, "images", "--format", "{{.Repository}} {{.Tag}}")
	want := []string{"fromfile v1", "fromurl latest", "localhost/fromstdin latest"}
	lines := strings.Fields(strings.ReplaceAll(got, " ", "_"))
	slices.Sort(lines)
	if diff := cmp.Diff(want, strings.Split(strings.ReplaceAll(strings.Join(lines, "\n"), "_", " "), "\n")); diff != "" {
		t.Errorf("images (-want +got):\n%s", diff)
	}
	if got := mustCLI(t, root, "image", "inspect", "--format", "{{.Os}}/{{.Architecture}}/{{.Variant}} {{json .Config.Cmd}} {{.Comment}}", "fromurl"); got != "linux/arm64/v8 null Imported from "+srv.URL+"/rootfs.tar\n" {
		t.Errorf("inspect fromurl = %q", got)
	}
	if got := mustCLI(t, root, "image", "inspect", "-f", `{{json .Config.Cmd}} {{join .Config.Env ","}} {{.Comment}}`, "fromfile:v1"); got != `["/bin/hello"] A=1 from a file`+"\n" {
		t.Errorf("inspect fromfile = %q", got)
	}
}

func TestImagesTableAndFilters(t *testing.T) {
	root := t.TempDir()
	if _, _, err := berthCLI(t, root, "", "import", "-", "base"); err == nil {
		t.Error("import of empty input succeeded")
	}
	importStdin := func(content string, args ...string) string {
		t.Helper()
		out, stderr, err := berthCLI(t, root, string(rootfsTar(t, content, false)), append([]string{"import"}, args...)...)
		if err != nil {
			t.Fatalf("import: %v %s", err, stderr)
		}
		return strings.TrimSpace(out)
	}
	importStdin("base", "-c", "LABEL tier=base", "-", "base")
	a := importStdin("a", "-c", "LABEL tier=app", "-", "app:1")
	importStdin("b", "-", "other")
	dangling := importStdin("c", "-")
	mustCLI(t, root, "tag", "app:1", "app:2")

	table := mustCLI(t, root, "images", "--format", "table {{.Repository}}\t{{.Tag}}", "--filter", "reference=app")
	want := "REPOSITORY   TAG\napp          1\napp          2\n"
	if table != want {
		t.Errorf("table:\n%s\nwant:\n%s", table, want)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--filter", "dangling=true", "-q", "--no-trunc"}, dangling + "\n"},
		{[]string{"--filter", "label=tier=app", "-q"}, a[7:19] + "\n" + a[7:19] + "\n"},
		{[]string{"--filter", "label=tier", "--format", "{{.Repository}}:{{.Tag}}"}, "app:1\napp:2\nbase:latest\n"},
		{[]string{"app:2", "--format", "{{.Tag}}"}, "2\n"},
		{[]string{"--filter", "reference=ap*:1", "--format", "{{.Tag}}"}, "1\n"},
		{[]string{"--filter", "since=base", "--filter", "before=" + dangling, "--format", "{{.Repository}}"}, "app\napp\nother\n"},
	}
	for _, tt := range tests {
		got := mustCLI(t, root, append([]string{"images"}, tt.args...)...)
		lines := strings.Split(strings.TrimSpace(got), "\n")
		slices.Sort(lines)
		if diff := cmp.Diff(tt.want, strings.Join(lines, "\n")+"\n"); diff != "" {
			t.Errorf("images %v (-want +got):\n%s", tt.args, diff)
		}
	}
	if _, _, err := berthCLI(t, root, "", "images", "--filter", "bogus=1"); err == nil {
		t.Error("an unknown filter was accepted")
	}
	header := mustCLI(t, root, "images", "--digests")
	if first := strings.Fields(strings.SplitN(header, "\n", 2)[0]); !cmp.Equal(first, []string{"REPOSITORY", "TAG", "DIGEST", "IMAGE", "ID", "CREATED", "SIZE"}) {
		t.Errorf("header %q", first)
	}
}

func TestRmiAndPrune(t *testing.T) {
	root := t.TempDir()
	out, _, err := berthCLI(t, root, string(rootfsTar(t, "x", false)), "import", "-", "one")
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(out)
	mustCLI(t, root, "tag", "one", "two")
	if got := mustCLI(t, root, "rmi", "two"); got != "Untagged: two:latest\n" {
		t.Errorf("rmi two = %q", got)
	}
	mustCLI(t, root, "tag", "one", "localhost/three")
	_, stderr, err := berthCLI(t, root, "", "rmi", id[7:19], "missing")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(stderr, "must be forced") || !strings.Contains(stderr, "No such image: missing:latest") {
		t.Errorf("rmi by ID with two repos = %v, stderr %q", err, stderr)
	}
	got := mustCLI(t, root, "image", "rm", "-f", id[7:19])
	if want := "Untagged: one:latest\nUntagged: localhost/three:latest\nDeleted: " + id + "\n"; got != want {
		t.Errorf("rmi -f = %q, want %q", got, want)
	}
	berthCLI(t, root, string(rootfsTar(t, "y", false)), "import", "-")
	if got, _, _ := berthCLI(t, root, "n\n", "image", "prune"); !strings.Contains(got, "Are you sure") {
		t.Errorf("prune without -f did not ask: %q", got)
	}
	if got := mustCLI(t, root, "images", "-q"); got == "" {
		t.Error("prune answered no but removed the image")
	}
	got = mustCLI(t, root, "image", "prune", "-f")
	if !strings.HasPrefix(got, "Deleted Images:\ndeleted: sha256:") || !strings.HasSuffix(got, "Total reclaimed space: 1B\n") {
		t.Errorf("prune -f = %q", got)
	}
	if got := mustCLI(t, root, "image", "ls", "-q"); got != "" {
		t.Errorf("images after prune: %q", got)
	}
}

// TestImagePruneFilters: image prune's until= looks at the config's
// created time, label= and label!= at its labels, as Docker's.
func TestImagePruneFilters(t *testing.T) {
	root := t.TempDir()
	importImage := func(changes ...string) string {
		t.Helper()
		args := []string{"import"}
		for _, c := range changes {
			args = append(args, "-c", c)
		}
		out, stderr, err := berthCLI(t, root, string(rootfsTar(t, "x", false)), append(args, "-")...)
		if err != nil {
			t.Fatal(err, stderr)
		}
		return strings.TrimSpace(out)
	}
	kept := importImage("LABEL keep=yes")
	plain := importImage("LABEL other=1")
	unix := func(d time.Duration) string { return strconv.FormatInt(time.Now().Add(d).Unix(), 10) }
	prune := func(filters ...string) string {
		t.Helper()
		args := []string{"image", "prune", "-f"}
		for _, f := range filters {
			args = append(args, "--filter", f)
		}
		return mustCLI(t, root, args...)
	}
	for _, tc := range []struct {
		filters []string
		deleted string
	}{
		{[]string{"until=" + unix(-time.Hour)}, ""}, // both are newer
		{[]string{"until=2000-01-01T00:00:00Z"}, ""},
		{[]string{"label=keep=no"}, ""},
		{[]string{"label=keep", "label=other"}, ""}, // every label= must match
		{[]string{"label!=keep"}, plain},
		{[]string{"label=keep", "until=" + unix(time.Hour)}, kept},
	} {
		got := prune(tc.filters...)
		want := "Total reclaimed space: 0B\n"
		if tc.deleted != "" {
			want = "Deleted Images:\ndeleted: " + tc.deleted + "\n\n"
		}
		if !strings.HasPrefix(got, want) {
			t.Errorf("image prune --filter %v = %q, want it to start with %q", tc.filters, got, want)
		}
	}
	if got := mustCLI(t, root, "images", "-aq"); got != "" {
		t.Errorf("images left: %q", got)
	}
	for _, bad := range []string{"bogus=1", "until=soon", "label"} {
		if _, _, err := berthCLI(t, root, "", "image", "prune", "-f", "--filter", bad); err == nil || !strings.Contains(err.Error(), "filter") {
			t.Errorf("image prune --filter %s = %v, want an error naming the filter", bad, err)
		}
	}
}

func TestHistory(t *testing.T) {
	root := t.TempDir()
	berthCLI(t, root, string(rootfsTar(t, "hello", false)), "import", "-m", "a message that is longer than forty-five characters for sure", "-", "h")
	got := mustCLI(t, root, "history", "--format", "{{.Size}}|{{.Comment}}", "-H=false", "h")
	if got != "5|a message that is longer than forty-five characters for sure\n" {
		t.Errorf("history = %q", got)
	}
	table := mustCLI(t, root, "image", "history", "h")
	if first := strings.SplitN(table, "\n", 2)[0]; !regexp.MustCompile(`^IMAGE +CREATED +CREATED BY +SIZE +COMMENT$`).MatchString(first) {
		t.Errorf("history header %q", first)
	}
}

func TestImageInspectShape(t *testing.T) {
	root := t.TempDir()
	berthCLI(t, root, string(rootfsTar(t, "x", false)), "import", "-c", "EXPOSE 80", "-c", "HEALTHCHECK --interval=5s CMD true", "-", "shape")
	out, _, err := berthCLI(t, root, "", "image", "inspect", "shape", "missing")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("inspect with a missing image = %v", err)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 1 {
		t.Fatalf("inspect output %q: %v", out, err)
	}
	var keys []string
	for k := range got[0] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"Architecture", "Author", "Comment", "Config", "Created", "DockerVersion", "GraphDriver", "Id", "Metadata", "Os", "Parent", "RepoDigests", "RepoTags", "RootFS", "Size"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("inspect keys (-want +got):\n%s", diff)
	}
	cfg := got[0]["Config"].(map[string]any)
	if _, ok := cfg["ExposedPorts"].(map[string]any)["80/tcp"]; !ok {
		t.Errorf("Config.ExposedPorts = %v", cfg["ExposedPorts"])
	}
	if hc := cfg["Healthcheck"].(map[string]any); hc["Interval"].(float64) != 5e9 || hc["Test"].([]any)[0] != "CMD-SHELL" {
		t.Errorf("Config.Healthcheck = %v", hc)
	}
	if rootfs := got[0]["RootFS"].(map[string]any); rootfs["Type"] != "layers" || len(rootfs["Layers"].([]any)) != 1 {
		t.Errorf("RootFS = %v", rootfs)
	}
}

func TestEllipsis(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{s: "short", n: 10, want: "short"},
		{s: "exactly10!", n: 10, want: "exactly10!"},
		{s: "eleven char", n: 10, want: "eleven ch…"},
		// Cut in runes, never inside a character's bytes.
		{s: "ééééééééééé", n: 10, want: "ééééééééé…"},
	}
	for _, tt := range tests {
		if got := ellipsis(tt.s, tt.n); got != tt.want {
			t.Errorf("ellipsis(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

// TestImageTemplateFuncs pins --format templates to Docker's functions.
func TestImageTemplateFuncs(t *testing.T) {
	tests := []struct{ format, want string }{
		{format: `{{json .}}`, want: `"sh -c a > b && c"`},
		{format: `{{title "hello world"}}`, want: "Hello World"},
		{format: `{{upper .}}\t{{truncate . 4}}`, want: "SH -C A > B && C\tsh -"},
		{format: `{{join (split . " ") ","}}`, want: "sh,-c,a,>,b,&&,c"},
	}
	for _, tt := range tests {
		tmpl, err := parseImageTemplate(tt.format)
		if err != nil {
			t.Fatalf("%s: %v", tt.format, err)
		}
		var b strings.Builder
		if err := tmpl.Execute(&b, "sh -c a > b && c"); err != nil {
			t.Fatalf("%s: %v", tt.format, err)
		}
		if b.String() != tt.want {
			t.Errorf("%s = %q, want %q", tt.format, b.String(), tt.want)
		}
	}
}

// TestRenderImageRowsHeader: as in Docker, functions in a table template do
// not change the column titles.
func TestRenderImageRowsHeader(t *testing.T) {
	var b strings.Builder
	rows := []historyRow{{ID: "abc", CreatedBy: "SH -C TRUE"}}
	if err := renderImageRows(&b, "table {{lower .CreatedBy}}\t{{upper .ID}}", "", historyHeader, rows); err != nil {
		t.Fatal(err)
	}
	want := "CREATED BY   IMAGE\nsh -c true   ABC\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestRmiKeepsBuildCacheLayers: the image store berth opens keeps the
// layers a build cache record names, so rmi does not turn cached build
// steps into misses.
func TestRmiKeepsBuildCacheLayers(t *testing.T) {
	root := t.TempDir()
	if _, stderr, err := berthCLI(t, root, string(rootfsTar(t, "cached", false)), "import", "-", "cached"); err != nil {
		t.Fatal(err, stderr)
	}
	if _, stderr, err := berthCLI(t, root, string(rootfsTar(t, "plain", false)), "import", "-", "plain"); err != nil {
		t.Fatal(err, stderr)
	}
	// An imported layer is stored uncompressed: its digest, diff ID and
	// (as the only layer) chain ID are one.
	diffID := strings.Trim(mustCLI(t, root, "image", "inspect", "-f", "{{index .RootFS.Layers 0}}", "cached"), "\n")
	plainID := strings.Trim(mustCLI(t, root, "image", "inspect", "-f", "{{index .RootFS.Layers 0}}", "plain"), "\n")
	rec := `{"layers":[{"chainID":"` + diffID + `","digest":"` + diffID + `"}],"config":{}}`
	recDir := filepath.Join(root, "build-cache", "records")
	os.MkdirAll(recDir, 0o700)
	if err := os.WriteFile(filepath.Join(recDir, strings.Repeat("a", 64)+".json"), []byte(rec), 0o600); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, root, "rmi", "cached", "plain")
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	hex := strings.TrimPrefix(diffID, "sha256:")
	if !exists(filepath.Join(root, "images", "layers", hex)) || !exists(filepath.Join(root, "images", "blobs", "sha256", hex)) {
		t.Error("rmi collected a layer the build cache uses")
	}
	if hex := strings.TrimPrefix(plainID, "sha256:"); exists(filepath.Join(root, "images", "layers", hex)) || exists(filepath.Join(root, "images", "blobs", "sha256", hex)) {
		t.Error("rmi kept a layer nothing uses")
	}
}
