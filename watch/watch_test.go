package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/google/go-cmp/cmp"
)

func project(dir string) *types.Project {
	web := types.ServiceConfig{Name: "web"}
	web.Build = &types.BuildConfig{Context: "."}
	web.Develop = &types.DevelopConfig{Watch: []types.Trigger{
		{Path: "src", Action: types.WatchActionSync, Target: "/app/src", Ignore: []string{"*.tmp"}},
		{Path: "conf", Action: types.WatchActionSyncRestart, Target: "/etc/web"},
		{Path: "package.json", Action: types.WatchActionRebuild},
	}}
	api := types.ServiceConfig{Name: "api"}
	api.Develop = &types.DevelopConfig{Watch: []types.Trigger{
		{Path: "api", Action: types.WatchActionSyncExec, Target: "/srv", Include: []string{"*.py"}, Exec: types.ServiceHook{Command: []string{"kill", "-HUP", "1"}}},
		{Path: "api/restart.txt", Action: types.WatchActionRestart},
	}}
	return &types.Project{Name: "demo", WorkingDir: dir, Services: types.Services{"web": web, "api": api, "db": {Name: "db"}}}
}

func TestPlan(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("src/node_modules\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rules, err := Rules(project(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	at := func(p string) string { return filepath.Join(dir, p) }
	hup := types.ServiceHook{Command: []string{"kill", "-HUP", "1"}}
	for _, tc := range []struct {
		name    string
		changes []Change
		want    []Action
	}{
		{"sync", []Change{{Path: at("src/a/b.js")}}, []Action{{Service: "web", Sync: []Copy{{at("src/a/b.js"), "/app/src/a/b.js", false}}}}},
		{"delete", []Change{{Path: at("src/old.js"), Removed: true}}, []Action{{Service: "web", Sync: []Copy{{at("src/old.js"), "/app/src/old.js", true}}}}},
		{"ignored", []Change{{Path: at("src/x.tmp")}, {Path: at("src/node_modules/m/i.js")}, {Path: at("README")}}, nil},
		{"editor files and .git", []Change{{Path: at("src/.a.js.swp")}, {Path: at("src/4913")}, {Path: at("src/a.js~")}, {Path: at("src/.#a.js")},
			{Path: at("src/#a.js#")}, {Path: at("src/a.js___jb_tmp___")}, {Path: at("src/.git/index")}}, nil},
		{"sync+restart", []Change{{Path: at("conf/web.conf")}}, []Action{{Service: "web", Sync: []Copy{{at("conf/web.conf"), "/etc/web/web.conf", false}}, Restart: true}}},
		{"rebuild wins", []Change{{Path: at("src/a.js")}, {Path: at("package.json")}}, []Action{{Service: "web", Rebuild: true}}},
		{"sync+exec once, include", []Change{{Path: at("api/a.py")}, {Path: at("api/b.py")}, {Path: at("api/notes.md")}}, []Action{{Service: "api",
			Sync: []Copy{{at("api/a.py"), "/srv/a.py", false}, {at("api/b.py"), "/srv/b.py", false}}, Exec: []types.ServiceHook{hup}}}},
		{"restart", []Change{{Path: at("api/restart.txt")}}, []Action{{Service: "api", Restart: true}}},
		{"two services", []Change{{Path: at("api/a.py")}, {Path: at("src/a.js")}}, []Action{
			{Service: "api", Sync: []Copy{{at("api/a.py"), "/srv/a.py", false}}, Exec: []types.ServiceHook{hup}},
			{Service: "web", Sync: []Copy{{at("src/a.js"), "/app/src/a.js", false}}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Plan(rules, tc.changes)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRulesInvalid(t *testing.T) {
	web := types.ServiceConfig{Name: "web"}
	web.Develop = &types.DevelopConfig{Watch: []types.Trigger{
		{Path: "src", Action: types.WatchActionSync},
		{Path: "x", Action: "teleport"},
		{Path: "y", Action: types.WatchActionSyncExec, Target: "/y"},
	}}
	p := &types.Project{WorkingDir: t.TempDir(), Services: types.Services{"web": web}}
	_, err := Rules(p, nil)
	for _, want := range []string{"watch[0]: action sync needs a target", "watch[1]: unknown action", "watch[2]: action sync+exec needs exec.command"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

// recorder is an Executor that keeps what it was asked, failing the
// first fail calls to Sync.
type recorder struct {
	mu    sync.Mutex
	calls []string
	fail  int
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, s)
}

func (r *recorder) Sync(_ context.Context, service string, copies []Copy) error {
	r.mu.Lock()
	if r.fail > 0 {
		r.fail--
		r.mu.Unlock()
		return errors.New("container busy")
	}
	r.mu.Unlock()
	for _, c := range copies {
		r.add(fmt.Sprintf("sync %s %s delete=%v", service, c.ContainerPath, c.Delete))
	}
	return nil
}
func (r *recorder) Exec(_ context.Context, service string, h types.ServiceHook) error {
	r.add(fmt.Sprintf("exec %s %v", service, h.Command))
	return nil
}
func (r *recorder) Restart(_ context.Context, service string) error {
	r.add("restart " + service)
	return nil
}
func (r *recorder) Rebuild(_ context.Context, service string) error {
	r.add("rebuild " + service)
	return nil
}

func (r *recorder) waitFor(t *testing.T, want string) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		r.mu.Lock()
		ok := slices.Contains(r.calls, want)
		r.mu.Unlock()
		if ok {
			return
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Fatalf("no %q in %q", want, r.calls)
}

func TestWatcher(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"src", "conf", "api"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	os.WriteFile(filepath.Join(dir, "src", "boot.js"), []byte("1"), 0o644)
	p := project(dir)
	p.Services["web"].Develop.Watch[0].InitialSync = true
	rules, err := Rules(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() {
		done <- (&Watcher{Rules: rules, Exec: rec, Debounce: 20 * time.Millisecond, Retry: 50 * time.Millisecond}).Run(ctx)
	}()
	defer func() { cancel(); <-done }()
	write := func(p, s string) {
		t.Helper()
		os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	rec.waitFor(t, "sync web /app/src/boot.js delete=false") // initial_sync
	write("src/a.js", "x")
	rec.waitFor(t, "sync web /app/src/a.js delete=false")
	write("src/new/deep.js", "x") // a new directory is watched
	rec.waitFor(t, "sync web /app/src/new/deep.js delete=false")
	os.Remove(filepath.Join(dir, "src", "a.js"))
	rec.waitFor(t, "sync web /app/src/a.js delete=true")
	write("conf/web.conf", "x")
	rec.waitFor(t, "restart web")
	write("api/app.py", "x")
	rec.waitFor(t, "exec api [kill -HUP 1]")
	write("package.json", "{}")
	rec.waitFor(t, "rebuild web")

	// A failing sync is reported and retried, not dropped.
	rec.mu.Lock()
	rec.fail = 2
	rec.mu.Unlock()
	write("src/retry.js", "x")
	rec.waitFor(t, "sync web /app/src/retry.js delete=false")

	rec.mu.Lock()
	n := len(rec.calls)
	rec.mu.Unlock()
	write("src/ignored.tmp", "x")
	write("README", "x")
	time.Sleep(150 * time.Millisecond)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.calls) != n {
		t.Errorf("ignored files did something: %q", rec.calls[n:])
	}
}

// permExec fails every Exec permanently and counts the calls.
type permExec struct {
	recorder
	execs int
}

func (p *permExec) Exec(_ context.Context, service string, h types.ServiceHook) error {
	p.mu.Lock()
	p.execs++
	p.mu.Unlock()
	p.add(fmt.Sprintf("exec %s %v", service, h.Command))
	return Permanent(errors.New("exit status 1"))
}

func TestWatcherUpdateResyncPermanent(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"src", "api", "later"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	os.WriteFile(filepath.Join(dir, "later", "init.txt"), []byte("1"), 0o644)
	os.WriteFile(filepath.Join(dir, "src", "boot.js"), []byte("1"), 0o644)
	p := project(dir)
	p.Services["web"].Develop.Watch[0].InitialSync = true // to know when the watch is set up
	rules, err := Rules(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &permExec{}
	w := &Watcher{Rules: rules, Exec: rec, Debounce: 20 * time.Millisecond, Retry: 30 * time.Millisecond}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	defer func() { cancel(); <-done }()
	write := func(p string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	rec.waitFor(t, "sync web /app/src/boot.js delete=false")
	// A permanent failure is reported once, not retried.
	write("api/app.py")
	rec.waitFor(t, "exec api [kill -HUP 1]")
	time.Sleep(150 * time.Millisecond)
	rec.mu.Lock()
	if rec.execs != 1 {
		t.Errorf("a permanent failure ran %d times, want 1", rec.execs)
	}
	rec.mu.Unlock()

	// Resync copies again what was synced, and only syncs.
	write("src/a.js")
	rec.waitFor(t, "sync web /app/src/a.js delete=false")
	rec.mu.Lock()
	rec.calls = nil
	rec.mu.Unlock()
	w.Resync([]string{"web"})
	rec.waitFor(t, "sync web /app/src/a.js delete=false")
	rec.mu.Lock()
	for _, c := range rec.calls {
		if !strings.HasPrefix(c, "sync web ") {
			t.Errorf("resync did %q", c)
		}
	}
	rec.mu.Unlock()

	// Update adds the new rules' paths and runs their initial sync.
	p.Services["web"].Develop.Watch = append(p.Services["web"].Develop.Watch,
		types.Trigger{Path: "later", Action: types.WatchActionSync, Target: "/later", InitialSync: true})
	rules, err = Rules(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Update(rules)
	rec.waitFor(t, "sync web /later/init.txt delete=false")
	write("later/b.txt")
	rec.waitFor(t, "sync web /later/b.txt delete=false")
}

// TestWatcherBurst: a file written without a pause is still synced, a
// second after the burst began, not when it ends.
func TestWatcherBurst(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "src"), 0o755)
	os.WriteFile(filepath.Join(dir, "src", "boot.js"), []byte("1"), 0o644)
	p := project(dir)
	p.Services["web"].Develop.Watch[0].InitialSync = true
	rules, err := Rules(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- (&Watcher{Rules: rules, Exec: rec, Debounce: 200 * time.Millisecond}).Run(ctx) }()
	defer func() { cancel(); <-done }()
	rec.waitFor(t, "sync web /app/src/boot.js delete=false")
	want := "sync web /app/src/log.txt delete=false"
	start := time.Now()
	for time.Since(start) < 3*time.Second {
		os.WriteFile(filepath.Join(dir, "src", "log.txt"), []byte(time.Now().String()), 0o644)
		rec.mu.Lock()
		ok := slices.Contains(rec.calls, want)
		rec.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("a file written every 50 ms was not synced within 3 s")
}
