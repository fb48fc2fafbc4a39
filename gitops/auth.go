package gitops

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// ReadAuth reads the credentials for url from an auth file: key=value
// lines (# comments, blank lines ignored), so that no secret is ever on the
// command line or in the process list.
//
//	username=deploy            # http(s) basic auth, or the ssh user (default git)
//	password=...               # http(s) basic auth
//	token=...                  # http(s) token: basic auth with username (default "git")
//	ssh_key_file=/path/id_ed25519
//	ssh_key_passphrase=...
//	known_hosts=/path/known_hosts   # default: ~/.ssh/known_hosts, $SSH_KNOWN_HOSTS
//
// Which keys apply depends on the URL's transport: ssh (ssh:// or
// user@host:path) takes the ssh_* keys, http(s) the others. An empty path
// means no credentials (nil, nil).
func ReadAuth(path, url string) (transport.AuthMethod, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth file: %w", err)
	}
	kv := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		switch k {
		case "username", "password", "token", "ssh_key_file", "ssh_key_passphrase", "known_hosts":
		default:
			ok = false
		}
		if !ok {
			return nil, fmt.Errorf("auth file %s:%d: want one of username, password, token, ssh_key_file, ssh_key_passphrase, known_hosts as key=value: %w", path, n, errdefs.ErrInvalidArgument)
		}
		kv[k] = strings.TrimSpace(v)
	}
	ep, err := transport.NewEndpoint(url)
	if err != nil {
		return nil, fmt.Errorf("repository url %q: %w", url, errdefs.ErrInvalidArgument)
	}
	switch ep.Protocol {
	case "ssh":
		if kv["ssh_key_file"] == "" {
			return nil, fmt.Errorf("auth file %s: an ssh url needs ssh_key_file: %w", path, errdefs.ErrInvalidArgument)
		}
		user := kv["username"]
		if user == "" {
			user = ep.User
		}
		if user == "" {
			user = "git"
		}
		keys, err := gitssh.NewPublicKeysFromFile(user, kv["ssh_key_file"], kv["ssh_key_passphrase"])
		if err != nil {
			return nil, fmt.Errorf("auth file %s: ssh key: %w", path, err)
		}
		if kh := kv["known_hosts"]; kh != "" {
			cb, err := gitssh.NewKnownHostsCallback(kh)
			if err != nil {
				return nil, fmt.Errorf("auth file %s: known_hosts: %w", path, err)
			}
			keys.HostKeyCallback = cb
		}
		return keys, nil
	case "http", "https":
		user, pass := kv["username"], kv["password"]
		if t := kv["token"]; t != "" {
			pass = t
			if user == "" {
				user = "git"
			}
		}
		if user == "" && pass == "" {
			return nil, nil
		}
		return &githttp.BasicAuth{Username: user, Password: pass}, nil
	}
	return nil, nil
}
