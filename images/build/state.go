package build

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/images"
	"github.com/containerd/errdefs"
	"github.com/docker/go-connections/nat"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// state is an image being built: its layers and its config. It is what a
// cache record holds and what each step turns into the next.
type state struct {
	Layers []layerRef    `json:"layers"`
	Config v1.ConfigFile `json:"config"`
}

// layerRef is a stored layer, by its identities in the image store.
type layerRef struct {
	ChainID   v1.Hash         `json:"chainID"`
	DiffID    v1.Hash         `json:"diffID"`
	Digest    v1.Hash         `json:"digest"`
	MediaType types.MediaType `json:"mediaType"`
	BlobSize  int64           `json:"blobSize"`
	Size      int64           `json:"size"`
}

func refOf(l images.Layer) layerRef {
	return layerRef{ChainID: l.ChainID, DiffID: l.DiffID, Digest: l.Digest, MediaType: l.MediaType, BlobSize: l.BlobSize, Size: l.Size}
}

// stateOf is the state of a stored image.
func stateOf(im *images.Image) (*state, error) {
	st := &state{}
	for _, l := range im.Layers {
		st.Layers = append(st.Layers, refOf(l))
	}
	if im.Config != nil {
		b, err := json.Marshal(im.Config)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &st.Config); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// clone is a deep copy, so that steps never share maps or slices.
func (st *state) clone() *state {
	b, err := json.Marshal(st)
	if err != nil {
		panic(err) // the state is plain data
	}
	var c state
	if err := json.Unmarshal(b, &c); err != nil {
		panic(err)
	}
	return &c
}

// digest identifies the state for cache keys: its layers and its config,
// history and times included, so that a re-executed step invalidates all
// the steps after it.
func (st *state) digest() string {
	b, err := json.Marshal(st)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// addLayer stacks l on the state.
func (st *state) addLayer(l images.Layer) {
	st.Layers = append(st.Layers, refOf(l))
	st.Config.RootFS.Type = "layers"
	st.Config.RootFS.DiffIDs = append(st.Config.RootFS.DiffIDs, l.DiffID)
}

// topChain is the chain ID of the top layer, zero for none.
func (st *state) topChain() v1.Hash {
	if len(st.Layers) == 0 {
		return v1.Hash{}
	}
	return st.Layers[len(st.Layers)-1].ChainID
}

// history records a step: createdBy as Docker shows it in `history`.
func (st *state) history(now time.Time, createdBy string, empty bool) {
	t := v1.Time{Time: now.UTC()}
	st.Config.Created = t
	st.Config.History = append(st.Config.History, v1.History{Created: t, CreatedBy: createdBy, EmptyLayer: empty, Comment: "berth build"})
}

// setEnv sets KEY=value in env, replacing an earlier KEY.
func setEnv(env []string, key, value string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			env[i] = key + "=" + value
			return env
		}
	}
	return append(env, key+"="+value)
}

func lookupEnv(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, _ := strings.Cut(env[i], "="); k == key {
			return v, true
		}
	}
	return "", false
}

// defaultShell is the shell of shell-form instructions without SHELL.
var defaultShell = []string{"/bin/sh", "-c"}

func (st *state) shell() []string {
	if len(st.Config.Config.Shell) > 0 {
		return slices.Clone(st.Config.Config.Shell)
	}
	return slices.Clone(defaultShell)
}

// withShell is a command line of the shell or exec form as it is run.
func (st *state) withShell(c instructions.ShellDependantCmdLine) []string {
	if c.PrependShell {
		return append(st.shell(), strings.Join(c.CmdLine, " "))
	}
	return slices.Clone(c.CmdLine)
}

// resolvePath is p relative to the working directory, as WORKDIR, COPY and
// ADD destinations are.
func (st *state) resolvePath(p string) string {
	if path.IsAbs(p) {
		return p
	}
	wd := st.Config.Config.WorkingDir
	if wd == "" {
		wd = "/"
	}
	r := path.Join(wd, p)
	if strings.HasSuffix(p, "/") && !strings.HasSuffix(r, "/") {
		r += "/"
	}
	return r
}

// applyConfig applies an instruction that changes only the config (all but
// FROM, RUN, COPY, ADD and ARG). cmdSet says whether CMD was set earlier in
// the stage: ENTRYPOINT clears an inherited CMD, not the stage's own.
func (st *state) applyConfig(c instructions.Command, cmdSet bool) error {
	cfg := &st.Config.Config
	switch c := c.(type) {
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			cfg.Env = setEnv(cfg.Env, kv.Key, kv.Value)
		}
	case *instructions.LabelCommand:
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		for _, kv := range c.Labels {
			cfg.Labels[kv.Key] = kv.Value
		}
	case *instructions.MaintainerCommand:
		st.Config.Author = c.Maintainer
	case *instructions.CmdCommand:
		cfg.Cmd = st.withShell(c.ShellDependantCmdLine)
		cfg.ArgsEscaped = false
	case *instructions.EntrypointCommand:
		cfg.Entrypoint = st.withShell(c.ShellDependantCmdLine)
		if !cmdSet {
			cfg.Cmd = nil
		}
	case *instructions.ExposeCommand:
		specs := slices.Clone(c.Ports)
		ports, _, err := nat.ParsePortSpecs(specs)
		if err != nil {
			return fmt.Errorf("EXPOSE: %w: %w", err, errdefs.ErrInvalidArgument)
		}
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		for p := range ports {
			cfg.ExposedPorts[string(p)] = struct{}{}
		}
	case *instructions.UserCommand:
		cfg.User = c.User
	case *instructions.VolumeCommand:
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range c.Volumes {
			if v == "" {
				return fmt.Errorf("VOLUME: empty path: %w", errdefs.ErrInvalidArgument)
			}
			cfg.Volumes[v] = struct{}{}
		}
	case *instructions.StopSignalCommand:
		cfg.StopSignal = c.Signal
	case *instructions.HealthCheckCommand:
		h := c.Health
		cfg.Healthcheck = &v1.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
	case *instructions.ShellCommand:
		cfg.Shell = slices.Clone(c.Shell)
	case *instructions.OnbuildCommand:
		cfg.OnBuild = append(cfg.OnBuild, c.Expression)
	case *instructions.WorkdirCommand:
		cfg.WorkingDir = st.resolvePath(c.Path)
		if cfg.WorkingDir != "/" {
			cfg.WorkingDir = strings.TrimSuffix(cfg.WorkingDir, "/")
		}
	default:
		return fmt.Errorf("%s: not a config instruction: %w", c.Name(), errdefs.ErrInvalidArgument)
	}
	return nil
}

// manifest is the OCI manifest of the state with its config blob cfg.
func (st *state) manifest(cfg []byte) v1.Manifest {
	sum := sha256.Sum256(cfg)
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config: v1.Descriptor{
			MediaType: types.OCIConfigJSON,
			Size:      int64(len(cfg)),
			Digest:    v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])},
		},
		Layers: []v1.Descriptor{},
	}
	for _, l := range st.Layers {
		mt := l.MediaType
		if mt == "" {
			mt = types.OCIUncompressedLayer
		}
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: mt, Size: l.BlobSize, Digest: l.Digest})
	}
	return m
}
