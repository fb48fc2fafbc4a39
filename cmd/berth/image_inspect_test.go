package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/runtime/runc"
)

// TestInspectTemplates pins inspect --format to docker inspect's: Docker's
// JSON names ({{.Id}}) and the Go names ({{.ID}}) both work, with Docker's
// template functions, for images and containers.
func TestInspectTemplates(t *testing.T) {
	id := "sha256:" + strings.Repeat("a", 64)
	im := images.Inspect{
		ID: id, RepoTags: []string{"busybox:latest", "busybox:1"}, RepoDigests: []string{"busybox@sha256:" + strings.Repeat("b", 64)},
		Config: images.InspectConfig{Env: []string{"PATH=/bin", "A=1"}, Cmd: []string{"sh"}, Labels: map[string]string{"a.b": "c"},
			ExposedPorts: map[string]struct{}{"80/tcp": {}}},
		RootFS: images.RootFS{Type: "layers", Layers: []string{"sha256:c1", "sha256:c2"}},
		Size:   67108864, Os: "linux", Architecture: "amd64",
	}
	pid := int64(100)
	ct := &runc.Inspect{
		ID: strings.Repeat("c", 64), Name: "/web", Image: id,
		State:  runc.InspectState{Status: "running", Running: true, Pid: 4242},
		Config: runc.InspectConfig{Image: "busybox", Env: []string{"X=1"}},
		Mounts: []runc.MountPoint{{Type: "bind", Source: "/src", Destination: "/a"}, {Type: "volume", Name: "v", Destination: "/b"}},
		HostConfig: runc.HostConfig{RestartPolicy: map[string]any{"Name": "always", "MaximumRetryCount": 0},
			DNS: []string{"1.1.1.1"}, PidsLimit: &pid},
		NetworkSettings: map[string]any{"IPAddress": "10.88.0.2", "Networks": map[string]any{"bridge": map[string]any{"IPAddress": "10.88.0.2"}}},
	}
	tests := []struct {
		name, format string
		doc          any
		want         string
	}{
		{"image Id", "{{.Id}}", im, id},
		{"image ID", "{{.ID}}", im, id},
		{"RepoTags", "{{.RepoTags}}", im, "[busybox:latest busybox:1]"},
		{"RepoDigests", "{{index .RepoDigests 0}}", im, "busybox@sha256:" + strings.Repeat("b", 64)},
		{"Config.Env", "{{.Config.Env}}", im, "[PATH=/bin A=1]"},
		{"RootFS.Layers", "{{.RootFS.Layers}}", im, "[sha256:c1 sha256:c2]"},
		{"Size", "{{.Size}}", im, "67108864"},
		{"json Config", "{{json .Config.Cmd}} {{json .Config.Labels}}", im, `["sh"] {"a.b":"c"}`},
		{"ExposedPorts", "{{range $p, $_ := .Config.ExposedPorts}}{{$p}}{{end}}", im, "80/tcp"},
		{"join upper", `{{join .RepoTags ","}} {{upper .Os}} {{title .Architecture}}`, im, "busybox:latest,busybox:1 LINUX Amd64"},
		{"split lower pad truncate", `{{index (split (index .RepoTags 0) ":") 1}} {{lower "A"}}{{pad "x" 1 1}}{{truncate .Id 10}}`, im, "latest a x sha256:aaa"},
		{"json names mixed with go names", "{{.Id}} {{.RepoTags}}", im, id + " [busybox:latest busybox:1]"},
		{"State", "{{.State.Status}} {{.State.Pid}} {{.State.Running}}", ct, "running 4242 true"},
		{"Name", "{{.Name}} {{.Config.Image}}", ct, "/web busybox"},
		{"container Id", "{{.Id}}", ct, strings.Repeat("c", 64)},
		{"IPAddress", "{{.NetworkSettings.IPAddress}} {{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}}{{end}}", ct, "10.88.0.2 bridge=10.88.0.2"},
		{"Mounts", "{{range .Mounts}}{{.Type}}:{{.Destination}} {{end}}", ct, "bind:/a volume:/b "},
		{"RestartPolicy", "{{.HostConfig.RestartPolicy.Name}}", ct, "always"},
		{"json-only name", "{{.HostConfig.Dns}} {{.HostConfig.PidsLimit}}", ct, "[1.1.1.1] 100"},
		{"json State", "{{json .State.Status}}", ct, `"running"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := writeInspect(&b, tt.format, []any{tt.doc}, nil); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want+"\n", b.String()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.format, diff)
			}
		})
	}
	var b strings.Builder
	err := writeInspect(&b, "{{.Nope}}", []any{im}, nil)
	if err == nil || !strings.Contains(err.Error(), `map has no entry for key "Nope"`) || b.Len() != 0 {
		t.Errorf("a missing field: %v, output %q", err, b.String())
	}
	if err := writeInspect(&b, "{{.Id", []any{im}, nil); err == nil || !strings.Contains(err.Error(), "template parsing error") {
		t.Errorf("a bad template: %v", err)
	}
}

// TestInspectCLI: image inspect and berth inspect (which falls back to
// images, as docker inspect does) take Docker's field names.
func TestInspectCLI(t *testing.T) {
	root := t.TempDir()
	out, _, err := berthCLI(t, root, string(rootfsTar(t, "x", false)), "import", "-c", "ENV A=1", "-", "insp:1")
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(out)
	for _, args := range [][]string{
		{"image", "inspect", "--format", "{{.Id}} {{.RepoTags}} {{.Config.Env}}", "insp:1"},
		{"image", "inspect", "-f", "{{.ID}} {{.RepoTags}} [{{join .Config.Env \",\"}}]", "insp:1"},
		{"inspect", "-f", "{{.Id}} {{.RepoTags}} {{.Config.Env}}", "insp:1"},
		{"inspect", "--type", "image", "-f", "{{.Id}} {{.RepoTags}} {{.Config.Env}}", "insp:1"},
	} {
		if got, want := mustCLI(t, root, args...), id+" [insp:1] [A=1]\n"; got != want {
			t.Errorf("berth %q = %q, want %q", args, got, want)
		}
	}
	var ee *exitError
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"inspect", "missing"}, "No such object: missing"},
		{[]string{"inspect", "--type", "container", "insp:1"}, "No such container: insp:1"},
		{[]string{"container", "inspect", "insp:1"}, "No such container: insp:1"},
	} {
		out, stderr, err := berthCLI(t, root, "", tt.args...)
		if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(stderr, tt.msg) || out != "[]\n" {
			t.Errorf("berth %q = %v, stdout %q, stderr %q; want %q", tt.args, err, out, stderr, tt.msg)
		}
	}
	if _, _, err := berthCLI(t, root, "", "container", "inspect", "--type", "image", "insp:1"); err == nil {
		t.Error("container inspect --type image was accepted")
	}
}
