package gitops

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWebhook(t *testing.T) {
	secret := []byte("s3cret")
	body := []byte(`{"ref":"refs/heads/main"}`)
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	sig := hex.EncodeToString(mac.Sum(nil))
	for _, tc := range []struct {
		name      string
		method    string
		hdr       map[string]string
		wantCode  int
		triggered bool
	}{
		{"github push", "POST", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sig}, 202, true},
		{"github ping", "POST", map[string]string{"X-GitHub-Event": "ping", "X-Hub-Signature-256": "sha256=" + sig}, 200, false},
		{"github wrong", "POST", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + strings.Repeat("ab", 32)}, 403, false},
		{"github no prefix", "POST", map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": sig}, 403, false},
		{"gitea push", "POST", map[string]string{"X-Gitea-Event": "push", "X-Gitea-Signature": sig}, 202, true},
		{"gitea wrong", "POST", map[string]string{"X-Gitea-Event": "push", "X-Gitea-Signature": "zz"}, 403, false},
		{"gogs push", "POST", map[string]string{"X-Gogs-Event": "push", "X-Gogs-Signature": sig}, 202, true},
		{"gitlab push", "POST", map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "s3cret"}, 202, true},
		{"gitlab tag push", "POST", map[string]string{"X-Gitlab-Event": "Tag Push Hook", "X-Gitlab-Token": "s3cret"}, 202, true},
		{"gitlab wrong token", "POST", map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "guess"}, 403, false},
		{"unsigned", "POST", map[string]string{"X-GitHub-Event": "push"}, 401, false},
		{"GET", "GET", nil, 405, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			triggered := false
			srv := httptest.NewServer(&Webhook{Secret: secret, Log: &log, Trigger: func() { triggered = true }})
			defer srv.Close()
			req, err := http.NewRequestWithContext(t.Context(), tc.method, srv.URL+"/", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode || triggered != tc.triggered {
				t.Errorf("got %d triggered=%v, want %d triggered=%v; log:\n%s", resp.StatusCode, triggered, tc.wantCode, tc.triggered, log.String())
			}
			if tc.wantCode == 401 || tc.wantCode == 403 {
				if !strings.Contains(log.String(), "refused") {
					t.Errorf("refusal not logged: %q", log.String())
				}
			}
		})
	}
}
