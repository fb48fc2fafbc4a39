package build

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/hostresolv"
	"github.com/berth-dev/berth/internal/overlay"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/ocispec"
	ispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// runSpec is one RUN: a process in a throw-away container whose root is
// the layers below under a fresh upper directory.
type runSpec struct {
	args    []string
	env     []string
	workdir string
	user    string
	network string // "none", "host" or "default"
	// attacher joins a "default" run to the default network.
	attacher NetworkAttacher
	mounts   []runtime.Mount
	lowers   []string // layer directories, bottom-first
	stdout   io.Writer
	stderr   io.Writer
}

// ExitError is a RUN whose process exited non-zero.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit code %d", e.Code) }

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// runOnce runs rs with the OCI runtime and leaves the container's changes
// in upper (which must exist, empty, with work beside it on the same file
// system). It is berth's "run once and wait": the bundle is a temporary
// directory under the run root, `runc run` runs in the foreground with the
// process's output streamed to rs.stdout and rs.stderr, and everything
// (the runc container, the overlay mount, the bundle) is removed before it
// returns, whatever happened. Cancelling ctx kills the container.
func (b *Builder) runOnce(ctx context.Context, rs runSpec, upper, work string) (err error) {
	if err := os.MkdirAll(b.RunRoot, 0o700); err != nil {
		return err
	}
	bundle, err := os.MkdirTemp(b.RunRoot, "run-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bundle)
	unlock, err := lockDir(bundle)
	if err != nil {
		return err
	}
	defer unlock()
	rootfs := filepath.Join(bundle, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		return err
	}
	lowers := rs.lowers
	if len(lowers) == 0 {
		empty := filepath.Join(bundle, "empty")
		if err := os.Mkdir(empty, 0o755); err != nil {
			return err
		}
		lowers = []string{empty}
	}
	if err := overlay.Mount(rootfs, lowers, upper, work); err != nil {
		return err
	}
	defer overlay.Unmount(rootfs)

	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return err
	}
	defer root.Close()
	// The ID is on disk before anything is made for it, so that the next
	// build can reap what a killed one left (the container, its network).
	id := RunIDPrefix + randomID()
	if err := os.WriteFile(filepath.Join(bundle, "id"), []byte(id), 0o600); err != nil {
		return err
	}
	var net runNet
	if rs.network == "default" {
		// Released after the container is gone (runc delete below runs
		// first), also when the build is cancelled.
		defer rs.attacher.Release(context.WithoutCancel(ctx), id)
		if net.netnsPath, net.ips, err = rs.attacher.Attach(ctx, id); err != nil {
			return fmt.Errorf("attach to the default network (--network none builds without one): %w", err)
		}
	}
	stubs, err := writeBundle(bundle, rootfs, root, rs, id, net)
	if err != nil {
		return err
	}

	runcRoot := filepath.Join(b.RunRoot, "runc")
	rt := b.Runtime
	if rt == "" {
		rt = "runc"
	}
	cmd := exec.CommandContext(ctx, rt, "--root", runcRoot, "run", "--bundle", bundle, id)
	cmd.Stdout, cmd.Stderr = rs.stdout, rs.stderr
	cmd.Cancel = func() error {
		// Signals sent to runc reach the container's PID 1, which ignores
		// those it has no handler for: kill the container itself.
		exec.Command(rt, "--root", runcRoot, "kill", id, "KILL").Run()
		return cmd.Process.Signal(unix.SIGTERM)
	}
	cmd.WaitDelay = 10 * time.Second
	// If berth dies, runc dies with it; the next build reaps the container.
	cmd.SysProcAttr = &unix.SysProcAttr{Pdeathsig: unix.SIGKILL}
	b.runs.Add(1)
	runErr := cmd.Run()
	exec.Command(rt, "--root", runcRoot, "delete", "--force", id).Run()
	if err := overlay.Unmount(rootfs); err != nil {
		return err
	}
	removeStubs(upper, stubs)
	if runErr != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ee *exec.ExitError
		if errors.As(runErr, &ee) && ee.ExitCode() > 0 {
			return &ExitError{Code: ee.ExitCode()}
		}
		return fmt.Errorf("%s run: %w", rt, runErr)
	}
	return nil
}

// runNet is the network namespace of a run on the default network.
type runNet struct {
	netnsPath string
	ips       []netip.Addr
}

// writeBundle writes the run's bundle: /etc/hosts (and on the default
// network /etc/resolv.conf) and config.json, and creates a missing working
// directory in the root file system mounted at rootfs (open as root). It
// returns the mount points runc will create that the image lacks, to be
// removed from the layer afterwards.
func writeBundle(bundle, rootfs string, root *os.Root, rs runSpec, id string, net runNet) (stubs []string, err error) {
	v6 := slices.ContainsFunc(net.ips, netip.Addr.Is6)
	hosts, err := ocispec.HostsFile(ocispec.Hosts{Hostname: "buildsandbox", IPs: net.ips, NoIPv6: len(net.ips) > 0 && !v6})
	if err != nil {
		return nil, err
	}
	hostsPath := filepath.Join(bundle, "hosts")
	if err := os.WriteFile(hostsPath, hosts, 0o644); err != nil {
		return nil, err
	}
	opts := ocispec.Options{
		RootPath:    rootfs,
		RootFS:      root.FS(),
		Hostname:    "buildsandbox",
		HostsPath:   hostsPath,
		NetNSPath:   net.netnsPath,
		CgroupsPath: "/berth-build/" + id,
		CgroupV2:    cgroupV2(),
	}
	if rs.network == "default" {
		// The host's name servers, as Docker's default bridge gives.
		resolv, _, err := ocispec.ResolvConf(hostresolv.Read(), ocispec.DNS{IPv6: v6, NoFallback: hostresolv.Sandboxed()})
		if err != nil {
			return nil, err
		}
		opts.ResolvConfPath = filepath.Join(bundle, "resolv.conf")
		if err := os.WriteFile(opts.ResolvConfPath, resolv, 0o644); err != nil {
			return nil, err
		}
	}
	cfg := runtime.Config{
		Cmd:         rs.args,
		Entrypoint:  []string{},
		Env:         rs.env,
		WorkingDir:  rs.workdir,
		User:        rs.user,
		NetworkMode: rs.network,
		Mounts:      rs.mounts,
	}
	if rs.network == "host" {
		opts.HostsPath = "/etc/hosts"
		opts.ResolvConfPath = "/etc/resolv.conf"
		opts.Hostname = ""
	}
	spec, err := ocispec.Generate(cfg, ispec.ImageConfig{}, opts)
	if err != nil {
		return nil, err
	}
	// runc creates mount points the image lacks; they must not end up in
	// the layer. Note which paths exist now, to remove the others after.
	for _, m := range spec.Mounts {
		for p := path.Clean(m.Destination); p != "/"; p = path.Dir(p) {
			if _, err := root.Lstat(strings.TrimPrefix(p, "/")); err != nil {
				stubs = append(stubs, p)
			}
		}
	}
	if rs.workdir != "" {
		if _, err := root.Lstat(strings.TrimPrefix(path.Clean(rs.workdir), "/")); err != nil {
			// Docker creates a missing working directory and keeps it.
			if err := root.MkdirAll(strings.TrimPrefix(path.Clean(rs.workdir), "/"), 0o755); err != nil {
				return nil, fmt.Errorf("working directory %s: %w", rs.workdir, err)
			}
		}
	}
	data, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o600); err != nil {
		return nil, err
	}
	return stubs, nil
}

// removeStubs deletes, from an upper directory, the empty files and
// directories runc made as mount points (deepest first), and the parents
// that were copied up only to hold them.
func removeStubs(upper string, stubs []string) {
	for _, p := range stubs { // deepest first: ancestors follow their children
		host := filepath.Join(upper, p)
		fi, err := os.Lstat(host)
		if err != nil {
			continue
		}
		if fi.IsDir() && !isOpaque(host) || fi.Mode().IsRegular() && fi.Size() == 0 {
			os.Remove(host) // fails, as it should, on a non-empty directory
		}
	}
	for _, p := range stubs {
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			host := filepath.Join(upper, d)
			if isOpaque(host) || os.Remove(host) != nil {
				break
			}
		}
	}
}

// view makes the layers (bottom-first) readable as one tree: the layer
// itself when there is one, a read-only overlay mount for more, an empty
// directory for none. release undoes it.
func (b *Builder) view(lowers []string) (dir string, release func(), err error) {
	if len(lowers) == 1 {
		return lowers[0], func() {}, nil
	}
	if err := os.MkdirAll(b.RunRoot, 0o700); err != nil {
		return "", nil, err
	}
	tmp, err := os.MkdirTemp(b.RunRoot, "view-")
	if err != nil {
		return "", nil, err
	}
	unlock, err := lockDir(tmp)
	if err != nil {
		os.RemoveAll(tmp)
		return "", nil, err
	}
	mnt := filepath.Join(tmp, "rootfs")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		unlock()
		os.RemoveAll(tmp)
		return "", nil, err
	}
	release = func() { overlay.Unmount(mnt); unlock(); os.RemoveAll(tmp) }
	if len(lowers) == 0 {
		return mnt, release, nil
	}
	if err := overlay.Mount(mnt, lowers, "", ""); err != nil {
		release()
		return "", nil, err
	}
	return mnt, release, nil
}

// cgroupV2 reports whether the host has the unified cgroup hierarchy only.
func cgroupV2() bool {
	var st unix.Statfs_t
	return unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}

// writableCopy makes src writable for one RUN without changing it, as
// BuildKit does for `--mount=type=bind,rw`, whose writes are discarded: a
// directory is the lower of an overlay mount whose upper directory, under
// scratch, is thrown away; a file is copied into scratch. release unmounts
// (scratch itself goes with the run's temporary directory).
func writableCopy(src, scratch string) (string, func(), error) {
	fi, err := os.Stat(src)
	if err != nil {
		return "", nil, err
	}
	if err := os.Mkdir(scratch, 0o700); err != nil {
		return "", nil, err
	}
	if !fi.IsDir() {
		dst := filepath.Join(scratch, "file")
		if err := copyFile(src, dst, fi.Mode().Perm()); err != nil {
			return "", nil, err
		}
		return dst, func() {}, nil
	}
	mnt, upper, work := filepath.Join(scratch, "mnt"), filepath.Join(scratch, "upper"), filepath.Join(scratch, "work")
	for _, d := range []string{mnt, upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return "", nil, err
		}
	}
	// The mount's root takes the upper directory's owner and mode: the
	// source's, as a plain bind would show.
	if err := os.Chmod(upper, fi.Mode().Perm()); err != nil {
		return "", nil, err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if err := os.Lchown(upper, int(st.Uid), int(st.Gid)); err != nil {
			return "", nil, err
		}
	}
	if err := overlay.MountEphemeral(mnt, []string{src}, upper, work); err != nil {
		return "", nil, err
	}
	return mnt, func() { overlay.Unmount(mnt) }, nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
