package gitops

import (
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// TestRepoUpdateHTTP follows a repository served over http by git's own
// http-backend (CGI) behind an httptest server on 127.0.0.1 that demands
// basic auth.
func TestRepoUpdateHTTP(t *testing.T) {
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Skip("git is not installed")
	}
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		t.Skip("git-http-backend is not installed")
	}
	url, work, dir, push := remote(t)
	c1 := commitFiles(t, work, dir, map[string]string{"web/compose.yaml": "services: {}\n"})
	push()
	bare := strings.TrimPrefix(url, "file://")

	h := &cgi.Handler{
		Path: backend,
		Env:  []string{"GIT_PROJECT_ROOT=" + filepath.Dir(bare), "GIT_HTTP_EXPORT_ALL=1"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "deploy" || p != "tok" {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	repoURL := srv.URL + "/" + filepath.Base(bare)

	noAuth := &Repo{URL: repoURL, Dir: StateDir(t.TempDir(), "x")}
	if _, err := noAuth.Update(t.Context()); err == nil {
		t.Error("fetch without credentials succeeded")
	}
	authFile := filepath.Join(t.TempDir(), "auth")
	if err := os.WriteFile(authFile, []byte("username=deploy\ntoken=tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	auth, err := ReadAuth(authFile, repoURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := auth.(*githttp.BasicAuth); !ok {
		t.Fatalf("auth %T, want basic", auth)
	}
	r := &Repo{URL: repoURL, Auth: auth, Dir: StateDir(t.TempDir(), "x")}
	got, err := r.Update(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got != c1.String() {
		t.Errorf("commit %s, want %s", got, c1)
	}
	if _, err := os.Stat(filepath.Join(r.Tree(), "web", "compose.yaml")); err != nil {
		t.Error(err)
	}
}
