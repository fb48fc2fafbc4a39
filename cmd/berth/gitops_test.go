//go:build !lean

package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/gitops"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/fake"
)

// gitRemote is a bare repository in a temp dir, served as file://, and a
// clone the test commits in and pushes from.
type gitRemote struct {
	url  string
	work string
	repo *git.Repository
}

func newGitRemote(t *testing.T) *gitRemote {
	t.Helper()
	bare := filepath.Join(t.TempDir(), "stacks.git")
	if _, err := git.PlainInit(bare, true); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	repo, err := git.PlainInit(work, false)
	if err != nil {
		t.Fatal(err)
	}
	g := &gitRemote{url: "file://" + bare, work: work, repo: repo}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{g.url}}); err != nil {
		t.Fatal(err)
	}
	return g
}

// commit writes the files (an empty content deletes the file, a path
// ending in / deletes the folder), commits, pushes and returns the SHA.
func (g *gitRemote) commit(t *testing.T, files map[string]string) string {
	t.Helper()
	wt, err := g.repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	for p, content := range files {
		full := filepath.Join(g.work, p)
		if strings.HasSuffix(p, "/") || content == "" {
			if err := os.RemoveAll(full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "test", Email: "test@example.invalid", When: time.Now()}
	h, err := wt.Commit("change", &git.CommitOptions{All: true, Author: sig})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.repo.Push(&git.PushOptions{RemoteName: "origin", RefSpecs: []config.RefSpec{"refs/heads/master:refs/heads/master"}}); err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		t.Fatal(err)
	}
	return h.String()
}

const gitopsWeb = `name: web
services:
  web:
    image: nginx:1.27
    environment:
      LOG_LEVEL: info
    depends_on: [db]
  db:
    image: postgres:16
`

const gitopsCache = `services:
  cache:
    image: busybox
    command: ["sleep", "1000"]
`

func (s *testStack) gitopsStatus(t *testing.T) []gitops.Status {
	t.Helper()
	out, _, err := s.run(t, "gitops", "status", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var sts []gitops.Status
	if err := json.Unmarshal([]byte(out), &sts); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return sts
}

func stackStatus(t *testing.T, sts []gitops.Status, path string) gitops.StackStatus {
	t.Helper()
	for _, st := range sts {
		for _, s := range st.Stacks {
			if s.Path == path {
				return s
			}
		}
	}
	t.Fatalf("no status for %s in %+v", path, sts)
	return gitops.StackStatus{}
}

func TestGitopsFollowsCommits(t *testing.T) {
	s := newTestStack(t, demoStack)
	g := newGitRemote(t)
	once := func() (string, string, error) {
		return s.run(t, "gitops", "--repo", g.url, "--path", "apps", "--once")
	}

	// A commit adding two stacks brings both up, labelled.
	c1 := g.commit(t, map[string]string{"apps/web/compose.yaml": gitopsWeb, "apps/cache/compose.yaml": gitopsCache, "README.md": "stacks\n"})
	out, errOut, err := once()
	if err != nil {
		t.Fatalf("first sync: %v\n%s\n%s", err, out, errOut)
	}
	ids := s.ids(t)
	for _, n := range []string{"web-web-1", "web-db-1", "cache-cache-1"} {
		c := s.container(t, n)
		if c.Status != runtime.StatusRunning {
			t.Errorf("%s is %q, want running", n, c.Status)
		}
		if c.Labels[gitops.LabelRepo] != g.url || c.Labels[gitops.LabelPath] == "" {
			t.Errorf("%s labels %v lack the gitops labels", n, c.Labels)
		}
	}
	if got := stackStatus(t, s.gitopsStatus(t), "apps/web"); got.Commit != c1 || got.Stack != "web" || got.Error != "" {
		t.Errorf("status after first sync: %+v", got)
	}

	// A restarted follower finds nothing to do.
	out, errOut, err = once()
	if err != nil || strings.Contains(out, "Plan:") {
		t.Fatalf("second sync: %v\n%s\n%s", err, out, errOut)
	}
	if diff := cmpIDs(ids, s.ids(t)); diff != "" {
		t.Errorf("a sync without changes recreated: %s", diff)
	}

	// A commit changing web's environment recreates exactly web.
	g.commit(t, map[string]string{"apps/web/compose.yaml": strings.Replace(gitopsWeb, "info", "debug", 1)})
	if _, errOut, err := once(); err != nil {
		t.Fatalf("sync: %v\n%s", err, errOut)
	}
	after := s.ids(t)
	if after["web-web-1"] == ids["web-web-1"] || after["web-db-1"] != ids["web-db-1"] || after["cache-cache-1"] != ids["cache-cache-1"] {
		t.Errorf("want only web-web-1 recreated: before %v after %v", ids, after)
	}
	ids = after

	// A broken commit is reported with its SHA and file:line; web keeps
	// running, and cache, changed in the same commit, is not held back.
	bad := g.commit(t, map[string]string{
		"apps/web/compose.yaml":   "name: web\nservices:\n  web:\n    image: nginx:1.27\n    ports: [\"http:x\"]\n",
		"apps/cache/compose.yaml": strings.Replace(gitopsCache, "1000", "2000", 1),
	})
	_, errOut, err = once()
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Fatalf("broken commit: err %v, want exit 1\n%s", err, errOut)
	}
	if !strings.Contains(errOut, bad[:12]) || !strings.Contains(errOut, "apps/web/compose.yaml") {
		t.Errorf("the error lacks the SHA or the file:\n%s", errOut)
	}
	after = s.ids(t)
	if after["web-web-1"] != ids["web-web-1"] || s.container(t, "web-web-1").Status != runtime.StatusRunning {
		t.Error("the broken commit touched web")
	}
	if after["cache-cache-1"] == ids["cache-cache-1"] {
		t.Error("cache was held back by web's broken file")
	}
	st := stackStatus(t, s.gitopsStatus(t), "apps/web")
	if st.ErrorCommit != bad || st.Error == "" || st.Commit == bad {
		t.Errorf("status after the broken commit: %+v", st)
	}

	// A missing image is an error too, and changes nothing.
	missing := g.commit(t, map[string]string{"apps/web/compose.yaml": strings.Replace(gitopsWeb, "nginx:1.27", "nosuch:1", 1)})
	if _, errOut, err = once(); err == nil || !strings.Contains(errOut, "nosuch:1") {
		t.Errorf("missing image: err %v\n%s", err, errOut)
	}
	if s.ids(t)["web-web-1"] != ids["web-web-1"] {
		t.Error("the missing image touched web")
	}
	if st := stackStatus(t, s.gitopsStatus(t), "apps/web"); st.ErrorCommit != missing {
		t.Errorf("status after the missing image: %+v", st)
	}

	// The fix applies.
	fix := g.commit(t, map[string]string{"apps/web/compose.yaml": gitopsWeb})
	if _, errOut, err := once(); err != nil {
		t.Fatalf("fix: %v\n%s", err, errOut)
	}
	if st := stackStatus(t, s.gitopsStatus(t), "apps/web"); st.Commit != fix || st.Error != "" {
		t.Errorf("status after the fix: %+v", st)
	}

	// A container removed by hand is put back on the next sync.
	web := s.container(t, "web-web-1")
	if err := s.rt.Remove(t.Context(), web.ID, runtime.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := once(); err != nil || !strings.Contains(errOut, "repaired drift") {
		t.Errorf("drift: %v\n%s", err, errOut)
	}
	if c := s.container(t, "web-web-1"); c.Status != runtime.StatusRunning {
		t.Errorf("web-web-1 not recreated: %+v", c)
	}

	// A folder removed from the repository: kept without --prune, taken
	// down with it.
	g.commit(t, map[string]string{"apps/cache/": ""})
	if _, errOut, err := once(); err != nil || !strings.Contains(errOut, "--prune takes it down") {
		t.Errorf("without --prune: %v\n%s", err, errOut)
	}
	if _, ok := s.ids(t)["cache-cache-1"]; !ok {
		t.Error("cache was pruned without --prune")
	}
	if _, errOut, err := s.run(t, "gitops", "--repo", g.url, "--path", "apps", "--once", "--prune"); err != nil {
		t.Fatalf("--prune: %v\n%s", err, errOut)
	}
	if _, ok := s.ids(t)["cache-cache-1"]; ok {
		t.Error("cache not pruned with --prune")
	}
	if _, ok := s.ids(t)["web-web-1"]; !ok {
		t.Error("--prune took web down")
	}
}

func cmpIDs(a, b map[string]string) string {
	var diffs []string
	for k, v := range a {
		if b[k] != v {
			diffs = append(diffs, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			diffs = append(diffs, "+"+k)
		}
	}
	return strings.Join(diffs, ", ")
}

// daemon runs berth gitops in the background until stopped with a
// signal; wait returns its error and output.
func (s *testStack) daemon(t *testing.T, args ...string) (wait func() (string, error)) {
	t.Helper()
	type result struct {
		errOut string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		_, errOut, err := s.runContext(t.Context(), append([]string{"gitops"}, args...)...)
		done <- result{errOut, err}
	}()
	return func() (string, error) {
		s.sigs <- syscall.SIGTERM
		select {
		case r := <-done:
			return r.errOut, r.err
		case <-time.After(10 * time.Second):
			t.Fatal("berth gitops did not stop on SIGTERM")
			return "", nil
		}
	}
}

// eventually polls cond for up to 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestGitopsIntervalRepairsDrift(t *testing.T) {
	s := newTestStack(t, demoStack)
	g := newGitRemote(t)
	g.commit(t, map[string]string{"compose.yaml": gitopsWeb})
	wait := s.daemon(t, "--repo", g.url, "--interval", "50ms")
	eventually(t, "web up", func() bool { return s.ids(t)["web-web-1"] != "" })
	old := s.ids(t)["web-web-1"]
	if err := s.rt.Remove(t.Context(), old, runtime.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "web recreated", func() bool { id := s.ids(t)["web-web-1"]; return id != "" && id != old })
	errOut, err := wait()
	if err != nil {
		t.Fatalf("gitops: %v\n%s", err, errOut)
	}
	for _, want := range []string{"repaired drift: Plan: 1 to create.", "Stopping: finishing the sync under way", "Stopped; every stack is as the last sync left it"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("log lacks %q:\n%s", want, errOut)
		}
	}
}

func TestGitopsWebhook(t *testing.T) {
	s := newTestStack(t, demoStack)
	g := newGitRemote(t)
	g.commit(t, map[string]string{"web/compose.yaml": gitopsWeb})
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	wait := s.daemon(t, "--repo", g.url, "--interval", "1h", "--webhook", addr, "--webhook-secret-file", secret)
	eventually(t, "web up", func() bool { return s.ids(t)["web-web-1"] != "" })
	before := s.ids(t)
	g.commit(t, map[string]string{"web/compose.yaml": strings.Replace(gitopsWeb, "info", "debug", 1)})

	body := []byte(`{"ref":"refs/heads/master"}`)
	post := func(hdr map[string]string) int {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+addr+"/hook", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write(body)
	good := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if code := post(map[string]string{"X-GitHub-Event": "push"}); code != http.StatusUnauthorized {
		t.Errorf("unsigned: %d, want 401", code)
	}
	if code := post(map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + strings.Repeat("0", 64)}); code != http.StatusForbidden {
		t.Errorf("badly signed: %d, want 403", code)
	}
	time.Sleep(100 * time.Millisecond)
	if s.ids(t)["web-web-1"] != before["web-web-1"] {
		t.Fatal("a refused webhook triggered a sync")
	}
	if code := post(map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": good}); code != http.StatusAccepted {
		t.Errorf("signed: %d, want 202", code)
	}
	eventually(t, "web recreated by the webhook's sync", func() bool { return s.ids(t)["web-web-1"] != before["web-web-1"] })
	if s.ids(t)["web-db-1"] != before["web-db-1"] {
		t.Error("db was recreated")
	}
	errOut, err := wait()
	if err != nil {
		t.Fatalf("gitops: %v\n%s", err, errOut)
	}
	for _, want := range []string{"webhook: refused a request from 127.0.0.1", "wrong signature", "no signature", "webhook: github push event"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("log lacks %q:\n%s", want, errOut)
		}
	}
}

func TestGitopsLeavesOtherOwnersAlone(t *testing.T) {
	s := newTestStack(t, demoStack)
	g := newGitRemote(t)
	g.commit(t, map[string]string{"web/compose.yaml": gitopsWeb})
	if _, errOut, err := s.run(t, "gitops", "--repo", g.url, "--once"); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	ids := s.ids(t)
	// Another repository with a stack of the same name, and a second
	// folder of this one loading under that name, are refused.
	other := newGitRemote(t)
	other.commit(t, map[string]string{"web/compose.yaml": strings.Replace(gitopsWeb, "info", "debug", 1)})
	_, errOut, err := s.run(t, "gitops", "--repo", other.url, "--once")
	if err == nil || !strings.Contains(errOut, "stack web is deployed from "+g.url) {
		t.Errorf("other repository: %v\n%s", err, errOut)
	}
	g.commit(t, map[string]string{"zz/compose.yaml": strings.Replace(gitopsWeb, "info", "debug", 1)})
	_, errOut, err = s.run(t, "gitops", "--repo", g.url, "--once")
	if err == nil || !strings.Contains(errOut, "stack name web is taken by folder web") {
		t.Errorf("same name twice: %v\n%s", err, errOut)
	}
	if diff := cmpIDs(ids, s.ids(t)); diff != "" {
		t.Errorf("refused syncs changed containers: %s", diff)
	}
}

func TestGitopsWaitUnhealthy(t *testing.T) {
	s := newTestStack(t, demoStack, fake.WithHealthOnStart("unhealthy"))
	g := newGitRemote(t)
	sha := g.commit(t, map[string]string{"db/compose.yaml": "services:\n  db:\n    image: postgres:16\n    healthcheck: {test: [\"CMD\", \"pg_isready\"]}\n"})
	_, errOut, err := s.run(t, "gitops", "--repo", g.url, "--once", "--wait", "--wait-timeout", "5s")
	if err == nil || !strings.Contains(errOut, "container db-db-1 is unhealthy") {
		t.Errorf("--wait on an unhealthy stack: %v\n%s", err, errOut)
	}
	if st := stackStatus(t, s.gitopsStatus(t), "db"); st.ErrorCommit != sha {
		t.Errorf("status: %+v", st)
	}
}

func TestGitopsOnceExitStatus(t *testing.T) {
	for _, tc := range []struct {
		name    string
		files   map[string]string
		args    []string
		wantErr bool
		wantLog string
	}{
		{"good", map[string]string{"a/compose.yaml": gitopsCache}, nil, false, "applied commit"},
		{"bad file", map[string]string{"a/compose.yaml": "services: [\n"}, nil, true, "a/compose.yaml"},
		{"missing image", map[string]string{"a/compose.yaml": "services:\n  x:\n    image: nosuch:2\n"}, nil, true, "image nosuch:2 of service x"},
		{"no such ref", map[string]string{"a/compose.yaml": gitopsCache}, []string{"--ref", "nosuch"}, true, `ref "nosuch": no such branch`},
		{"branch", map[string]string{"a/compose.yaml": gitopsCache}, []string{"--ref", "master"}, false, "applied commit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStack(t, demoStack)
			g := newGitRemote(t)
			g.commit(t, tc.files)
			_, errOut, err := s.run(t, append([]string{"gitops", "--repo", g.url, "--once"}, tc.args...)...)
			var ee *exitError
			switch {
			case tc.wantErr && (!errors.As(err, &ee) || ee.code != 1):
				t.Errorf("err %v, want exit status 1\n%s", err, errOut)
			case !tc.wantErr && err != nil:
				t.Errorf("err %v\n%s", err, errOut)
			case !strings.Contains(errOut, tc.wantLog):
				t.Errorf("the log lacks %q:\n%s", tc.wantLog, errOut)
			}
		})
	}
}

func TestGitopsStatusTable(t *testing.T) {
	now := time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)
	sts := []*gitops.Status{{
		Repo: "https://git.example/ops.git", Ref: "main", Commit: "3f2a9c1d0b7e55",
		Stacks: []gitops.StackStatus{
			{Path: "apps/cache", Stack: "cache", Removed: true, Commit: "1111111111112222"},
			{Path: "apps/web", Stack: "web", Commit: "3f2a9c1d0b7e55", Applied: now.Add(-12 * time.Minute), Plan: "No changes: stack web is up to date.",
				Error: "invalid stack:\napps/web/compose.yaml:5:13: bad port", ErrorCommit: "9e1f00000000aaaa"},
		},
	}}
	var b bytes.Buffer
	if err := writeGitopsStatus(&b, sts, "table", now); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"REPOSITORY                    REF    STACK   PATH         COMMIT         APPLIED          PLAN                                                 ERROR",
		"https://git.example/ops.git   main   cache   apps/cache   111111111111                    removed from the repository (kept without --prune)   ",
		"https://git.example/ops.git   main   web     apps/web     3f2a9c1d0b7e   12 minutes ago   No changes: stack web is up to date.                 at 9e1f00000000: invalid stack: apps/web/compose.yaml:5:13: bad port",
		"",
	}, "\n")
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if err := writeGitopsStatus(&b, nil, "yaml", now); err == nil {
		t.Error("--format yaml accepted")
	}
}

func TestGitopsStopSignals(t *testing.T) {
	s := newTestStack(t, demoStack)
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.rt.SetHook(func(call fake.Call, key string) error {
		if call == fake.CallCreate {
			once.Do(func() { close(entered) })
			<-release
		}
		return nil
	})
	g := newGitRemote(t)
	g.commit(t, map[string]string{"compose.yaml": gitopsWeb})
	wait := s.daemon(t, "--repo", g.url, "--interval", "1h")
	<-entered
	// The first signal lets the sync finish, the second abandons it.
	s.sigs <- syscall.SIGTERM
	time.Sleep(50 * time.Millisecond)
	s.sigs <- syscall.SIGTERM
	time.Sleep(50 * time.Millisecond)
	close(release)
	errOut, err := wait()
	if err != nil {
		t.Fatalf("gitops: %v\n%s", err, errOut)
	}
	for _, want := range []string{"Stopping: finishing the sync under way", "Abandoning the sync under way", "the sync under way was abandoned"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("log lacks %q:\n%s", want, errOut)
		}
	}
}

// TestGitopsWaitRollback: with --wait, a commit whose stack does not
// become healthy is rolled back to the stack's last good commit (its
// configuration, not its containers: they were replaced), stays rolled
// back on later syncs of that commit, and a newer good commit applies.
func TestGitopsWaitRollback(t *testing.T) {
	s := newTestStack(t, demoStack, fake.WithHealthOnStart("unhealthy"))
	g := newGitRemote(t)
	db := func(level string, healthcheck bool) string {
		c := "services:\n  db:\n    image: postgres:16\n    environment: {LEVEL: " + level + "}\n"
		if healthcheck {
			c += "    healthcheck: {test: [\"CMD\", \"pg_isready\"]}\n"
		}
		return c
	}
	sync := func() (string, error) {
		_, errOut, err := s.run(t, "gitops", "--repo", g.url, "--once", "--wait", "--wait-timeout", "5s")
		return errOut, err
	}
	level := func() string {
		t.Helper()
		for _, e := range s.container(t, "db-db-1").Config.Env {
			if v, ok := strings.CutPrefix(e, "LEVEL="); ok {
				return v
			}
		}
		return ""
	}
	good := g.commit(t, map[string]string{"db/compose.yaml": db("one", false)})
	if errOut, err := sync(); err != nil {
		t.Fatalf("good commit: %v\n%s", err, errOut)
	}
	bad := g.commit(t, map[string]string{"db/compose.yaml": db("two", true)})
	errOut, err := sync()
	if err == nil || !strings.Contains(errOut, "is unhealthy") || !strings.Contains(errOut, "rolled back to commit "+good[:12]) {
		t.Fatalf("bad commit: %v\n%s", err, errOut)
	}
	if got := level(); got != "one" {
		t.Errorf("after the rollback db runs LEVEL=%s, want one", got)
	}
	st := stackStatus(t, s.gitopsStatus(t), "db")
	if st.Commit != good || st.ErrorCommit != bad || st.RolledBack != bad || st.Error == "" {
		t.Errorf("status after the rollback: %+v", st)
	}
	// The same commit again: it stays rolled back, changes nothing and is
	// still an error.
	ids := s.ids(t)
	if errOut, err := sync(); err == nil {
		t.Errorf("resync of the rolled-back commit: %v\n%s", err, errOut)
	}
	if diff := cmpIDs(ids, s.ids(t)); diff != "" || level() != "one" {
		t.Errorf("resync of the rolled-back commit changed the stack: %s, LEVEL=%s", diff, level())
	}
	fixed := g.commit(t, map[string]string{"db/compose.yaml": db("three", false)})
	if errOut, err := sync(); err != nil {
		t.Fatalf("fixed commit: %v\n%s", err, errOut)
	}
	if got := level(); got != "three" {
		t.Errorf("after the fix db runs LEVEL=%s, want three", got)
	}
	if st := stackStatus(t, s.gitopsStatus(t), "db"); st.Commit != fixed || st.Error != "" || st.RolledBack != "" {
		t.Errorf("status after the fix: %+v", st)
	}
}

// TestGitopsBoot: berth boot brings back a stack berth gitops deployed,
// starting its containers with their gitops labels (nothing recreated),
// and forgets it once gitops prunes it.
func TestGitopsBoot(t *testing.T) {
	s := newTestStack(t, demoStack)
	g := newGitRemote(t)
	g.commit(t, map[string]string{"apps/web/compose.yaml": gitopsWeb})
	if _, errOut, err := s.run(t, "gitops", "--repo", g.url, "--once"); err != nil {
		t.Fatalf("gitops: %v\n%s", err, errOut)
	}
	ids := s.ids(t)
	cs, _ := s.rt.List(t.Context())
	for _, c := range cs {
		s.rt.Stop(t.Context(), c.ID, nil)
	}
	if _, errOut, err := s.run(t, "boot"); err != nil {
		t.Fatalf("boot: %v\n%s", err, errOut)
	}
	if diff := cmpIDs(ids, s.ids(t)); diff != "" {
		t.Errorf("boot recreated containers: %s", diff)
	}
	for _, n := range []string{"web-web-1", "web-db-1"} {
		c := s.container(t, n)
		if c.Status != runtime.StatusRunning || c.Labels[gitops.LabelRepo] != g.url {
			t.Errorf("%s after boot: %s, labels %v", n, c.Status, c.Labels)
		}
	}
	g.commit(t, map[string]string{"apps/web/": ""})
	if _, errOut, err := s.run(t, "gitops", "--repo", g.url, "--once", "--prune"); err != nil {
		t.Fatalf("prune: %v\n%s", err, errOut)
	}
	if _, errOut, err := s.run(t, "boot"); err != nil || strings.Contains(errOut, "web") {
		t.Errorf("boot after the prune: %v\n%s", err, errOut)
	}
	if cs, _ := s.rt.List(t.Context()); len(cs) != 0 {
		t.Errorf("boot brought a pruned stack back: %d containers", len(cs))
	}
}
