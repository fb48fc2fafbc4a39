//go:build !lean

package images

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	configtypes "github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// DockerHubServer is the key Docker's config.json keeps Docker Hub's
// credentials under.
const DockerHubServer = "https://index.docker.io/v1/"

// dockerKeychain reads credentials from Docker's config.json in dir (its
// auths, credsStore and credHelpers), as docker does, read afresh for every
// registry so a login in another process is seen.
type dockerKeychain struct{ dir string }

func (k dockerKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	cf, err := config.Load(k.dir)
	if err != nil {
		return nil, fmt.Errorf("docker config: %w", err)
	}
	key := target.RegistryStr()
	if key == name.DefaultRegistry {
		key = DockerHubServer
	}
	ac, err := cf.GetAuthConfig(key)
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %w", key, err)
	}
	if ac == (configtypes.AuthConfig{ServerAddress: ac.ServerAddress}) {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(authn.AuthConfig{
		Username: ac.Username, Password: ac.Password, Auth: ac.Auth,
		IdentityToken: ac.IdentityToken, RegistryToken: ac.RegistryToken,
	}), nil
}

// ServerKey is the config.json key of a registry named as the user typed
// it ("", "docker.io", "https://localhost:5000/"): Docker Hub's is
// DockerHubServer, others are host[:port].
func ServerKey(server string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(server, "https://"), "http://")
	s = strings.TrimSuffix(s, "/")
	if h, _, ok := strings.Cut(s, "/"); ok && h != "index.docker.io" {
		s = h
	}
	switch s {
	case "", "docker.io", "index.docker.io", "index.docker.io/v1", "registry-1.docker.io":
		return DockerHubServer
	}
	return s
}

// registryOf is the go-containerregistry name of the registry under key.
func (r *Registries) registryOf(key string) (name.Registry, error) {
	if key == DockerHubServer {
		return name.NewRegistry(name.DefaultRegistry)
	}
	var opts []name.Option
	if r.insecure(key) {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(key, opts...)
	if err != nil {
		return reg, errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid registry %q", key))
	}
	return reg, nil
}

// Login checks user and password against server's registry and, if it
// accepts them, stores them in config.json (or its credential helper) the
// way docker login does. It returns the key they are stored under.
func (r *Registries) Login(ctx context.Context, server, user, password string) (string, error) {
	key := ServerKey(server)
	if user == "" || password == "" {
		return key, errdefs.ErrInvalidArgument.WithMessage("login " + key + ": username and password required")
	}
	reg, err := r.registryOf(key)
	if err != nil {
		return key, err
	}
	if err := r.checkLogin(ctx, reg, &authn.Basic{Username: user, Password: password}); err != nil {
		return key, fmt.Errorf("login %s: %w", key, err)
	}
	cf, err := r.dockerConfig()
	if err != nil {
		return key, err
	}
	ac := configtypes.AuthConfig{Username: user, Password: password, ServerAddress: key}
	if err := cf.GetCredentialsStore(key).Store(ac); err != nil {
		return key, fmt.Errorf("login %s: store credentials: %w", key, err)
	}
	if err := cf.Save(); err != nil {
		return key, fmt.Errorf("login %s: save %s: %w", key, cf.Filename, err)
	}
	return key, nil
}

// checkLogin asks the registry's /v2/ endpoint with auth, going through
// its token service if it has one, as docker login does.
func (r *Registries) checkLogin(ctx context.Context, reg name.Registry, auth authn.Authenticator) error {
	rt, err := transport.NewWithContext(ctx, reg, auth, r, nil)
	if err != nil {
		return registryLoginError(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s://%s/v2/", reg.Scheme(), reg.RegistryStr()), nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return registryLoginError(err)
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return errdefs.ErrUnauthenticated.WithMessage("unauthorized: incorrect username or password")
	}
	return fmt.Errorf("registry answered %s", resp.Status)
}

func registryLoginError(err error) error {
	var te *transport.Error
	if asTransportError(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		return errdefs.ErrUnauthenticated.WithMessage("unauthorized: incorrect username or password")
	}
	return registryError(err)
}

// Logout removes server's credentials from config.json or its credential
// helper. It reports whether there were any.
func (r *Registries) Logout(server string) (string, bool, error) {
	key := ServerKey(server)
	cf, err := r.dockerConfig()
	if err != nil {
		return key, false, err
	}
	store := cf.GetCredentialsStore(key)
	ac, err := store.Get(key)
	if err != nil || (ac.Username == "" && ac.Password == "" && ac.Auth == "" && ac.IdentityToken == "") {
		if _, ok := cf.AuthConfigs[key]; !ok {
			return key, false, nil
		}
	}
	if err := store.Erase(key); err != nil {
		return key, true, fmt.Errorf("logout %s: %w", key, err)
	}
	delete(cf.AuthConfigs, key)
	if err := cf.Save(); err != nil {
		return key, true, fmt.Errorf("logout %s: save %s: %w", key, cf.Filename, err)
	}
	return key, true, nil
}

func (r *Registries) dockerConfig() (*configfile.ConfigFile, error) {
	cf, err := config.Load(r.configDir)
	if err != nil {
		return nil, fmt.Errorf("docker config: %w", err)
	}
	return cf, nil
}
