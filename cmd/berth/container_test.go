package main

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/runc"
	"github.com/berth-dev/berth/runtime/runc/monitor"
)

func TestParseRestart(t *testing.T) {
	tests := []struct {
		in      string
		want    runtime.RestartPolicy
		wantErr bool
	}{
		{"no", runtime.RestartPolicy{Name: "no"}, false},
		{"", runtime.RestartPolicy{Name: "no"}, false},
		{"always", runtime.RestartPolicy{Name: "always"}, false},
		{"unless-stopped", runtime.RestartPolicy{Name: "unless-stopped"}, false},
		{"on-failure", runtime.RestartPolicy{Name: "on-failure"}, false},
		{"on-failure:3", runtime.RestartPolicy{Name: "on-failure", MaximumRetryCount: 3}, false},
		{"always:3", runtime.RestartPolicy{}, true},
		{"on-failure:x", runtime.RestartPolicy{}, true},
		{"sometimes", runtime.RestartPolicy{}, true},
	}
	for _, tc := range tests {
		got, err := parseRestart(tc.in)
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
			t.Errorf("parseRestart(%q) = %+v, %v", tc.in, got, err)
		}
	}
}

func TestParseMount(t *testing.T) {
	tests := []struct {
		in      string
		want    runtime.Mount
		wantErr bool
	}{
		{"type=bind,source=/src,target=/dst,readonly,bind-propagation=rslave", runtime.Mount{Type: "bind", Source: "/src", Target: "/dst", ReadOnly: true, Propagation: "rslave"}, false},
		{"type=volume,src=data,dst=/data,volume-nocopy", runtime.Mount{Type: "volume", Source: "data", Target: "/data", NoCopy: true}, false},
		{"target=/anon", runtime.Mount{Type: "volume", Target: "/anon"}, false},
		{"type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770", runtime.Mount{Type: "tmpfs", Target: "/t", TmpfsSize: 1 << 20, TmpfsMode: 0o1770}, false},
		{"type=tmpfs,src=x,dst=/t", runtime.Mount{}, true},
		{"type=bind,dst=/t", runtime.Mount{}, true},
		{"type=nfs,dst=/t", runtime.Mount{}, true},
		{"type=volume,src=x", runtime.Mount{}, true},
		{"type=volume,dst=/x,bogus=1", runtime.Mount{}, true},
		{"type=tmpfs,dst=/t,tmpfs-size=lots", runtime.Mount{}, true},
	}
	for _, tc := range tests {
		got, err := parseMount(tc.in)
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
			t.Errorf("parseMount(%q) = %+v, %v", tc.in, got, err)
		}
	}
}

func TestParseVolume(t *testing.T) {
	tests := []struct {
		in      string
		want    runtime.Mount
		wantErr bool
	}{
		{"/src:/dst", runtime.Mount{Type: "bind", Source: "/src", Target: "/dst"}, false},
		{"/src:/dst:ro", runtime.Mount{Type: "bind", Source: "/src", Target: "/dst", ReadOnly: true}, false},
		{"/src:/dst:rw,rshared", runtime.Mount{Type: "bind", Source: "/src", Target: "/dst", Propagation: "rshared"}, false},
		{"/dst", runtime.Mount{Type: "volume", Target: "/dst"}, false},
		{"dst", runtime.Mount{}, true},
		{"name:/dst", runtime.Mount{Type: "volume", Source: "name", Target: "/dst"}, false},
		{"name:/dst:ro,nocopy", runtime.Mount{Type: "volume", Source: "name", Target: "/dst", ReadOnly: true, NoCopy: true}, false},
		{"/src:rel", runtime.Mount{}, true},
		{"/src:/dst:bogus", runtime.Mount{}, true},
	}
	for _, tc := range tests {
		got, err := parseVolume(tc.in)
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
			t.Errorf("parseVolume(%q) = %+v, %v", tc.in, got, err)
		}
	}
}

func TestStatusText(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		st   monitor.State
		want string
	}{
		{monitor.State{Status: "created"}, "Created"},
		{monitor.State{Status: "running", StartedAt: now.Add(-3 * time.Second)}, "Up 3 seconds"},
		{monitor.State{Status: "running", StartedAt: now.Add(-90 * time.Second), Health: &monitor.HealthState{Status: "healthy"}}, "Up About a minute (healthy)"},
		{monitor.State{Status: "running", StartedAt: now.Add(-time.Second), Health: &monitor.HealthState{Status: "starting"}}, "Up 1 second (health: starting)"},
		{monitor.State{Status: "paused", StartedAt: now.Add(-2 * time.Hour)}, "Up 2 hours (Paused)"},
		{monitor.State{Status: "exited", ExitCode: 0, FinishedAt: now.Add(-2 * time.Second)}, "Exited (0) 2 seconds ago"},
		{monitor.State{Status: "exited", ExitCode: 137, FinishedAt: now.Add(-5 * time.Minute)}, "Exited (137) 5 minutes ago"},
		{monitor.State{Status: "restarting", ExitCode: 1, FinishedAt: now.Add(-time.Second)}, "Restarting (1) 1 second ago"},
	}
	for _, tc := range tests {
		if got := statusText(runc.Observed{Record: &runc.Record{}, State: tc.st}, now); got != tc.want {
			t.Errorf("statusText(%+v) = %q; want %q", tc.st, got, tc.want)
		}
	}
}

func TestPsFilter(t *testing.T) {
	c := runc.Observed{
		Record: &runc.Record{ID: "abcdef" + strings.Repeat("0", 58), Name: "web-1", Image: "busybox:latest", ImageID: "sha256:1234",
			Config: runtime.Config{Labels: map[string]string{"app": "web", "tier": ""}}},
		State: monitor.State{Status: "exited", ExitCode: 3},
	}
	tests := []struct {
		filters []string
		want    bool
	}{
		{nil, true},
		{[]string{"name=web"}, true},
		{[]string{"name=db"}, false},
		{[]string{"name=db", "name=web"}, true},
		{[]string{"label=app"}, true},
		{[]string{"label=app=web"}, true},
		{[]string{"label=app=db"}, false},
		{[]string{"status=exited"}, true},
		{[]string{"status=running"}, false},
		{[]string{"exited=3"}, true},
		{[]string{"exited=0"}, false},
		{[]string{"ancestor=busybox"}, true},
		{[]string{"ancestor=sha256:1234"}, true},
		{[]string{"ancestor=alpine"}, false},
		{[]string{"id=abcdef"}, true},
		{[]string{"health=none"}, true},
		{[]string{"status=exited", "name=db"}, false},
	}
	for _, tc := range tests {
		f, err := parsePsFilters(tc.filters)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.match(c); got != tc.want {
			t.Errorf("filters %v: match = %v; want %v", tc.filters, got, tc.want)
		}
	}
	for _, bad := range []string{"nope=1", "status=sleeping", "name"} {
		if _, err := parsePsFilters([]string{bad}); err == nil {
			t.Errorf("filter %q accepted", bad)
		}
	}
}

func TestParseTimeArg(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"10m", now.Add(-10 * time.Minute)},
		{"2026-01-01T10:00:00Z", time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)},
		{"1767261600", time.Unix(1767261600, 0)},
		{"1767261600.5", time.Unix(1767261600, 5e8)},
		{"0", time.Unix(0, 0)}, // Docker's: the epoch, not now
	}
	for _, tc := range tests {
		got, err := parseTimeArg(tc.in, now)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseTimeArg(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := parseTimeArg("yesterday", now); err == nil {
		t.Error("parseTimeArg(yesterday) accepted")
	}
}

func TestDetachReader(t *testing.T) {
	keys, err := parseDetachKeys("ctrl-p,ctrl-q")
	if err != nil || string(keys) != "\x10\x11" {
		t.Fatalf("parseDetachKeys = %q, %v", keys, err)
	}
	d := newDetachReader(strings.NewReader("ab\x10c\x10\x11zz"), keys)
	got, err := io.ReadAll(d)
	if err != errDetached || string(got) != "ab\x10c" {
		t.Errorf("read %q, %v; want the input before the keys and errDetached", got, err)
	}
	if _, err := parseDetachKeys("ctrl-1"); err == nil {
		t.Error("ctrl-1 accepted")
	}
}

func TestEnvList(t *testing.T) {
	t.Setenv("BERTH_TEST_FROM_HOST", "h")
	got, err := envList(nil, []string{"A=1", "BERTH_TEST_FROM_HOST", "BERTH_TEST_UNSET_XYZ", "B="})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"A=1", "BERTH_TEST_FROM_HOST=h", "B="}, got); diff != "" {
		t.Errorf("envList (-want +got):\n%s", diff)
	}
}

func TestEventFilterAndLine(t *testing.T) {
	e := monitor.NewEvent("abc123", "health_status: healthy", map[string]string{"image": "busybox:latest", "name": "web", "app": "x"})
	e.TimeNano = time.Date(2026, 1, 2, 3, 4, 5, 6, time.Local).UnixNano()
	tests := []struct {
		filters []string
		want    bool
	}{
		{nil, true},
		{[]string{"event=health_status"}, true},
		{[]string{"event=die"}, false},
		{[]string{"container=web"}, true},
		{[]string{"container=abc"}, true},
		{[]string{"image=busybox"}, true},
		{[]string{"label=app=x", "type=container"}, true},
		{[]string{"label=app=y"}, false},
	}
	for _, tc := range tests {
		match, err := eventFilter(tc.filters)
		if err != nil {
			t.Fatal(err)
		}
		if got := match(e); got != tc.want {
			t.Errorf("filters %v: %v; want %v", tc.filters, got, tc.want)
		}
	}
	want := time.Unix(0, e.TimeNano).Format("2006-01-02T15:04:05.000000000Z07:00") + " container health_status: healthy abc123 (app=x, image=busybox:latest, name=web)"
	if got := eventLine(e); got != want {
		t.Errorf("eventLine = %q; want %q", got, want)
	}
}

func TestPsNetworkAndPortFilters(t *testing.T) {
	rec := &runc.Record{Config: runtime.Config{
		NetworkMode: "front", Networks: []runtime.NetworkAttachment{{Network: "front"}, {Network: "back"}},
		Ports: []runtime.PortBinding{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}},
	}}
	rec.ImageConfig.ExposedPorts = map[string]struct{}{"443/tcp": {}}
	tests := []struct {
		filter string
		want   bool
	}{
		{"network=back", true},
		{"network=other", false},
		{"publish=8080", true},
		{"publish=80", false},
		{"expose=80/tcp", true},
		{"expose=443", true},
		{"expose=443/udp", false},
	}
	for _, tc := range tests {
		f, err := parsePsFilters([]string{tc.filter})
		if err != nil {
			t.Fatal(err)
		}
		if got := f.match(runc.Observed{Record: rec}); got != tc.want {
			t.Errorf("%s: match = %v, want %v", tc.filter, got, tc.want)
		}
	}
	if got := networkNames(&runc.Record{}); len(got) != 1 || got[0] != "bridge" {
		t.Errorf("default network names: %v", got)
	}
}

// TestRunPullPolicy checks what run and create do about a missing image
// for each --pull, against a loopback registry: missing and always pull (to
// stderr), never does not, an unknown policy is an invalid argument.
func TestRunPullPolicy(t *testing.T) {
	host := loopbackRegistry(t, nil)
	src := t.TempDir()
	file := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := os.WriteFile(file, rootfsTar(t, "hello", false), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := host + "/run/app:1"
	mustCLI(t, src, "import", file, ref)
	mustCLI(t, src, "push", "-q", ref)

	tests := []struct {
		name, pull string
		local      bool   // the image is local before
		quiet      bool   // --quiet
		progress   string // the start and end of stderr, "" for none
		wantLocal  bool
		wantErr    func(error) bool
	}{
		{name: "missing pulls", pull: "missing", progress: "Unable to find image '" + ref + "' locally\n|Status: Downloaded newer image for " + ref + "\n", wantLocal: true},
		{name: "missing keeps local", pull: "missing", local: true, wantLocal: true},
		{name: "missing quiet", pull: "missing", quiet: true, wantLocal: true},
		{name: "always pulls", pull: "always", progress: "|Status: Downloaded newer image for " + ref + "\n", wantLocal: true},
		{name: "always pulls local", pull: "always", local: true, progress: "|Status: Image is up to date for " + ref + "\n", wantLocal: true},
		{name: "never", pull: "never"},
		{name: "unknown", pull: "sometimes", wantErr: errdefs.IsInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &globals{root: t.TempDir()}
			if tt.local {
				mustCLI(t, g.root, "pull", "-q", ref)
			}
			cmd := &cobra.Command{}
			cmd.SetContext(t.Context())
			var stderr strings.Builder
			cmd.SetErr(&stderr)
			f := &containerFlags{pull: tt.pull, quiet: tt.quiet}
			err := f.pullImage(cmd, g, ref)
			if tt.wantErr != nil {
				if !tt.wantErr(err) {
					t.Fatalf("pullImage = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := stderr.String()
			if tt.progress == "" && got != "" {
				t.Errorf("stderr = %q, want nothing", got)
			}
			if start, end, _ := strings.Cut(tt.progress, "|"); !strings.HasPrefix(got, start) || !strings.HasSuffix(got, end) {
				t.Errorf("stderr = %q, want %q...%q", got, start, end)
			}
			s, err := openImageStore(g)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Resolve(t.Context(), ref)
			if local := err == nil; local != tt.wantLocal {
				t.Errorf("local after = %v (%v), want %v", local, err, tt.wantLocal)
			}
		})
	}
}

func TestContainerFlagsTmpfsUlimit(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		tmpfs   map[string]string
		ulimits []runtime.Ulimit
		invalid bool
	}{
		{name: "none"},
		{name: "tmpfs", args: []string{"--tmpfs", "/run", "--tmpfs", "/tmp/:rw,noexec,size=64m"}, tmpfs: map[string]string{"/run": "", "/tmp": "rw,noexec,size=64m"}},
		{name: "tmpfs relative", args: []string{"--tmpfs", "run"}, invalid: true},
		{name: "tmpfs bad option", args: []string{"--tmpfs", "/run:bogus"}, invalid: true},
		{name: "ulimit", args: []string{"--ulimit", "nofile=1024:2048", "--ulimit", "nproc=64"}, ulimits: []runtime.Ulimit{{Name: "nofile", Soft: 1024, Hard: 2048}, {Name: "nproc", Soft: 64, Hard: 64}}},
		{name: "ulimit no value", args: []string{"--ulimit", "nofile"}, invalid: true},
		{name: "ulimit unknown", args: []string{"--ulimit", "nosuch=1"}, invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &containerFlags{}
			fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
			f.register(fs)
			if err := fs.Parse(append(tt.args, "busybox")); err != nil {
				t.Fatal(err)
			}
			cfg, _, err := f.config(fs, "busybox", nil)
			if tt.invalid {
				if !errdefs.IsInvalidArgument(err) {
					t.Fatalf("config = %v, want an invalid argument", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.tmpfs, cfg.Tmpfs); diff != "" {
				t.Errorf("tmpfs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.ulimits, cfg.Ulimits); diff != "" {
				t.Errorf("ulimits (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPsCommandTruncated(t *testing.T) {
	rt := runc.New(runc.Options{Root: t.TempDir(), RunRoot: t.TempDir()})
	tests := []struct {
		path    string
		args    []string
		noTrunc bool
		want    string
	}{
		{path: "sh", args: []string{"-c", "true"}, want: "sh -c true"},
		{path: "echo", args: []string{"ünïcödé-ünïcödé"}, want: "echo ünïcödé-ünïcödé"},   // 20 runes, more bytes
		{path: "echo", args: []string{"ünïcödé-ünïcödé-ü"}, want: "echo ünïcödé-ünïcöd…"}, // 22 runes
		{path: "echo", args: []string{"ünïcödé-ünïcödé-ü"}, noTrunc: true, want: "echo ünïcödé-ünïcödé-ü"},
	}
	for _, tt := range tests {
		c := runc.Observed{Record: &runc.Record{ID: strings.Repeat("a", 64), Path: tt.path, Args: tt.args}}
		row := newPsRow(rt, c, psOptions{noTrunc: tt.noTrunc}, time.Now())
		if got, want := row.Command, strconv.Quote(tt.want); got != want {
			t.Errorf("%s %q: command %s, want %s", tt.path, tt.args, got, want)
		}
	}
}

func TestWriteInspect(t *testing.T) {
	type doc struct {
		ID   string `json:"Id"`
		Size int64
	}
	docs := []doc{{ID: "a", Size: 67108864}}
	asMap := func(d doc) any { return map[string]any{"Id": d.ID} }
	tests := []struct {
		name, format string
		docs         []doc
		view         func(doc) any
		want         string
	}{
		{name: "json", docs: docs, want: "[\n    {\n        \"Id\": \"a\",\n        \"Size\": 67108864\n    }\n]\n"},
		{name: "none found", format: "json", want: "[]\n"},
		{name: "template", format: "{{.ID}} {{.Size}}", docs: docs, want: "a 67108864\n"},
		{name: "template on view", format: "{{.Id}}", docs: docs, view: asMap, want: "a\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := writeInspect(&b, tt.format, tt.docs, tt.view); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if err := writeInspect(io.Discard, "{{.Nope}}", docs, nil); err == nil {
		t.Error("a template on a missing field: no error")
	}
}
