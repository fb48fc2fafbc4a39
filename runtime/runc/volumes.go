package runc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/ocispec"
	"github.com/berth-dev/berth/volumes"
)

// Volumes is what the runtime needs of the volume driver (volumes/local's
// Manager): a container is recorded as a user of each volume it mounts, so
// `volume rm` refuses a volume in use, and is dropped at its removal.
type Volumes interface {
	Create(ctx context.Context, cfg volumes.Config) (volumes.Volume, error)
	Mount(ctx context.Context, name, containerID string) (string, error)
	Unmount(ctx context.Context, name, containerID string) error
	CopyUp(ctx context.Context, name, srcDir string) error
	Remove(ctx context.Context, name string, force bool) error
}

// VolumeMount is a volume a container mounts, as its record keeps it.
type VolumeMount struct {
	Name   string `json:"name"`
	Target string `json:"target"`
	// Anonymous volumes (`-v /path`, image VOLUMEs) were made for this
	// container; `rm -v` removes them.
	Anonymous bool   `json:"anonymous,omitempty"`
	NoCopy    bool   `json:"noCopy,omitempty"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
	Source    string `json:"source"` // the host directory
}

// mountVolumes makes the container a user of each of its volumes, creating
// anonymous ones for `-v /path` mounts and for the image's VOLUMEs no mount
// covers, and returns them with the target -> host directory map the spec
// generator takes. On error the volumes mounted so far are released.
func (r *Runtime) mountVolumes(ctx context.Context, id string, cfg runtime.Config, imgVolumes []string) (out []VolumeMount, _ map[string]string, err error) {
	type want struct {
		name, target     string
		nocopy, readOnly bool
	}
	var wants []want
	for _, m := range cfg.Mounts {
		if m.Type == "volume" {
			wants = append(wants, want{m.Source, path.Clean(m.Target), m.NoCopy, m.ReadOnly})
		}
	}
	for _, v := range imgVolumes {
		wants = append(wants, want{target: v})
	}
	if len(wants) == 0 {
		return nil, nil, nil
	}
	if r.opts.Volumes == nil {
		return nil, nil, errdefs.ErrFailedPrecondition.WithMessage("volumes need the volume driver, which this runtime was built without")
	}
	defer func() {
		if err != nil {
			r.releaseVolumes(ctx, id, out, true)
			out = nil
		}
	}()
	dirs := map[string]string{}
	for _, w := range wants {
		vm := VolumeMount{Name: w.name, Target: w.target, NoCopy: w.nocopy, ReadOnly: w.readOnly}
		if vm.Name == "" {
			v, err := r.opts.Volumes.Create(ctx, volumes.Config{})
			if err != nil {
				return out, nil, fmt.Errorf("create: anonymous volume for %s: %w", w.target, err)
			}
			vm.Name, vm.Anonymous = v.Name, true
		}
		src, err := r.opts.Volumes.Mount(ctx, vm.Name, id)
		if err != nil {
			if vm.Anonymous {
				_ = r.opts.Volumes.Remove(ctx, vm.Name, true)
			}
			return out, nil, fmt.Errorf("create: volume %s: %w", vm.Name, err)
		}
		vm.Source = src
		out = append(out, vm)
		dirs[w.target] = src
	}
	return out, dirs, nil
}

// releaseVolumes drops the container as a user of its volumes and, with
// removeAnonymous, removes the anonymous ones no other container uses.
func (r *Runtime) releaseVolumes(ctx context.Context, id string, vms []VolumeMount, removeAnonymous bool) error {
	if r.opts.Volumes == nil {
		return nil
	}
	var errs []error
	for _, vm := range vms {
		if err := r.opts.Volumes.Unmount(ctx, vm.Name, id); err != nil {
			errs = append(errs, err)
			continue
		}
		if removeAnonymous && vm.Anonymous {
			if err := r.opts.Volumes.Remove(ctx, vm.Name, false); err != nil && !errdefs.IsNotFound(err) && !errdefs.IsFailedPrecondition(err) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// copyUpVolumes fills each new volume from the image's content at its
// mount path, once (the driver keeps a marker), unless nocopy. It runs at
// start, with the container's root filesystem mounted at rootfs.
func (r *Runtime) copyUpVolumes(ctx context.Context, rec *Record, rootfs string) error {
	for _, vm := range rec.Volumes {
		if vm.NoCopy {
			continue
		}
		src, ok := inRoot(rootfs, vm.Target)
		if !ok {
			continue
		}
		if err := r.opts.Volumes.CopyUp(ctx, vm.Name, src); err != nil {
			return fmt.Errorf("copy up volume %s: %w", vm.Name, err)
		}
	}
	return nil
}

// inRoot is target inside rootfs when every component is a real directory
// (no symlink: nothing outside the root is ever copied); false when the
// path is missing or goes through a symlink, so nothing is copied.
func inRoot(rootfs, target string) (string, bool) {
	p := rootfs
	for _, c := range strings.Split(strings.Trim(path.Clean(target), "/"), "/") {
		if c == "" {
			continue
		}
		p = filepath.Join(p, c)
		fi, err := os.Lstat(p)
		if err != nil || !fi.IsDir() {
			return "", false
		}
	}
	return p, true
}

// imageVolumes are the image's VOLUMEs that get anonymous volumes.
func imageVolumes(cfg runtime.Config, img Image) []string {
	return ocispec.ImageVolumes(cfg, img.Config)
}
