package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/runc"
	"github.com/berth-dev/berth/watch"
)

// rootfsAccess is the runtime's access to a container's root filesystem
// (runc.Runtime.WithRootfs): the live overlay mount of a running
// container, with the container's record for its mounts.
type rootfsAccess interface {
	WithRootfs(ctx context.Context, ref string, fn func(rec *runc.Record, dir string) error) error
}

// restarter is the runtime's restart of one container (runc.Runtime).
type restarter interface {
	Restart(ctx context.Context, ref string, timeout *time.Duration) error
}

// engineOps are watch.ContainerOps on the real engine: files go straight
// into the container's root filesystem (no exec, no tar stream), the
// develop.watch exec hook runs as `compose exec` does, and restart is the
// runtime's.
type engineOps struct {
	w   *stackWorld
	out io.Writer // the exec hooks' output
}

func (e engineOps) List(ctx context.Context) ([]runtime.Container, error) {
	return e.w.Runtime.List(ctx)
}

func (e engineOps) Sync(ctx context.Context, id string, copies []watch.Copy) error {
	fsys, ok := e.w.Runtime.(rootfsAccess)
	if !ok {
		return errUnsupported("develop.watch sync")
	}
	return fsys.WithRootfs(ctx, id, func(rec *runc.Record, dir string) error {
		return syncFiles(containerMounts(rec, dir), copies)
	})
}

func (e engineOps) Exec(ctx context.Context, id string, hook types.ServiceHook) error {
	if e.w.Procs == nil {
		return errUnsupported("develop.watch exec")
	}
	var env []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range hook.Environment {
			if !yield(k) {
				return
			}
		}
	}) {
		if v := hook.Environment[k]; v != nil {
			env = append(env, k+"="+*v)
		}
	}
	out := e.out
	if out == nil {
		out = io.Discard
	}
	code, err := e.w.Procs.Exec(ctx, id, runc.ExecOptions{
		Cmd: hook.Command, Env: env, WorkingDir: hook.WorkingDir, User: hook.User, Privileged: hook.Privileged,
		Stdout: out, Stderr: out,
	})
	switch {
	case err != nil && (errdefs.IsNotFound(err) || errdefs.IsFailedPrecondition(err)):
		return err // the container went or stopped: worth a retry
	case err != nil:
		return watch.Permanent(err)
	case code != 0:
		// The command ran and failed: running it again on the same files
		// fails again; the next change tries.
		return watch.Permanent(fmt.Errorf("exit status %d", code))
	}
	return nil
}

func (e engineOps) Restart(ctx context.Context, id string) error {
	if r, ok := e.w.Runtime.(restarter); ok {
		return r.Restart(ctx, id, nil)
	}
	if err := e.w.Runtime.Stop(ctx, id, nil); err != nil {
		return err
	}
	return e.w.Runtime.Start(ctx, id)
}

// fileMount is where a container path lives on the host: Dir is the host
// directory that is Target in the container (the root filesystem is "/").
// A tmpfs has no Dir.
type fileMount struct {
	Target string
	Dir    string
	Tmpfs  bool
}

// containerMounts are the container's root filesystem (its merged overlay
// at rootfs) and its bind mounts and volumes, whose files are on the host
// and not in the overlay: a sync into a volume writes into the volume.
func containerMounts(rec *runc.Record, rootfs string) []fileMount {
	out := []fileMount{{Target: "/", Dir: rootfs}}
	for _, m := range rec.Config.Mounts {
		switch m.Type {
		case "bind":
			out = append(out, fileMount{Target: path.Clean(m.Target), Dir: m.Source})
		case "tmpfs":
			out = append(out, fileMount{Target: path.Clean(m.Target), Tmpfs: true})
		}
	}
	for t := range rec.Config.Tmpfs {
		out = append(out, fileMount{Target: path.Clean(t), Tmpfs: true})
	}
	for _, v := range rec.Volumes {
		out = append(out, fileMount{Target: path.Clean(v.Target), Dir: v.Source})
	}
	return out
}

// resolveMount is the mount holding the container path p (the deepest
// one) and p relative to it ("." for the mount point itself).
func resolveMount(mounts []fileMount, p string) (fileMount, string) {
	p = path.Clean("/" + p)
	best, rel := fileMount{}, ""
	for _, m := range mounts {
		var r string
		switch {
		case m.Target == p:
			r = "."
		case m.Target == "/":
			r = strings.TrimPrefix(p, "/")
		case strings.HasPrefix(p, m.Target+"/"):
			r = strings.TrimPrefix(p, m.Target+"/")
		default:
			continue
		}
		if len(m.Target) >= len(best.Target) {
			best, rel = m, r
		}
	}
	return best, rel
}

// syncFiles carries out copies, in order, in the container whose file
// systems are mounts. Every path in the container is opened through
// os.Root, so no symlink in the container leads out of it. A copy stops at
// the first failure; the watcher retries the whole batch.
func syncFiles(mounts []fileMount, copies []watch.Copy) error {
	roots := map[string]*os.Root{}
	defer func() {
		for _, r := range roots {
			r.Close()
		}
	}()
	for _, c := range copies {
		target, err := resolveParents(mounts, c.ContainerPath)
		if err != nil {
			return fmt.Errorf("sync %s: %w", c.ContainerPath, err)
		}
		m, rel := resolveMount(mounts, target)
		if m.Tmpfs {
			return fmt.Errorf("sync %s: it is on a tmpfs mount, which berth cannot reach from outside the container: %w", c.ContainerPath, errdefs.ErrNotImplemented)
		}
		root := roots[m.Dir]
		if root == nil {
			var err error
			if root, err = os.OpenRoot(m.Dir); err != nil {
				return fmt.Errorf("sync %s: %w", c.ContainerPath, err)
			}
			roots[m.Dir] = root
		}
		if c.Delete {
			err = removeIn(root, rel)
		} else {
			err = copyIn(root, c.HostPath, rel)
		}
		if err != nil {
			return fmt.Errorf("sync %s: %w", c.ContainerPath, err)
		}
	}
	return nil
}

// resolveParents resolves the symlinks in the directories of the
// container path p (not in its last element) as the container sees them:
// an absolute link is relative to the container's root (/app -> /srv/app
// is common in images), and a link may lead into a volume or bind mount.
// os.Root, which every write still goes through, would refuse an absolute
// link as leading out of the root.
func resolveParents(mounts []fileMount, p string) (string, error) {
	dir, base := path.Split(path.Clean("/" + p))
	todo := strings.Split(strings.Trim(dir, "/"), "/")
	cur := "/"
	for hops := 0; len(todo) > 0; {
		part := todo[0]
		todo = todo[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, part)
		m, rel := resolveMount(mounts, next)
		if m.Dir == "" || rel == "." {
			cur = next
			continue
		}
		host := filepath.Join(m.Dir, filepath.FromSlash(rel))
		fi, err := os.Lstat(host)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			cur = next // a missing directory is made later
			continue
		}
		if hops++; hops > 40 {
			return "", fmt.Errorf("too many levels of symbolic links in %s: %w", p, errdefs.ErrInvalidArgument)
		}
		link, err := os.Readlink(host)
		if err != nil {
			return "", err
		}
		if path.IsAbs(link) {
			cur = "/"
		}
		todo = append(strings.Split(link, "/"), todo...)
	}
	return path.Join(cur, base), nil
}

// removeIn removes rel (all of it) under root; a missing path is done.
// The mount point itself is emptied, not removed.
func removeIn(root *os.Root, rel string) error {
	if rel != "." {
		return root.RemoveAll(rel)
	}
	d, err := root.Open(".")
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := root.RemoveAll(n); err != nil {
			return err
		}
	}
	return nil
}

// copyIn puts the host file, symlink or directory src at rel under root,
// replacing what is there; a src gone meanwhile removes rel (the newer
// state wins). A regular file is written beside its place and renamed
// over it, so a process in the container never reads half a file. It
// keeps the owner of the file it replaces; a new one gets its directory's
// owner (the user a Dockerfile gave the app directory, not root).
func copyIn(root *os.Root, src, rel string) error {
	fi, err := os.Lstat(src)
	if errors.Is(err, fs.ErrNotExist) {
		return removeIn(root, rel)
	}
	if err != nil {
		return err
	}
	if dst, err := root.Stat(rel); err == nil && os.SameFile(fi, dst) {
		return nil // a bind mount of the source itself: nothing to do
	}
	if rel != "." {
		if err := mkdirParents(root, path.Dir(rel)); err != nil {
			return err
		}
	}
	switch {
	case fi.IsDir():
		if old, err := root.Lstat(rel); err == nil && !old.IsDir() {
			if err := root.Remove(rel); err != nil {
				return err
			}
		}
		if err := root.Mkdir(rel, fi.Mode().Perm()); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		entries, err := os.ReadDir(src)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := copyIn(root, filepath.Join(src, e.Name()), path.Join(rel, e.Name())); err != nil {
				return err
			}
		}
		return nil
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := root.RemoveAll(rel); err != nil {
			return err
		}
		return root.Symlink(target, rel)
	case fi.Mode().IsRegular():
		return copyFile(root, src, rel, fi)
	}
	return nil // devices, sockets and fifos are not synced
}

func copyFile(root *os.Root, src, rel string, fi fs.FileInfo) error {
	if rel == "." {
		return fmt.Errorf("%s is a file and its target a mount point: %w", src, errdefs.ErrInvalidArgument)
	}
	in, err := os.Open(src)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return removeIn(root, rel)
		}
		return err
	}
	defer in.Close()
	tmp := path.Join(path.Dir(rel), ".berth-sync-"+strconv.Itoa(os.Getpid())+"-"+path.Base(rel))
	out, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Chmod(tmp, fi.Mode().Perm()) // not the umask's
	}
	if err == nil {
		err = root.Chtimes(tmp, fi.ModTime(), fi.ModTime())
	}
	if err == nil {
		owner := rel
		if _, lerr := root.Lstat(rel); lerr != nil {
			owner = path.Dir(rel)
		}
		if st, lerr := root.Lstat(owner); lerr == nil {
			if sys, ok := st.Sys().(*syscall.Stat_t); ok {
				err = root.Lchown(tmp, int(sys.Uid), int(sys.Gid))
			}
		}
	}
	if err == nil {
		if old, lerr := root.Lstat(rel); lerr == nil && old.IsDir() {
			err = root.RemoveAll(rel)
		}
	}
	if err == nil {
		err = root.Rename(tmp, rel)
	}
	if err != nil {
		root.Remove(tmp)
	}
	return err
}

// mkdirParents makes dir and its missing parents, each owned like the
// directory it is made in.
func mkdirParents(root *os.Root, dir string) error {
	if dir == "." || dir == "/" {
		return nil
	}
	if fi, err := root.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory: %w", dir, errdefs.ErrFailedPrecondition)
		}
		return nil
	}
	if err := mkdirParents(root, path.Dir(dir)); err != nil {
		return err
	}
	if err := root.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if st, err := root.Stat(path.Dir(dir)); err == nil {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			root.Lchown(dir, int(sys.Uid), int(sys.Gid))
		}
	}
	return nil
}
