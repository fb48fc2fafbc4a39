package gitops

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxPayload bounds a webhook's body (GitHub caps its payloads at 25 MB).
const maxPayload = 25 << 20

// Webhook is an http.Handler for the push webhooks of GitHub
// (X-Hub-Signature-256: sha256=HMAC-SHA256 of the body), Gitea and Gogs
// (X-Gitea-Signature / X-Gogs-Signature: the hex HMAC-SHA256) and GitLab
// (X-Gitlab-Token: the secret itself). A verified push (or tag push)
// calls Trigger, which must not block (the Syncer's trigger channel
// coalesces); other verified events (ping, ...) are answered and ignored.
// A request with no signature or token is refused with 401, a wrong one
// with 403, and both are logged with the client's address.
type Webhook struct {
	Secret  []byte
	Trigger func()
	Log     io.Writer
}

func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPayload))
	if err != nil {
		http.Error(w, "payload too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	kind, event, err := h.verify(r.Header, body)
	if err != nil {
		code := http.StatusForbidden
		if kind == "" {
			code = http.StatusUnauthorized
		}
		h.logf("webhook: refused a request from %s: %v", r.RemoteAddr, err)
		http.Error(w, http.StatusText(code), code)
		return
	}
	if !isPush(kind, event) {
		fmt.Fprintf(w, "ignored %s event %q\n", kind, event)
		return
	}
	h.logf("webhook: %s push event from %s: syncing", kind, r.RemoteAddr)
	h.Trigger()
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintln(w, "sync triggered")
}

// verify checks the request's signature or token; kind is the forge whose
// header was found ("" when none was, an unauthenticated request).
func (h *Webhook) verify(hdr http.Header, body []byte) (kind, event string, err error) {
	mac := hmac.New(sha256.New, h.Secret)
	mac.Write(body)
	sum := mac.Sum(nil)
	check := func(hexsig string) error {
		got, err := hex.DecodeString(strings.TrimSpace(hexsig))
		if err != nil || !hmac.Equal(got, sum) {
			return fmt.Errorf("wrong signature")
		}
		return nil
	}
	switch {
	case hdr.Get("X-Hub-Signature-256") != "":
		sig, ok := strings.CutPrefix(hdr.Get("X-Hub-Signature-256"), "sha256=")
		if !ok {
			return "github", "", fmt.Errorf("X-Hub-Signature-256 is not sha256=<hex>")
		}
		return "github", hdr.Get("X-GitHub-Event"), check(sig)
	case hdr.Get("X-Gitea-Signature") != "":
		return "gitea", hdr.Get("X-Gitea-Event"), check(hdr.Get("X-Gitea-Signature"))
	case hdr.Get("X-Gogs-Signature") != "":
		return "gogs", hdr.Get("X-Gogs-Event"), check(hdr.Get("X-Gogs-Signature"))
	case hdr.Get("X-Gitlab-Token") != "":
		if subtle.ConstantTimeCompare([]byte(hdr.Get("X-Gitlab-Token")), h.Secret) != 1 {
			return "gitlab", "", fmt.Errorf("wrong token")
		}
		return "gitlab", hdr.Get("X-Gitlab-Event"), nil
	}
	return "", "", fmt.Errorf("no signature (X-Hub-Signature-256, X-Gitea-Signature) or token (X-Gitlab-Token)")
}

func isPush(kind, event string) bool {
	switch kind {
	case "gitlab":
		return event == "Push Hook" || event == "Tag Push Hook" || event == "System Hook"
	default:
		return event == "push" || event == "create"
	}
}

func (h *Webhook) logf(format string, args ...any) {
	if h.Log != nil {
		fmt.Fprintf(h.Log, format+"\n", args...)
	}
}
