// Package netns creates, enters and removes network namespaces that are
// kept alive by a bind mount on a file (under <run-root>/netns/), the way
// `ip netns add` does, so a namespace exists before the container's process
// and can be handed to the OCI runtime and to CNI plugins by path.
//
// It owns nothing else: no interfaces besides loopback, no routes.
// Every function is safe for concurrent use: each works on a goroutine
// locked to its own OS thread and never changes the namespace of a thread
// it hands back to the Go scheduler.
package netns

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/containerd/errdefs"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Path is where the namespace of a container is bind-mounted.
func Path(dir, name string) string { return filepath.Join(dir, name) }

// New creates a network namespace with loopback up and bind-mounts it at
// dir/name. An existing dir/name is ErrAlreadyExists.
//
// Loopback is brought up here, not by the CNI loopback plugin: the same
// effect without an exec per container.
func New(dir, name string) (string, error) {
	path := Path(dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create netns %s: %w", name, err)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("create netns %s: %w", name, errdefs.ErrAlreadyExists)
	}
	if err != nil {
		return "", fmt.Errorf("create netns %s: %w", name, err)
	}
	f.Close()

	errc := make(chan error, 1)
	go func() {
		// The thread is never unlocked: once it has left the process's
		// namespace it must not run other goroutines, and a goroutine that
		// exits while locked takes its thread with it.
		runtime.LockOSThread()
		errc <- func() error {
			if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
				return fmt.Errorf("unshare: %w", err)
			}
			src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
			if err := unix.Mount(src, path, "none", unix.MS_BIND, ""); err != nil {
				return fmt.Errorf("bind mount: %w", err)
			}
			lo, err := netlink.LinkByName("lo")
			if err != nil {
				return fmt.Errorf("loopback: %w", err)
			}
			if err := netlink.LinkSetUp(lo); err != nil {
				return fmt.Errorf("loopback up: %w", err)
			}
			return nil
		}()
	}()
	if err := <-errc; err != nil {
		_ = Remove(path)
		return "", fmt.Errorf("create netns %s: %w", name, err)
	}
	return path, nil
}

// Remove unmounts and deletes the namespace at path; the kernel frees it
// (and the veths in it) once no process is in it. A missing path is not
// an error, so Remove is idempotent.
func Remove(path string) error {
	err := unix.Unmount(path, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove netns %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove netns %s: %w", path, err)
	}
	return nil
}

// List returns the names of the namespace files in dir.
func List(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Do runs fn on an OS thread inside the namespace at path, waiting for it.
// Sockets fn opens stay in that namespace after Do returns.
func Do(path string, fn func() error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("enter netns %s: %w", path, err)
	}
	defer f.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: the thread dies with the goroutine rather than
		// returning, in the wrong namespace, to the scheduler.
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("enter netns %s: %w", path, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}
