package build

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/flock"
	"github.com/berth-dev/berth/internal/overlay"
	"golang.org/x/sys/unix"
)

// Every temporary directory of a build (a RUN's bundle, its upper
// directory, a stage's view) holds a lock file for as long as its owner
// lives. A build killed before it could clean up leaves the directory, maybe
// a mount and a runc container; the next build reaps them.

// lockDir takes dir's lock; the returned func releases it.
func lockDir(dir string) (func(), error) {
	l, err := flock.Acquire(context.Background(), filepath.Join(dir, ".lock"))
	if err != nil {
		return nil, err
	}
	return func() { l.Unlock() }, nil
}

// staleAge is how old an unlocked directory must be to be reaped: a new
// one may not be locked yet.
const staleAge = time.Minute

// reap removes what dead builds left in the run root and the temp dir:
// runc containers (their IDs are in the bundles), their networks (through
// net, when the build has one), mounts, directories.
func (b *Builder) reap(net NetworkAttacher) {
	for _, root := range []string{b.RunRoot, b.TmpDir} {
		if root == "" {
			continue
		}
		ents, err := os.ReadDir(root)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if !e.IsDir() || !(strings.HasPrefix(e.Name(), "run-") || strings.HasPrefix(e.Name(), "view-")) {
				continue
			}
			dir := filepath.Join(root, e.Name())
			if fi, err := e.Info(); err != nil || time.Since(fi.ModTime()) < staleAge {
				continue
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // try once: a live owner holds the lock
			l, err := flock.Acquire(ctx, filepath.Join(dir, ".lock"))
			if err != nil {
				continue
			}
			if id, err := os.ReadFile(filepath.Join(dir, "id")); err == nil {
				rt := b.Runtime
				if rt == "" {
					rt = "runc"
				}
				exec.Command(rt, "--root", filepath.Join(b.RunRoot, "runc"), "delete", "--force", strings.TrimSpace(string(id))).Run()
				if net != nil {
					net.Release(context.Background(), strings.TrimSpace(string(id)))
				}
			}
			overlay.Unmount(filepath.Join(dir, "rootfs"))
			overlay.Unmount(dir)
			unmountUnder(dir) // a rw bind's overlay, anything else
			os.RemoveAll(dir)
			l.Unlock()
		}
	}
}

// unmountUnder detaches every mount below dir, deepest first, so that
// removing dir never reaches into a mounted tree.
func unmountUnder(dir string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var points []string
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			points = append(points, f[4])
		}
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	for _, p := range points {
		unix.Unmount(p, unix.MNT_DETACH)
	}
}
