package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/images/buildcache"
	"github.com/berth-dev/berth/runtime/runc"
	"github.com/berth-dev/berth/runtime/runc/monitor"
)

func testChain(t *testing.T, n int) v1.Hash {
	t.Helper()
	h, err := v1.NewHash(fmt.Sprintf("sha256:%064x", n))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

var dfNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// testDiskUsage: image a (layers 1 and 2) used by a container, image b
// (layers 1 and 3) unused, so layer 1 is shared; a running and an exited
// container; a used and an unused volume; two cache records naming layer 1
// (in images) and layer 4 (the cache's only), and a cache mount.
func testDiskUsage(t *testing.T) diskUsage {
	l1 := images.Layer{ChainID: testChain(t, 1), Size: 1000}
	l2 := images.Layer{ChainID: testChain(t, 2), Size: 2000}
	l3 := images.Layer{ChainID: testChain(t, 3), Size: 500}
	cfg := &v1.ConfigFile{Created: v1.Time{Time: dfNow.Add(-48 * time.Hour)}}
	a := &images.Image{ID: fmt.Sprintf("sha256:%064x", 0xa), Names: []string{"docker.io/library/a:latest"}, Config: cfg, Layers: []images.Layer{l1, l2}, Size: 3000}
	b := &images.Image{ID: fmt.Sprintf("sha256:%064x", 0xb), Names: []string{"docker.io/library/b:1"}, Config: cfg, Layers: []images.Layer{l1, l3}, Size: 1500}
	ctr := func(id, name, status string, size int64) containerUsage {
		return containerUsage{Observed: runc.Observed{
			Record: &runc.Record{ID: fmt.Sprintf("%064x", 0xc0+len(name)) + id, Name: name, Image: "a", ImageID: a.ID,
				Created: dfNow.Add(-time.Hour), Path: "sh", Args: []string{"-c", "sleep 1000000"},
				Volumes: []runc.VolumeMount{{Name: "data", Target: "/data"}}},
			State: monitor.State{Status: status, StartedAt: dfNow.Add(-time.Hour), FinishedAt: dfNow.Add(-time.Minute)},
		}, SizeRw: size}
	}
	layer := func(n int, size int64) buildcache.EntryLayer {
		return buildcache.EntryLayer{ChainID: testChain(t, n), Size: size}
	}
	return diskUsage{
		Images:     []*images.Image{a, b},
		ImageUsers: map[string]int{a.ID: 2},
		Containers: []containerUsage{ctr("", "web", "running", 100), ctr("", "job", "exited", 300)},
		Volumes:    []volumeUsage{{Name: "data", Links: 2, Size: 1000}, {Name: "old", Size: 3000}},
		BuildCache: []buildcache.Entry{
			{ID: strings.Repeat("e", 64), Type: "regular", Size: 200, Created: dfNow.Add(-time.Hour), Layers: []buildcache.EntryLayer{layer(1, 1000), layer(4, 800)}},
			{ID: strings.Repeat("f", 64), Type: "regular", Size: 100, Created: dfNow.Add(-time.Hour), Layers: []buildcache.EntryLayer{layer(1, 1000)}},
			{ID: "mnt", Type: "exec.cachemount", Size: 50, Created: dfNow.Add(-time.Hour)},
		},
	}
}

func TestSystemDfSummary(t *testing.T) {
	tests := []struct {
		name string
		u    func(*testing.T) diskUsage
		want []dfRow
	}{
		{"empty", func(*testing.T) diskUsage { return diskUsage{} }, []dfRow{
			{Type: "Images", TotalCount: "0", Active: "0", Size: "0B", Reclaimable: "0B"},
			{Type: "Containers", TotalCount: "0", Active: "0", Size: "0B", Reclaimable: "0B"},
			{Type: "Local Volumes", TotalCount: "0", Active: "0", Size: "0B", Reclaimable: "0B"},
			{Type: "Build Cache", TotalCount: "0", Active: "0", Size: "0B", Reclaimable: "0B"},
		}},
		// Images: layers 1+2+3 once = 3500; a's layers 1 and 2 are in use,
		// so only b's own layer 3 (500) is reclaimable. Build cache: its
		// files (350) and layer 4 (800) that no image has.
		{"mixed", testDiskUsage, []dfRow{
			{Type: "Images", TotalCount: "2", Active: "1", Size: "3.5kB", Reclaimable: "500B (14%)"},
			{Type: "Containers", TotalCount: "2", Active: "1", Size: "400B", Reclaimable: "300B (75%)"},
			{Type: "Local Volumes", TotalCount: "2", Active: "1", Size: "4kB", Reclaimable: "3kB (75%)"},
			{Type: "Build Cache", TotalCount: "3", Active: "0", Size: "1.15kB", Reclaimable: "1.15kB"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, dfSummary(tc.u(t))); diff != "" {
				t.Errorf("dfSummary (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSystemDfFormat(t *testing.T) {
	u := testDiskUsage(t)
	tests := []struct {
		name    string
		verbose bool
		format  string
		want    string
	}{
		{"table", false, "", `TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE
Images          2         1         3.5kB     500B (14%)
Containers      2         1         400B      300B (75%)
Local Volumes   2         1         4kB       3kB (75%)
Build Cache     3         0         1.15kB    1.15kB
`},
		{"json", false, "json", `{"Active":"1","Reclaimable":"500B (14%)","Size":"3.5kB","TotalCount":"2","Type":"Images"}
{"Active":"1","Reclaimable":"300B (75%)","Size":"400B","TotalCount":"2","Type":"Containers"}
{"Active":"1","Reclaimable":"3kB (75%)","Size":"4kB","TotalCount":"2","Type":"Local Volumes"}
{"Active":"0","Reclaimable":"1.15kB","Size":"1.15kB","TotalCount":"3","Type":"Build Cache"}
`},
		{"template", false, "{{.Type}}: {{.Size}}", "Images: 3.5kB\nContainers: 400B\nLocal Volumes: 4kB\nBuild Cache: 1.15kB\n"},
		{"table template", false, "table {{.Type}}\t{{.Active}}", "TYPE            ACTIVE\nImages          1\nContainers      1\nLocal Volumes   1\nBuild Cache     0\n"},
		{"verbose", true, "", `Images space usage:

REPOSITORY   TAG       IMAGE ID       CREATED      SIZE      SHARED SIZE   UNIQUE SIZE   CONTAINERS
a            latest    000000000000   2 days ago   3kB       1kB           2kB           2
b            1         000000000000   2 days ago   1.5kB     1kB           500B          0

Containers space usage:

CONTAINER ID   IMAGE     COMMAND                 LOCAL VOLUMES   SIZE      CREATED             STATUS                          NAMES
000000000000   a         "sh -c sleep 1000000"   1               100B      About an hour ago   Up About an hour                web
000000000000   a         "sh -c sleep 1000000"   1               300B      About an hour ago   Exited (0) About a minute ago   job

Local Volumes space usage:

VOLUME NAME   LINKS     SIZE
data          2         1kB
old           0         3kB

Build cache usage: 1.15kB

CACHE ID       CACHE TYPE        SIZE      CREATED             LAST USED   USAGE     SHARED
eeeeeeeeeeee   regular           1kB       About an hour ago   N/A         N/A       false
ffffffffffff   regular           100B      About an hour ago   N/A         N/A       true
mnt            exec.cachemount   50B       About an hour ago   N/A         N/A       false
`},
		{"verbose template", true, "{{len .Images}} {{range .Volumes}}{{.Name}}={{.Size}} {{end}}", "2 data=1kB old=3kB \n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := writeDf(&out, u, tc.verbose, tc.format, dfNow); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, out.String()); diff != "" {
				t.Errorf("system df output (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("verbose json", func(t *testing.T) {
		var out bytes.Buffer
		if err := writeDf(&out, u, true, "json", dfNow); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"Images":[{`, `"UniqueSize":"500B"`, `"Containers":[{`, `"Volumes":[{"Name":"data","Links":"2","Size":"1kB"}`, `"BuildCache":[{`} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("system df -v --format json lacks %s:\n%s", want, out.String())
			}
		}
		if strings.Count(out.String(), "\n") != 1 {
			t.Errorf("system df -v --format json is not one object:\n%s", out.String())
		}
	})
}

func TestSystemPruneWarning(t *testing.T) {
	tests := []struct {
		name string
		o    systemPruneOptions
		want string
	}{
		{"default", systemPruneOptions{}, `WARNING! This will remove:
  - all stopped containers
  - all networks not used by at least one container
  - all dangling images
  - unused build cache
`},
		{"all volumes filters", systemPruneOptions{all: true, volumes: true, filters: []string{"until=24h", "label=a=b"}}, `WARNING! This will remove:
  - all stopped containers
  - all networks not used by at least one container
  - all anonymous volumes not used by at least one container
  - all images without at least one container associated to them
  - all build cache

  Items to be pruned will be filtered with:
  - label=a=b
  - until=24h
`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, systemPruneWarning(tc.o)); diff != "" {
				t.Errorf("warning (-want +got):\n%s", diff)
			}
			// As Docker shows it: a blank line, then the question.
			var out bytes.Buffer
			confirmed(&out, strings.NewReader("n\n"), systemPruneWarning(tc.o))
			if !strings.HasSuffix(out.String(), "\n\nAre you sure you want to continue? [y/N] ") {
				t.Errorf("prompt %q", out.String())
			}
		})
	}
}

func TestSystemPruneStages(t *testing.T) {
	type stage struct {
		Name string
		Args []string
		Skip bool
	}
	tests := []struct {
		name    string
		o       systemPruneOptions
		want    []stage
		wantErr string
	}{
		{"default", systemPruneOptions{}, []stage{
			{"containers", []string{"--force"}, false},
			{"networks", []string{"--force"}, false},
			{"images", []string{"--force"}, false},
			{"build cache", []string{"--force"}, false},
		}, ""},
		{"all volumes", systemPruneOptions{all: true, volumes: true}, []stage{
			{"containers", []string{"--force"}, false},
			{"networks", []string{"--force"}, false},
			{"volumes", []string{"--force"}, false},
			{"images", []string{"--force", "--all"}, false},
			{"build cache", []string{"--force", "--all"}, false},
		}, ""},
		// A stage that cannot apply a filter is skipped: without it, it
		// would remove what the filter keeps. Build cache records have no
		// labels, and Docker's volume prune takes no until=.
		{"label", systemPruneOptions{all: true, volumes: true, filters: []string{"label=a"}}, []stage{
			{"containers", []string{"--force", "--filter", "label=a"}, false},
			{"networks", []string{"--force", "--filter", "label=a"}, false},
			{"volumes", []string{"--force", "--filter", "label=a"}, false},
			{"images", []string{"--force", "--all", "--filter", "label=a"}, false},
			{"build cache", []string{"--force", "--all"}, true},
		}, ""},
		{"until", systemPruneOptions{volumes: true, filters: []string{"until=1h"}}, []stage{
			{"containers", []string{"--force", "--filter", "until=1h"}, false},
			{"networks", []string{"--force", "--filter", "until=1h"}, false},
			{"volumes", []string{"--force"}, true},
			{"images", []string{"--force", "--filter", "until=1h"}, false},
			{"build cache", []string{"--force", "--filter", "until=1h"}, false},
		}, ""},
		{"until and not label", systemPruneOptions{filters: []string{"until=1h", "label!=k"}}, []stage{
			{"containers", []string{"--force", "--filter", "label!=k", "--filter", "until=1h"}, false},
			{"networks", []string{"--force", "--filter", "label!=k", "--filter", "until=1h"}, false},
			{"images", []string{"--force", "--filter", "label!=k", "--filter", "until=1h"}, false},
			{"build cache", []string{"--force", "--filter", "until=1h"}, true},
		}, ""},
		{"unknown filter", systemPruneOptions{filters: []string{"dangling=true"}}, nil, "invalid filter 'dangling'"},
		{"bad filter", systemPruneOptions{filters: []string{"label"}}, nil, "bad format of filter (expected name=value): label"},
		{"bad until", systemPruneOptions{filters: []string{"until=soon"}}, nil, "invalid filter 'until=soon': want a Unix timestamp, a date-time (2006-01-02T15:04:05Z) or a duration (24h)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stages, err := systemPruneStages(tc.o)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v; want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []stage
			for _, s := range stages {
				got = append(got, stage{s.name, s.args, s.skip != ""})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("stages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSystemPruneReport(t *testing.T) {
	tests := []struct {
		name, out, report string
		space             int64
	}{
		{"nothing", "Total reclaimed space: 0B\n", "", 0},
		{"containers", "Deleted Containers:\nabc\n\nTotal reclaimed space: 1.5kB\n", "Deleted Containers:\nabc", 1500},
		{"networks", "Deleted Networks:\nn1\n", "Deleted Networks:\nn1", 0},
		{"build cache none", "Deleted build cache objects: 0 records, 0 cache mounts\nTotal reclaimed space: 0B\n", "", 0},
		{"build cache", "Deleted build cache objects: 2 records, 0 cache mounts\nTotal reclaimed space: 4.26MB\n", "Deleted build cache objects: 2 records, 0 cache mounts", 4260000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			report, space := pruneReport(tc.out)
			if report != tc.report || space != tc.space {
				t.Errorf("pruneReport = %q, %d; want %q, %d", report, space, tc.report, tc.space)
			}
		})
	}
}

func TestSystemResetWarning(t *testing.T) {
	g := &globals{root: "/var/lib/berth", runRoot: "/run/berth"}
	want := `WARNING! This will remove:
        - all containers
        - all images
        - all networks, and the default network's bridge berth0 with its iptables rules
        - all build cache
        - all volumes
        - the root directory: "/var/lib/berth"
        - the run root directory: "/run/berth"`
	if diff := cmp.Diff(want, resetWarning(g, "berth0")); diff != "" {
		t.Errorf("warning (-want +got):\n%s", diff)
	}
	if got := resetWarning(g, ""); !strings.Contains(got, "        - all networks\n") {
		t.Errorf("without a default network:\n%s", got)
	}
}

func TestSystemResetRoots(t *testing.T) {
	tests := []struct {
		root, runRoot string
		ok            bool
	}{
		{"/var/lib/berth", "/run/berth", true},
		{"/", "/run/berth", false},
		{"/var/lib/berth", "//", false},
		{"relative", "/run/berth", false},
		{"", "/run/berth", false},
	}
	for _, tc := range tests {
		err := checkResetRoots(&globals{root: tc.root, runRoot: tc.runRoot})
		if (err == nil) != tc.ok {
			t.Errorf("checkResetRoots(%q, %q) = %v; want ok %v", tc.root, tc.runRoot, err, tc.ok)
		}
	}
}

func TestSystemEmptyDir(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a/b/c", "d"} {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "a", "b", "f"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := emptyDir(dir); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 0 {
		t.Errorf("after emptyDir: %v, %v; want the directory, empty", ents, err)
	}
	if err := emptyDir(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("emptyDir of a missing directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("emptyDir made a missing directory: %v", err)
	}
}

func TestSystemCommands(t *testing.T) {
	root := newRootCmd()
	for _, args := range [][]string{{"system", "df"}, {"system", "prune"}, {"system", "reset"}, {"system", "info"}, {"system", "events"}} {
		c, _, err := root.Find(args)
		if err != nil || c.Name() != args[1] || c.Parent().Name() != "system" {
			t.Errorf("berth %v: %v, %v", args, c, err)
		}
	}
	for _, args := range [][]string{{"system", "df"}, {"system", "prune"}, {"system", "reset"}} {
		c, _, _ := root.Find(args)
		for _, f := range map[string][]string{"df": {"verbose", "format"}, "prune": {"all", "volumes", "force", "filter"}, "reset": {"force"}}[args[1]] {
			if c.Flags().Lookup(f) == nil {
				t.Errorf("berth %v has no --%s", args, f)
			}
		}
	}
}
