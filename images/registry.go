//go:build !lean

package images

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/docker/cli/cli/config"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// RegistryConfig is how berth reaches registries: the settings of Docker's
// daemon.json that concern them, read from a JSON file with the same keys
// (docs/registry.md).
type RegistryConfig struct {
	// InsecureRegistries may be reached over plain HTTP (and with any TLS
	// certificate): "host:port", "host", or a CIDR the registry's IP
	// address is in. Loopback registries always may, as in Docker.
	InsecureRegistries []string `json:"insecure-registries,omitempty"`
	// Mirrors of Docker Hub ("https://mirror.example:5000"), tried in
	// order before docker.io for pulls; the origin is the last resort.
	Mirrors []string `json:"registry-mirrors,omitempty"`
	// CertsDir holds per-registry TLS files in Docker's layout:
	// <CertsDir>/<host:port>/*.crt (CAs), *.cert + *.key (client pairs).
	// Default /etc/docker/certs.d.
	CertsDir string `json:"certs-dir,omitempty"`
}

// DefaultCertsDir is Docker's certs.d.
const DefaultCertsDir = "/etc/docker/certs.d"

// LoadRegistryConfig reads the registry settings in path; a missing file is
// the default settings. Unknown keys are ignored, so Docker's daemon.json
// itself may be used.
func LoadRegistryConfig(path string) (RegistryConfig, error) {
	var c RegistryConfig
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("registry settings: %w", err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("registry settings %s: %v", path, err))
	}
	for _, m := range c.Mirrors {
		if _, err := mirrorHost(m); err != nil {
			return c, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("registry settings %s: %v", path, err))
		}
	}
	return c, nil
}

// Registries talks to image registries with one set of settings and
// credentials. It is safe for concurrent use.
type Registries struct {
	cfg       RegistryConfig
	configDir string // Docker's config directory, holding config.json
	keychain  authn.Keychain
	dial      func(ctx context.Context, network, addr string) (net.Conn, error) // tests reroute names to loopback
	hubSearch string                                                            // Docker Hub's search API; tests point it at loopback

	mu         sync.Mutex
	transports map[string]*http.Transport // by host[:port]
}

// NewRegistries returns a client for cfg that takes credentials from
// Docker's config.json in dockerConfigDir (its auths, credsStore and
// credHelpers, so docker login's credentials work); "" means
// $DOCKER_CONFIG or ~/.docker.
func NewRegistries(cfg RegistryConfig, dockerConfigDir string) *Registries {
	if dockerConfigDir == "" {
		dockerConfigDir = config.Dir()
	}
	if cfg.CertsDir == "" {
		cfg.CertsDir = DefaultCertsDir
	}
	// A mirror given as http:// is reached over HTTP, as in Docker.
	cfg.InsecureRegistries = slices.Clone(cfg.InsecureRegistries)
	for _, m := range cfg.Mirrors {
		if host, err := mirrorHost(m); err == nil && strings.HasPrefix(m, "http://") {
			cfg.InsecureRegistries = append(cfg.InsecureRegistries, host)
		}
	}
	return &Registries{
		cfg: cfg, configDir: dockerConfigDir, keychain: dockerKeychain{dockerConfigDir},
		hubSearch: "https://index.docker.io/v1/search", transports: map[string]*http.Transport{},
	}
}

// insecure reports whether host (host[:port]) may be reached over HTTP.
// Loopback registries may, as in Docker (127.0.0.0/8 is insecure by
// default there).
func (r *Registries) insecure(host string) bool {
	if slices.Contains(r.cfg.InsecureRegistries, host) {
		return true
	}
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if h == "localhost" || slices.Contains(r.cfg.InsecureRegistries, h) {
		return true
	}
	ip := net.ParseIP(h)
	if ip == nil {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	for _, c := range r.cfg.InsecureRegistries {
		if _, n, err := net.ParseCIDR(c); err == nil && n.Contains(ip) {
			return true
		}
	}
	return false
}

// parse parses a normalised reference with this host's scheme rules.
func (r *Registries) parse(full string) (name.Reference, error) {
	var opts []name.Option
	if host, _, _ := strings.Cut(full, "/"); r.insecure(host) || (host == "docker.io" && r.insecure(name.DefaultRegistry)) {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.ParseReference(full, opts...)
	if err != nil {
		return nil, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid reference format: %q", full))
	}
	return ref, nil
}

// options are the remote options for one call.
func (r *Registries) options(ctx context.Context, extra ...remote.Option) []remote.Option {
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(r),
		remote.WithAuthFromKeychain(r.keychain),
		remote.WithUserAgent("berth"),
		remote.WithRetryBackoff(remote.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Steps: 3}),
	}
	return append(opts, extra...)
}

// RoundTrip sends req through the transport of its host: that host's CA
// certificates and client certificate from certs.d, and plain HTTP refused
// unless the host is an insecure registry. go-containerregistry falls back
// to HTTP for private addresses by itself; berth follows Docker instead.
func (r *Registries) RoundTrip(req *http.Request) (*http.Response, error) {
	host := req.URL.Host
	if req.URL.Scheme == "http" && !r.insecure(host) {
		return nil, fmt.Errorf("http: server gave HTTP response to HTTPS client (registry %s is not an insecure registry; see docs/registry.md)", host)
	}
	t, err := r.transport(host)
	if err != nil {
		return nil, err
	}
	return t.RoundTrip(req)
}

func (r *Registries) transport(host string) (*http.Transport, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.transports[host]; ok {
		return t, nil
	}
	tlsCfg, err := r.tlsConfig(host)
	if err != nil {
		return nil, err
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = tlsCfg
	t.MaxIdleConnsPerHost = 8
	if r.dial != nil {
		t.DialContext = r.dial
		t.Proxy = nil // a test's loopback routes must not go to a proxy
	}
	r.transports[host] = t
	return t, nil
}

// tlsConfig reads host's directory in certs.d, as Docker does: every *.crt
// is a CA added to the system's, every *.cert with its *.key a client
// certificate. An insecure registry's certificate is not verified.
func (r *Registries) tlsConfig(host string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if r.insecure(host) {
		cfg.InsecureSkipVerify = true
	}
	dir := filepath.Join(r.cfg.CertsDir, strings.ReplaceAll(host, "/", "_"))
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry %s certificates: %w", host, err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch filepath.Ext(e.Name()) {
		case ".crt":
			if cfg.RootCAs == nil {
				if cfg.RootCAs, err = x509.SystemCertPool(); err != nil || cfg.RootCAs == nil {
					cfg.RootCAs = x509.NewCertPool()
				}
			}
			pem, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("registry %s certificates: %w", host, err)
			}
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("registry %s certificates: no certificate in %s", host, p)
			}
		case ".cert":
			key := strings.TrimSuffix(p, ".cert") + ".key"
			pair, err := tls.LoadX509KeyPair(p, key)
			if err != nil {
				return nil, fmt.Errorf("registry %s client certificate %s: %w", host, p, err)
			}
			cfg.Certificates = append(cfg.Certificates, pair)
		}
	}
	return cfg, nil
}

// mirrorHost is the host[:port] of a mirror URL.
func mirrorHost(m string) (string, error) {
	s := strings.TrimSuffix(m, "/")
	if rest, ok := strings.CutPrefix(s, "https://"); ok {
		s = rest
	} else if rest, ok := strings.CutPrefix(s, "http://"); ok {
		s = rest
	} else {
		return "", fmt.Errorf("registry mirror %q: want http:// or https:// URL", m)
	}
	if s == "" || strings.Contains(s, "/") {
		return "", fmt.Errorf("registry mirror %q: want a URL without a path", m)
	}
	return s, nil
}

// endpoints are the references to try for full, in order: Docker Hub's
// mirrors, then the origin.
func (r *Registries) endpoints(full string) ([]name.Reference, error) {
	origin, err := r.parse(full)
	if err != nil {
		return nil, err
	}
	if origin.Context().RegistryStr() != name.DefaultRegistry {
		return []name.Reference{origin}, nil
	}
	var refs []name.Reference
	path := strings.TrimPrefix(full, "docker.io/")
	for _, m := range r.cfg.Mirrors {
		host, err := mirrorHost(m)
		if err != nil {
			continue
		}
		if ref, err := r.parse(host + "/" + path); err == nil {
			refs = append(refs, ref)
		}
	}
	return append(refs, origin), nil
}

// registryError turns a registry's answer into one line naming what was
// asked for, classified with errdefs.
func registryError(err error) error {
	var te *transport.Error
	if !asTransportError(err, &te) {
		// go-containerregistry checks a blob's digest as it is read.
		if err != nil && strings.Contains(err.Error(), "error verifying sha256 checksum") {
			return errdefs.ErrFailedPrecondition.WithMessage("digest mismatch: " + err.Error())
		}
		return err
	}
	code := transport.ErrorCode("")
	msg := ""
	if len(te.Errors) > 0 {
		code, msg = te.Errors[0].Code, te.Errors[0].Message
	}
	switch {
	case code == transport.ManifestUnknownErrorCode:
		return errdefs.ErrNotFound.WithMessage("manifest unknown")
	case code == transport.NameUnknownErrorCode:
		return errdefs.ErrNotFound.WithMessage("repository name not known to registry")
	case code == transport.BlobUnknownErrorCode:
		return errdefs.ErrNotFound.WithMessage("blob unknown to registry")
	case te.StatusCode == http.StatusNotFound:
		return errdefs.ErrNotFound.WithMessage("not found")
	case code == transport.UnauthorizedErrorCode || te.StatusCode == http.StatusUnauthorized:
		return errdefs.ErrUnauthenticated.WithMessage("unauthorized: authentication required (berth login?)")
	case code == transport.DeniedErrorCode || te.StatusCode == http.StatusForbidden:
		return errdefs.ErrPermissionDenied.WithMessage("denied: requested access to the resource is denied")
	}
	if msg != "" {
		return fmt.Errorf("%s: %s", strings.ToLower(string(code)), msg)
	}
	return fmt.Errorf("registry answered %d %s", te.StatusCode, http.StatusText(te.StatusCode))
}

func asTransportError(err error, te **transport.Error) bool { return errors.As(err, te) }
