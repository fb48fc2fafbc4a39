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
			if err := overlay.Mount(dir, rec.Layers, r.UpperDir(rec.ID), filepath.Join(r.containerDir(rec.ID), "work")); err != nil {
				return fmt.Errorf("mount %s: %w", rec.Name, err)
			}
			defer overlay.Unmount(dir)
		}
	}
	return fn(rec, dir)
}
