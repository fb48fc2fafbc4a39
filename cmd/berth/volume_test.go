package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/volumes/local"
)

// volumeCLI runs `berth --root root ARGS` in-process with stdin.
func volumeCLI(t *testing.T, root, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetArgs(append([]string{"--root", root}, args...))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetIn(strings.NewReader(stdin))
	err := cmd.ExecuteContext(t.Context())
	return out.String(), err
}

func mustVolumeCLI(t *testing.T, root string, args ...string) string {
	t.Helper()
	out, err := volumeCLI(t, root, "", args...)
	if err != nil {
		t.Fatalf("berth %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// useVolume makes a container use a volume, as the runtime does.
func useVolume(t *testing.T, root, name, container string) {
	t.Helper()
	m, err := local.New(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Mount(t.Context(), name, container); err != nil {
		t.Fatal(err)
	}
}

func TestVolumeCreateAndList(t *testing.T) {
	root := t.TempDir()
	for _, n := range []string{"vol10", "vol2", "data"} {
		if out := mustVolumeCLI(t, root, "volume", "create", "--label", "tier=db", "--label", "app.kubernetes.io/part-of=shop", n); out != n+"\n" {
			t.Errorf("create printed %q, want the name", out)
		}
	}
	anon := strings.TrimSpace(mustVolumeCLI(t, root, "volume", "create"))
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(anon) {
		t.Fatalf("anonymous volume name %q", anon)
	}
	mp := func(n string) string { return filepath.Join(root, "volumes", n, "_data") }
	// The anonymous volume's random hex name sorts before "data" or
	// between "data" and "vol2" (hex digits are below 'v'); "data" is the
	// only name it can compare either way with, byte by byte.
	listed := []string{anon, "data", "vol2", "vol10"}
	if anon > "data" {
		listed = []string{"data", anon, "vol2", "vol10"}
	}
	lsTable := "DRIVER    VOLUME NAME\n"
	for _, n := range listed {
		lsTable += "local     " + n + "\n"
	}

	tests := []struct {
		args []string
		want string
	}{
		{[]string{"volume", "ls"}, lsTable},
		{[]string{"volume", "list", "-q"}, strings.Join(listed, "\n") + "\n"},
		{[]string{"volume", "ls", "--filter", "name=vol"}, "DRIVER    VOLUME NAME\nlocal     vol2\nlocal     vol10\n"},
		{[]string{"volume", "ls", "-q", "--filter", "name=^vol1"}, "vol10\n"},
		{[]string{"volume", "ls", "-q", "--filter", "label=tier=db", "--filter", "label=app.kubernetes.io/part-of"}, "data\nvol2\nvol10\n"},
		{[]string{"volume", "ls", "-q", "--filter", "label=tier=web"}, ""},
		{[]string{"volume", "ls", "-q", "--filter", "label=" + local.AnonymousLabel}, anon + "\n"},
		{[]string{"volume", "ls", "-q", "--filter", "driver=local", "--filter", "name=data"}, "data\n"},
		{[]string{"volume", "ls", "-q", "--filter", "dangling=false"}, "vol2\n"},
		{[]string{"volume", "ls", "-q", "--filter", "dangling=true", "--filter", "name=vol"}, "vol10\n"},
		{[]string{"volume", "ls", "--filter", "name=data", "--format", `{{.Name}} {{.Label "tier"}} {{.Labels}}`}, "data db app.kubernetes.io/part-of=shop,tier=db\n"},
		{[]string{"volume", "ls", "--filter", "name=data", "--format", `table {{.Name}}\t{{.Label "tier"}}\t{{.Scope}}`}, "VOLUME NAME   tier      SCOPE\ndata          db        local\n"},
		{[]string{"volume", "ls", "--filter", "name=data", "--format", "json"}, `{"Availability":"N/A","Driver":"local","Group":"N/A","Labels":"app.kubernetes.io/part-of=shop,tier=db","Links":"N/A","Mountpoint":"` + mp("data") + `","Name":"data","Scope":"local","Size":"N/A","Status":"N/A"}` + "\n"},
		{[]string{"volume", "ls", "--filter", "name=data", "--format", "{{.Mountpoint}}"}, mp("data") + "\n"},
	}
	useVolume(t, root, "vol2", "c1")
	for _, tc := range tests {
		t.Run(strings.Join(tc.args[1:], " "), func(t *testing.T) {
			if d := cmp.Diff(tc.want, mustVolumeCLI(t, root, tc.args...)); d != "" {
				t.Errorf("output (-want +got):\n%s", d)
			}
		})
	}
}

func TestVolumeBadInput(t *testing.T) {
	root := t.TempDir()
	mustVolumeCLI(t, root, "volume", "create", "data")
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"volume", "create", "--name", "a1", "b1"}, "conflicting options"},
		{[]string{"volume", "create", "bad/name"}, "includes invalid characters for a local volume name"},
		{[]string{"volume", "create", "-d", "nfs", "x1"}, `driver "nfs" not supported`},
		{[]string{"volume", "create", "-o", "type=tmpfs", "x1"}, `missing required option: "device"`},
		{[]string{"volume", "create", "-o", "size=1g", "x1"}, "quota size requested"},
		{[]string{"volume", "create", "--label", "=v", "x1"}, "empty name"},
		{[]string{"volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "data"}, "exists with other options"},
		{[]string{"volume", "ls", "--filter", "dangling"}, "bad format of filter"},
		{[]string{"volume", "ls", "--filter", "color=red"}, "invalid filter 'color'"},
		{[]string{"volume", "ls", "--filter", "dangling=maybe"}, "invalid filter 'dangling=maybe'"},
		{[]string{"volume", "ls", "--format", "{{.Nope"}, "template parsing error"},
		{[]string{"volume", "prune", "-f", "--filter", "name=x"}, "invalid filter 'name'"},
		{[]string{"volume", "prune", "-f", "-a", "--filter", "all=1"}, "conflicting options"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := volumeCLI(t, root, "", tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
	if got := mustVolumeCLI(t, root, "volume", "ls", "-q"); got != "data\n" {
		t.Errorf("bad input changed the volumes: %q", got)
	}
	// Same options again is a no-op, as Docker.
	if got := mustVolumeCLI(t, root, "volume", "create", "data", "--label", "x=y"); got != "data\n" {
		t.Errorf("re-create printed %q", got)
	}
}

func TestVolumeInspect(t *testing.T) {
	root := t.TempDir()
	mustVolumeCLI(t, root, "volume", "create", "-o", "type=tmpfs", "--opt", "device=tmpfs", "-o", "o=size=100m,uid=1000", "--label", "k=v", "scratch")
	mustVolumeCLI(t, root, "volume", "create", "plain")

	out := mustVolumeCLI(t, root, "volume", "inspect", "scratch", "plain")
	var got []map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("inspect output is not a JSON array: %v\n%s", err, out)
	}
	if len(got) != 2 {
		t.Fatalf("inspect returned %d objects", len(got))
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$`).MatchString(got[0]["CreatedAt"].(string)) {
		t.Errorf("CreatedAt %v, want RFC 3339 to the second", got[0]["CreatedAt"])
	}
	delete(got[0], "CreatedAt")
	delete(got[1], "CreatedAt")
	want := []map[string]any{{
		"Driver":     "local",
		"Labels":     map[string]any{"k": "v"},
		"Mountpoint": filepath.Join(root, "volumes", "scratch", "_data"),
		"Name":       "scratch",
		"Options":    map[string]any{"type": "tmpfs", "device": "tmpfs", "o": "size=100m,uid=1000"},
		"Scope":      "local",
	}, {
		"Driver":     "local",
		"Labels":     nil,
		"Mountpoint": filepath.Join(root, "volumes", "plain", "_data"),
		"Name":       "plain",
		"Options":    nil,
		"Scope":      "local",
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("inspect (-want +got):\n%s", d)
	}
	if !strings.HasPrefix(out, "[\n    {\n        \"CreatedAt\": ") {
		t.Errorf("inspect is not docker's 4-space indented array:\n%s", out)
	}

	if got := mustVolumeCLI(t, root, "volume", "inspect", "-f", "{{.Name}} {{.Options.o}} {{json .Labels}}", "scratch"); got != "scratch size=100m,uid=1000 {\"k\":\"v\"}\n" {
		t.Errorf("inspect --format printed %q", got)
	}
	if got := mustVolumeCLI(t, root, "volume", "inspect", "--format", "json", "plain"); !strings.HasPrefix(got, `[{"CreatedAt":`) {
		t.Errorf("inspect --format json printed %q", got)
	}
	out, err := volumeCLI(t, root, "", "volume", "inspect", "--format", "{{.Name}}", "nosuch", "plain")
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), "no such volume: nosuch") {
		t.Errorf("inspect of a missing volume: %v", err)
	}
	if out != "plain\n" {
		t.Errorf("inspect with one missing printed %q, want the found one", out)
	}
	out, _ = volumeCLI(t, root, "", "volume", "inspect", "nosuch")
	if out != "[]\n" {
		t.Errorf("inspect of only missing printed %q, want []", out)
	}
}

func TestVolumeRm(t *testing.T) {
	root := t.TempDir()
	for _, n := range []string{"a1", "b1", "c1"} {
		mustVolumeCLI(t, root, "volume", "create", n)
	}
	useVolume(t, root, "b1", "0123abcd")
	useVolume(t, root, "b1", "4567ef01")
	out, err := volumeCLI(t, root, "", "volume", "rm", "a1", "b1", "nosuch", "c1")
	if out != "a1\nc1\n" {
		t.Errorf("rm printed %q, want the removed names", out)
	}
	if err == nil || !strings.Contains(err.Error(), "remove b1: volume is in use - [0123abcd, 4567ef01]") || !strings.Contains(err.Error(), "no such volume: nosuch") {
		t.Errorf("rm error: %v", err)
	}
	out, err = volumeCLI(t, root, "", "volume", "rm", "-f", "b1", "nosuch")
	if !errdefs.IsFailedPrecondition(err) {
		t.Errorf("rm -f of a volume in use: %v, want refused as Docker", err)
	}
	if out != "nosuch\n" {
		t.Errorf("rm -f printed %q, want the unknown name accepted", out)
	}
	if got := mustVolumeCLI(t, root, "volume", "ls", "-q"); got != "b1\n" {
		t.Errorf("left %q", got)
	}
}

func TestVolumePrune(t *testing.T) {
	root := t.TempDir()
	mustVolumeCLI(t, root, "volume", "create", "named")
	mustVolumeCLI(t, root, "volume", "create", "--label", "keep=yes", "kept")
	anon := strings.TrimSpace(mustVolumeCLI(t, root, "volume", "create"))
	used := strings.TrimSpace(mustVolumeCLI(t, root, "volume", "create"))
	useVolume(t, root, used, "c1")

	out, err := volumeCLI(t, root, "n\n", "volume", "prune")
	if err == nil || !strings.Contains(err.Error(), "cancelled") {
		t.Errorf("declined prune: %v", err)
	}
	if !strings.HasPrefix(out, "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ") {
		t.Errorf("prompt %q", out)
	}

	out, err = volumeCLI(t, root, "y\n", "volume", "prune")
	if err != nil {
		t.Fatal(err)
	}
	if want := "Deleted Volumes:\n" + anon + "\n\nTotal reclaimed space: 0B\n"; !strings.HasSuffix(out, want) {
		t.Errorf("prune printed %q, want it to end in %q", out, want)
	}
	if got := mustVolumeCLI(t, root, "volume", "prune", "-f"); got != "Total reclaimed space: 0B\n" {
		t.Errorf("second prune printed %q", got)
	}
	if got := mustVolumeCLI(t, root, "volume", "prune", "-f", "-a", "--filter", "label!=keep"); got != "Deleted Volumes:\nnamed\n\nTotal reclaimed space: 0B\n" {
		t.Errorf("prune -a printed %q", got)
	}
	if got := mustVolumeCLI(t, root, "volume", "ls", "-q"); got != used+"\nkept\n" {
		t.Errorf("left %q, want the used and the kept volumes", got)
	}
}

func TestNaturalLess(t *testing.T) {
	names := []string{"vol10", "vol2", "a", "vol02", "vol1b", "b", "vol1"}
	want := []string{"a", "b", "vol1", "vol1b", "vol2", "vol02", "vol10"}
	got := append([]string(nil), names...)
	slices.SortFunc(got, func(a, b string) int {
		switch {
		case naturalLess(a, b):
			return -1
		case naturalLess(b, a):
			return 1
		}
		return 0
	})
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("order (-want +got):\n%s", d)
	}
}
