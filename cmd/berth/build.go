//go:build !lean

package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/images/build"
	"github.com/berth-dev/berth/network/cni"
	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"
)

// newBuilder wires the image builder: berth's image store, its registries
// for base images, the build cache under <root>/build-cache and RUN
// bundles under <run-root>/build. Stacks (up --build, compose build) use it
// too.
func newBuilder(g *globals) (*build.Builder, error) {
	st, err := openImageStore(g)
	if err != nil {
		return nil, err
	}
	b := &build.Builder{
		Store:   st,
		Cache:   &build.Cache{Dir: filepath.Join(g.root, "build-cache")},
		RunRoot: filepath.Join(g.runRoot, "build"),
		TmpDir:  filepath.Join(g.root, "build-cache", "tmp"),
		Runtime: g.runtime,
	}
	b.Pull = func(ctx context.Context, ref, platform string) (string, error) {
		reg, err := openRegistries(g)
		if err != nil {
			return "", err
		}
		// A base pulled for another platform than the local image's does
		// not take its name (BuildKit keeps build bases out of Docker's
		// image store altogether): the name goes back to the local image,
		// and the build uses the pulled one by its ID.
		prev := ""
		if im, err := st.Image(ctx, ref); err == nil && platform != "" && images.CheckPlatform(im, ref, platform) != nil {
			prev = im.ID
		}
		res, err := reg.Pull(ctx, st, ref, images.PullOptions{Platform: platform})
		if err != nil {
			return "", err
		}
		if prev != "" && prev != res.ID {
			// A digest reference names no tag to give back.
			if err := st.Tag(ctx, prev, ref); err != nil && !errdefs.IsInvalidArgument(err) {
				return "", err
			}
		}
		return res.ID, nil
	}
	return b, nil
}

// newBuildNetworks joins RUN steps on the default network to it: a
// namespace under <run-root>/build/netns attached to berth's default bridge
// network, the one `berth run` uses, through the same CNI manager.
func newBuildNetworks(g *globals) cni.NamespaceAttacher {
	return cni.NamespaceAttacher{M: networkManager(g), Dir: buildNetnsDir(g)}
}

type buildFlags struct {
	tags     []string
	file     string
	args     []string
	target   string
	noCache  bool
	pull     bool
	labels   []string
	platform string
	quiet    bool
	progress string
	iidfile  string
	network  string
	secrets  []string
	ssh      []string
}

func newBuildCmd(g *globals) *cobra.Command {
	var f buildFlags
	cmd := &cobra.Command{
		Use:   "build [OPTIONS] PATH | -",
		Short: "Build an image from a Dockerfile",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := buildOptions(f, args[0], cmd.InOrStdin())
			if err != nil {
				return err
			}
			if !f.quiet {
				opts.Progress = cmd.ErrOrStderr()
			}
			opts.Attacher = newBuildNetworks(g)
			b, err := newBuilder(g)
			if err != nil {
				return err
			}
			id, err := b.Build(cmd.Context(), opts)
			if err != nil {
				return err
			}
			if f.iidfile != "" {
				if err := os.WriteFile(f.iidfile, []byte(id), 0o644); err != nil {
					return fmt.Errorf("iidfile: %w", err)
				}
			}
			if f.quiet {
				fmt.Fprintln(cmd.OutOrStdout(), id)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	stringArrayVarP(fl, &f.tags, "tag", "t", nil, "Name and optionally a tag (format: \"name:tag\")")
	fl.StringVarP(&f.file, "file", "f", "", "Name of the Dockerfile (default: \"PATH/Dockerfile\")")
	stringArrayVar(fl, &f.args, "build-arg", nil, "Set build-time variables")
	fl.StringVar(&f.target, "target", "", "Set the target build stage to build")
	fl.BoolVar(&f.noCache, "no-cache", false, "Do not use cache when building the image")
	fl.BoolVar(&f.pull, "pull", false, "Always attempt to pull a newer version of the image")
	stringArrayVar(fl, &f.labels, "label", nil, "Set metadata for an image")
	fl.StringVar(&f.platform, "platform", "", "Set the target platform for the build (os/arch[/variant]; RUN of another architecture needs a binfmt_misc emulator)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "Suppress the build output and print image ID on success")
	fl.StringVar(&f.progress, "progress", "auto", "Set type of progress output (auto, tty, plain, json)")
	fl.StringVar(&f.iidfile, "iidfile", "", "Write the image ID to the file")
	fl.StringVar(&f.network, "network", "default", "Set the networking mode for the RUN instructions during build (default, none, host)")
	stringArrayVar(fl, &f.secrets, "secret", nil, "Secret to expose to the build (format: \"id=mysecret,src=/local/secret\")")
	stringArrayVar(fl, &f.ssh, "ssh", nil, "SSH agent socket to expose to the build (format: \"default|<id>[=<socket>]\")")
	return cmd
}

// buildOptions turns the flags into build.Options; every bad flag is
// reported before anything is read or built.
func buildOptions(f buildFlags, contextArg string, stdin io.Reader) (build.Options, error) {
	opts := build.Options{
		Target: f.target, NoCache: f.noCache, Pull: f.pull, Tags: f.tags,
		Platform: f.platform, Network: f.network,
		Args: map[string]string{}, Labels: map[string]string{}, Secrets: map[string]string{},
	}
	switch f.progress {
	case "auto", "tty", "plain":
	case "json", "rawjson":
		opts.ProgressJSON = true
	default:
		return opts, fmt.Errorf("--progress %q: must be auto, tty, plain or json: %w", f.progress, errdefs.ErrInvalidArgument)
	}
	switch f.network {
	case "", "default", "none", "host":
	default:
		return opts, fmt.Errorf("--network %q: must be default, none or host: %w", f.network, errdefs.ErrInvalidArgument)
	}
	for _, a := range f.args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			// Docker takes the value from the environment, and drops the
			// argument when it is not set there.
			if v, ok = os.LookupEnv(k); !ok {
				continue
			}
		}
		opts.Args[k] = v
	}
	for _, l := range f.labels {
		k, v, _ := strings.Cut(l, "=")
		opts.Labels[k] = v
	}
	for _, s := range f.secrets {
		id, src, err := parseBuildSecret(s)
		if err != nil {
			return opts, err
		}
		opts.Secrets[id] = src
	}
	for _, s := range f.ssh {
		id, sock, err := parseBuildSSH(s, os.Getenv("SSH_AUTH_SOCK"))
		if err != nil {
			return opts, err
		}
		if opts.SSH == nil {
			opts.SSH = map[string]string{}
		}
		opts.SSH[id] = sock
	}
	for _, t := range f.tags {
		if _, err := images.NormalizeTag(t); err != nil {
			return opts, fmt.Errorf("invalid tag %q: %w", t, err)
		}
	}
	if strings.Contains(f.platform, ",") {
		return opts, fmt.Errorf("--platform %q: multi-platform builds are not supported, build one platform at a time: %w", f.platform, errdefs.ErrNotImplemented)
	}
	if f.platform != "" {
		if _, err := v1.ParsePlatform(f.platform); err != nil {
			return opts, fmt.Errorf("--platform %q: %w: %w", f.platform, err, errdefs.ErrInvalidArgument)
		}
	}
	if contextArg == "-" {
		src, err := io.ReadAll(stdin)
		if err != nil {
			return opts, fmt.Errorf("read Dockerfile from stdin: %w", err)
		}
		opts.DockerfileInline = src
		return opts, nil
	}
	abs, err := filepath.Abs(contextArg)
	if err != nil {
		return opts, err
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return opts, fmt.Errorf("unable to prepare context: path %q not found or not a directory: %w", contextArg, errdefs.ErrInvalidArgument)
	}
	opts.ContextDir = abs
	if f.file == "-" {
		src, err := io.ReadAll(stdin)
		if err != nil {
			return opts, fmt.Errorf("read Dockerfile from stdin: %w", err)
		}
		opts.DockerfileInline = src
	} else if f.file != "" {
		if opts.Dockerfile, err = filepath.Abs(f.file); err != nil {
			return opts, err
		}
	}
	return opts, nil
}

// parseBuildSecret parses a --secret flag, id=ID,src=FILE (type=file may
// be given; env= secrets are refused).
func parseBuildSecret(s string) (id, src string, err error) {
	for _, field := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(field, "=")
		switch k {
		case "id":
			id = v
		case "src", "source":
			src = v
		case "env":
			src = "env:" + v
		case "type":
		default:
			return "", "", fmt.Errorf("--secret %q: unknown key %q: %w", s, k, errdefs.ErrInvalidArgument)
		}
	}
	if id == "" || src == "" || strings.HasPrefix(src, "env:") {
		return "", "", fmt.Errorf("--secret %q: need id= and src= (a file): %w", s, errdefs.ErrInvalidArgument)
	}
	return id, src, nil
}

// parseBuildSSH parses an --ssh flag, Docker's default|ID[=SOCKET]: no
// socket means the agent of $SSH_AUTH_SOCK (agent). berth forwards agent
// sockets only, not key files (Docker's ID=KEY,KEY).
func parseBuildSSH(s, agent string) (id, sock string, err error) {
	id, sock, _ = strings.Cut(s, "=")
	if id == "" {
		return "", "", fmt.Errorf("--ssh %q: an ID is required (default|ID[=SOCKET]): %w", s, errdefs.ErrInvalidArgument)
	}
	if sock == "" {
		if sock = agent; sock == "" {
			return "", "", fmt.Errorf("--ssh %s: no socket given and SSH_AUTH_SOCK is not set: %w", s, errdefs.ErrInvalidArgument)
		}
	}
	if strings.Contains(sock, ",") {
		return "", "", fmt.Errorf("--ssh %s: key files are not supported, only an agent's socket: %w", s, errdefs.ErrNotImplemented)
	}
	fi, err := os.Stat(sock)
	if err != nil {
		return "", "", fmt.Errorf("--ssh %s: %w: %w", s, err, errdefs.ErrInvalidArgument)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return "", "", fmt.Errorf("--ssh %s: %s is not a socket (key files are not supported, only an agent's socket): %w", s, sock, errdefs.ErrNotImplemented)
	}
	return id, sock, nil
}
