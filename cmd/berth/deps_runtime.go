package main

import (
	"context"
	"os"
	"path/filepath"

	ggcr "github.com/google/go-containerregistry/pkg/v1"
	ispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/runc"
	"github.com/berth-dev/berth/volumes/local"
)

// newRuntime wires the runc runtime from the global flags: state under
// --root and --run-root, the OCI runtime binary of --runtime, the
// berth-shim monitor next to this executable (or in PATH), the local
// image store, CNI networks (network/cni) and local volumes (volumes/local).
func newRuntime(g *globals) (*runc.Runtime, error) {
	exe, _ := os.Executable()
	shim := ""
	if exe != "" {
		shim = filepath.Join(filepath.Dir(exe), "berth-shim")
	}
	vols, err := local.New(g.root)
	if err != nil {
		return nil, err
	}
	self := func(args ...string) []string {
		return append([]string{exe, "--root", g.root, "--run-root", g.runRoot, "--runtime", g.runtime}, args...)
	}
	return runc.New(runc.Options{
		Root: g.root, RunRoot: g.runRoot, Runtime: g.runtime, Monitor: shim,
		Images:   &storeImages{g: g},
		Networks: networkManager(g),
		Volumes:  vols,
		// --rm -d: the monitor removes the container (and its anonymous
		// volumes, as Docker does) after its final exit
		// by running this very binary, detached.
		AutoRemove: func(id string) []string { return self("rm", "-f", "-v", id) },
		// A container on networks: the monitor has its address, ports and
		// names released after its final exit, as Docker's daemon does.
		Release: func(id string) []string { return self("container", "release-network", id) },
		// A build's RUN step on the default network is attached too.
		Attached: buildAttached(g),
	}), nil
}

// storeImages adapts the image store to the runtime's narrow Images. It
// opens the store on first use: most container commands never need it.
type storeImages struct {
	g *globals
	s *images.Store
}

func (a *storeImages) Image(ctx context.Context, ref string) (runc.Image, error) {
	if a.s == nil {
		s, err := openImageStore(a.g)
		if err != nil {
			return runc.Image{}, err
		}
		a.s = s
	}
	im, err := a.s.Image(ctx, ref)
	if err != nil {
		return runc.Image{}, err
	}
	out := runc.Image{ID: im.ID, Layers: im.LayerDirs()}
	if im.Config != nil {
		out.Config, out.Healthcheck = imageConfig(im.Config.Config)
	}
	return out, nil
}

// imageConfig converts go-containerregistry's config (Docker's superset)
// into the OCI image config plus Docker's HEALTHCHECK.
func imageConfig(c ggcr.Config) (ispec.ImageConfig, *runtime.Healthcheck) {
	out := ispec.ImageConfig{
		User: c.User, Env: c.Env, Entrypoint: c.Entrypoint, Cmd: c.Cmd,
		WorkingDir: c.WorkingDir, Labels: c.Labels, StopSignal: c.StopSignal,
		ExposedPorts: c.ExposedPorts, Volumes: c.Volumes,
	}
	var hc *runtime.Healthcheck
	if h := c.Healthcheck; h != nil && len(h.Test) > 0 {
		hc = &runtime.Healthcheck{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
	}
	return out, hc
}

// containerImageConfig is the image config `commit` gives the new image:
// the container's own (merged) command, environment, user and so on, as
// docker commit keeps them.
func containerImageConfig(rec *runc.Record) *ggcr.Config {
	c := rec.Config
	out := &ggcr.Config{
		Cmd: c.Cmd, Entrypoint: c.Entrypoint, Env: c.Env, User: c.User, WorkingDir: c.WorkingDir,
		Labels: c.Labels, StopSignal: c.StopSignal, Tty: c.Tty, OpenStdin: c.OpenStdin,
		ExposedPorts: rec.ImageConfig.ExposedPorts, Volumes: rec.ImageConfig.Volumes,
	}
	if hc := c.Healthcheck; hc != nil {
		out.Healthcheck = &ggcr.HealthConfig{Test: hc.Test, Interval: hc.Interval, Timeout: hc.Timeout, StartPeriod: hc.StartPeriod, Retries: hc.Retries}
	}
	return out
}

// containersUseImage is the image store's in-use hook (images.Options.InUse)
// backed by the container records: an image some container was created
// from, in any state, is in use. It must not open the image store itself.
func containersUseImage(g *globals) func(imageID string) bool {
	rt := runc.New(runc.Options{Root: g.root, RunRoot: g.runRoot, Runtime: g.runtime})
	return func(imageID string) bool {
		used, err := rt.ImagesInUse()
		return err != nil || used[imageID] // unsure: keep the image
	}
}
