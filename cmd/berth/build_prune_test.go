package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/dirsize"
)

// TestBuilderPrune: after rmi, builder prune deletes the image's cached
// steps and collects their layers, so the store shrinks, while the steps
// of an image that still has a name stay cached; -a deletes every record.
func TestBuilderPrune(t *testing.T) {
	root := t.TempDir()
	if _, stderr, err := berthCLI(t, root, string(rootfsTar(t, "base", false)), "import", "-", "base"); err != nil {
		t.Fatal(err, stderr)
	}
	ctxDir := t.TempDir()
	big := make([]byte, 256<<10) // random: stored as is, whatever the compression
	rand.Read(big)
	for name, data := range map[string][]byte{
		"gone.bin": big, "kept.txt": []byte("kept"),
		"Dockerfile.gone": []byte("FROM base\nCOPY gone.bin /gone.bin\n"),
		"Dockerfile.kept": []byte("FROM base\nCOPY kept.txt /kept.txt\nENV K=1\n"),
	} {
		if err := os.WriteFile(filepath.Join(ctxDir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	build := func(name string) string {
		t.Helper()
		return mustCLI(t, root, "build", "-q", "-t", name, "-f", filepath.Join(ctxDir, "Dockerfile."+name), ctxDir)
	}
	build("gone")
	keptID := build("kept")
	mustCLI(t, root, "rmi", "gone")
	// rmi keeps the layers of cached steps; builder prune lets them go.
	size := dirsize.Regular(filepath.Join(root, "images"))
	recs := records(t, root)
	out := mustCLI(t, root, "builder", "prune", "-f")
	if after := dirsize.Regular(filepath.Join(root, "images")); size-after < int64(len(big)) {
		t.Errorf("store %d bytes after prune, %d before: the rmi'd image's layer was not collected\n%s", after, size, out)
	}
	var kb float64
	if _, err := fmt.Sscanf(out, "Deleted build cache objects: 1 records, 0 cache mounts\nTotal reclaimed space: %fkB", &kb); err != nil || kb < 256 {
		t.Errorf("builder prune said (want 1 record, 256kB or more):\n%s", out)
	}
	if n := len(records(t, root)); n != len(recs)-1 {
		t.Errorf("%d records after prune, %d before: want the COPY gone.bin one deleted", n, len(recs))
	}
	// The named image's steps are still cached: an unchanged rebuild runs
	// nothing and gives the same image.
	if id := build("kept"); id != keptID {
		t.Errorf("rebuild after prune = %s, want the cached %s", id, keptID)
	}
	out = mustCLI(t, root, "builder", "prune", "-f")
	if !strings.Contains(out, "Deleted build cache objects: 0 records") {
		t.Errorf("second builder prune said:\n%s", out)
	}
	mustCLI(t, root, "builder", "prune", "-a", "-f")
	if n := len(records(t, root)); n != 0 {
		t.Errorf("%d records after prune -a", n)
	}
	if got := mustCLI(t, root, "image", "inspect", "-f", "{{.Id}}", "kept"); strings.TrimSpace(got) != strings.TrimSpace(keptID) {
		t.Errorf("prune -a touched a named image: %s", got)
	}
}

// TestBuilderPruneUntil: builder prune --filter until= deletes only the
// records (and, with -a, cache mounts) last written before it.
func TestBuilderPruneUntil(t *testing.T) {
	root := t.TempDir()
	if _, stderr, err := berthCLI(t, root, string(rootfsTar(t, "base", false)), "import", "-", "base"); err != nil {
		t.Fatal(err, stderr)
	}
	ctxDir := t.TempDir()
	for name, data := range map[string]string{
		"a.txt": "a", "b.txt": "b",
		"Dockerfile": "FROM base\nCOPY a.txt /a.txt\nCOPY b.txt /b.txt\n",
	} {
		if err := os.WriteFile(filepath.Join(ctxDir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustCLI(t, root, "build", "-q", "-t", "app", ctxDir)
	mustCLI(t, root, "rmi", "app") // every record is dangling now
	recs := records(t, root)
	if len(recs) < 2 {
		t.Fatalf("%d records, want one per COPY", len(recs))
	}
	mount := filepath.Join(root, "build-cache", "mounts", "m1")
	if err := os.MkdirAll(mount, 0o755); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	for _, p := range []string{recs[0], mount} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--filter", "until=" + strconv.FormatInt(old.Add(-time.Hour).Unix(), 10)}, "0 records, 0 cache mounts"},
		{[]string{"--filter", "until=1h"}, "1 records, 0 cache mounts"},
		{[]string{"-a", "--filter", "until=1h"}, "0 records, 1 cache mounts"},
		{[]string{"-a", "--filter", "until=" + time.Now().Add(time.Hour).Format(time.RFC3339)}, fmt.Sprintf("%d records, 0 cache mounts", len(recs)-1)},
	} {
		out := mustCLI(t, root, append([]string{"builder", "prune", "-f"}, tc.args...)...)
		if !strings.HasPrefix(out, "Deleted build cache objects: "+tc.want+"\n") {
			t.Errorf("builder prune %v said %q, want %s", tc.args, out, tc.want)
		}
	}
	if n := len(records(t, root)); n != 0 {
		t.Errorf("%d records left", n)
	}
	if _, _, err := berthCLI(t, root, "", "builder", "prune", "-f", "--filter", "label=a"); err == nil || err.Error() != "invalid filter 'label'" {
		t.Errorf("builder prune --filter label=a = %v, want invalid filter 'label'", err)
	}
}

func records(t *testing.T, root string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(root, "build-cache", "records", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
