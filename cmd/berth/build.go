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
	"github.com/berth-dev/berth/network/netns"
	"github.com/containerd/errdefs"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"
)

// addBuildCommands adds `berth build` and `berth builder prune`.
func addBuildCommands(root *cobra.Command, g *globals) {
	root.AddCommand(newBuildCmd(g))
	builder := &cobra.Command{Use: "builder", Short: "Manage the build cache"}
	builder.AddCommand(newBuilderPruneCmd(g))
	root.AddCommand(builder)
}

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

func buildNetnsDir(g *globals) string { return filepath.Join(g.runRoot, "build", "netns") }

// buildAttached tells the network clean-up (rm, network rm and prune) that
// an attachment is a RUN step's, whose namespace is there while it runs:
// not a vanished container's to take away. A killed build's is reaped by
// the next build.
func buildAttached(g *globals) func(id string) bool {
	dir := buildNetnsDir(g)
	return func(id string) bool {
		if !strings.HasPrefix(id, build.RunIDPrefix) {
			return false
		}
		_, err := os.Stat(netns.Path(dir, id))
		return err == nil
	}
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

func newBuilderPruneCmd(g *globals) *cobra.Command {
	var all, force bool
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Remove build cache",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !force {
				warning := "WARNING! This will remove all dangling build cache."
				if all {
					warning = "WARNING! This will remove all build cache."
				}
				if !confirmed(cmd.OutOrStdout(), cmd.InOrStdin(), warning) {
					return nil
				}
			}
			ctx := cmd.Context()
			st, err := openImageStore(g)
			if err != nil {
				return err
			}
			// Plain prune deletes Docker's dangling build cache: records
			// with a layer no named image has (an rmi'd image's steps, an
			// intermediate stage's). A record of a named image's layers
			// (FROM base, ENV ...) costs no layer space and stays.
			var keep func(chains []string) bool
			if !all {
				named, err := namedImageChains(ctx, st)
				if err != nil {
					return err
				}
				keep = func(chains []string) bool {
					for _, c := range chains {
						if !named[c] {
							return false
						}
					}
					return true
				}
			}
			c := &build.Cache{Dir: filepath.Join(g.root, "build-cache")}
			res, err := c.Prune(all, keep)
			if err != nil {
				return err
			}
			// The store keeps the layers cache records name (KeepLayers):
			// collecting now frees those of the deleted records.
			freed, err := st.GC(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Deleted build cache objects: %d records, %d cache mounts\nTotal reclaimed space: %s\n", res.Records, res.Mounts, buildCacheSize(res.Bytes+freed))
			return nil
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Remove all unused build cache, not just dangling ones")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	return cmd
}

// namedImageChains is the set of layer chain IDs (sha256:...) of the images
// that have a name.
func namedImageChains(ctx context.Context, st *images.Store) (map[string]bool, error) {
	ims, err := st.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("builder prune: %w", err)
	}
	named := map[string]bool{}
	for _, im := range ims {
		if im.Dangling() {
			continue
		}
		for _, l := range im.Layers {
			named[l.ChainID.String()] = true
		}
	}
	return named, nil
}

func buildCacheSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2fGB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2fMB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.2fkB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}
