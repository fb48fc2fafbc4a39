package gitops

import (
	"os"
	"path/filepath"
	"testing"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/google/go-cmp/cmp"
)

func TestReadAuth(t *testing.T) {
	write := func(content string) string {
		p := filepath.Join(t.TempDir(), "auth")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, content, url string
		want               any
		wantErr            bool
	}{
		{"token", "# deploy token\ntoken = abc\n", "https://example.invalid/x.git", &githttp.BasicAuth{Username: "git", Password: "abc"}, false},
		{"basic", "username=me\npassword=pw\n", "https://example.invalid/x.git", &githttp.BasicAuth{Username: "me", Password: "pw"}, false},
		{"token with user", "username=oauth2\ntoken=t\n", "http://example.invalid/x", &githttp.BasicAuth{Username: "oauth2", Password: "t"}, false},
		{"unknown key", "passwd=x\n", "https://example.invalid/x", nil, true},
		{"ssh without key", "username=git\n", "git@example.invalid:x.git", nil, true},
		{"ssh key missing", "ssh_key_file=/nonexistent/id\n", "ssh://git@example.invalid/x", nil, true},
		{"file url", "token=abc\n", "file:///srv/x", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadAuth(write(tc.content), tc.url)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if tc.want == nil {
				if got != nil {
					t.Errorf("got %v, want none", got)
				}
				return
			}
			if diff := cmp.Diff(tc.want, any(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if a, err := ReadAuth("", "https://x"); a != nil || err != nil {
		t.Errorf("no file: %v, %v", a, err)
	}
}
