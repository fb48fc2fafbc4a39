package runc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/internal/overlay"
)

// UpperDir is the container's overlay upper directory: its changes.
func (r *Runtime) UpperDir(id string) string { return filepath.Join(r.containerDir(id), "upper") }

// WithRootfs calls fn with the container's merged root filesystem: the live
// mount of a running container, or a temporary mount of a stopped one
// (unmounted when fn returns). It holds the container's operation lock, so
// the container is not started or removed meanwhile.
func (r *Runtime) WithRootfs(ctx context.Context, ref string, fn func(rec *Record, dir string) error) error {
	rec, unlock, err := r.lockedRecord(ctx, ref)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := r.observe(ctx, rec)
	if err != nil {
		return err
	}
	dir := r.rootfs(rec.ID)
	if !isActive(st.Status) || !isMounted(dir) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if !isMounted(dir) {
			if err := r.mountRootfs(rec, dir); err != nil {
				return fmt.Errorf("mount %s: %w", rec.Name, err)
			}
			defer overlay.Unmount(dir)
		}
	}
	return fn(rec, dir)
}

// mountRootfs mounts the container's layers under its upper directory at
// dir. A --rm container's upper directory goes with it, so its mount is
// ephemeral (overlay.MountEphemeral): its exit does not wait for the
// filesystem's sync that unmounting a plain overlay makes.
func (r *Runtime) mountRootfs(rec *Record, dir string) error {
	mount := overlay.Mount
	if rec.AutoRemove {
		mount = overlay.MountEphemeral
	}
	return mount(dir, rec.Layers, r.UpperDir(rec.ID), filepath.Join(r.containerDir(rec.ID), "work"))
}
