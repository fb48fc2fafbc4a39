package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/images"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/runc"
)

// Docker's exit statuses for `run`: 125 when the engine fails, 126 when the
// command cannot be invoked, 127 when it is not found.
const exitEngine = 125

func engineError(err error) error {
	var se *runc.StartError
	if errors.As(err, &se) {
		return &exitError{code: se.Code, err: err}
	}
	return &exitError{code: exitEngine, err: err}
}

func newCreateCmd(g *globals) *cobra.Command {
	f := &containerFlags{}
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create a new container",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, opts, err := f.config(cmd.Flags(), args[0], args[1:])
			if err != nil {
				return engineError(err)
			}
			if err := f.pullImage(cmd, g, args[0]); err != nil {
				return engineError(err)
			}
			rt, err := newRuntime(g)
			if err != nil {
				return engineError(err)
			}
			id, err := rt.CreateContainer(cmd.Context(), cfg, opts)
			if err != nil {
				return engineError(err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), id)
			return nil
		},
	}
	f.register(cmd.Flags())
	return cmd
}

func newRunCmd(g *globals) *cobra.Command {
	f := &containerFlags{}
	var (
		detach     bool
		attach     []string
		detachKeys string
		sigProxy   bool
	)
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create and run a new container from an image",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cfg, opts, err := f.config(cmd.Flags(), args[0], args[1:])
			if err != nil {
				return engineError(err)
			}
			keys, err := parseDetachKeys(detachKeys)
			if err != nil {
				return engineError(err)
			}
			if detach && len(attach) > 0 {
				return engineError(errors.New("conflicting options: cannot specify both --attach and --detach"))
			}
			streams, err := attachStreams(attach, f.interactive)
			if err != nil {
				return engineError(err)
			}
			opts.StdinOnce = f.interactive && !detach && streams.stdin
			if err := f.pullImage(cmd, g, args[0]); err != nil {
				return engineError(err)
			}
			rt, err := newRuntime(g)
			if err != nil {
				return engineError(err)
			}
			// The container's monitor starts while the container is made
			// (after the pull, which the lean berth hands to berth-full).
			id := runc.NewID()
			rt.PrepareMonitor(id)
			defer rt.DropMonitor()
			opts.ID = id
			id, err = rt.CreateContainer(ctx, cfg, opts)
			if err != nil {
				return engineError(err)
			}
			if detach {
				if err := rt.Start(ctx, id); err != nil {
					if f.rm {
						_ = rt.Remove(context.Background(), id, runtime.RemoveOptions{Force: true, RemoveVolumes: true})
					}
					return engineError(err)
				}
				fmt.Fprintln(cmd.OutOrStdout(), id)
				return nil
			}
			if err := rt.StartContainer(ctx, id, runc.StartOptions{Attach: true}); err != nil {
				if f.rm {
					_ = rt.Remove(context.Background(), id, runtime.RemoveOptions{Force: true, RemoveVolumes: true})
				}
				return engineError(err)
			}
			streams.tty, streams.keys, streams.sigProxy, streams.removes = f.tty, keys, sigProxy, f.rm
			code, detached, err := attachSession(ctx, rt, id, streams)
			if detached {
				return nil
			}
			if f.rm {
				// The CLI removes the container at once, also when its
				// process failed to start; the monitor's removal after the
				// exit covers a CLI that was killed or detached.
				if rerr := rt.Remove(context.Background(), id, runtime.RemoveOptions{Force: true, RemoveVolumes: true}); rerr != nil && !errdefs.IsNotFound(rerr) && err == nil {
					err = rerr
				}
			}
			if err != nil {
				return engineError(err)
			}
			if code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
	f.register(cmd.Flags())
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "Run container in background and print container ID")
	stringArrayVarP(cmd.Flags(), &attach, "attach", "a", nil, "Attach to STDIN, STDOUT or STDERR")
	cmd.Flags().StringVar(&detachKeys, "detach-keys", "ctrl-p,ctrl-q", "Override the key sequence for detaching a container")
	cmd.Flags().BoolVar(&sigProxy, "sig-proxy", true, "Proxy received signals to the process")
	return cmd
}

// pullImage makes the image of a run or create local as Docker's --pull
// says: missing pulls it only when there is no local image (ensureImage),
// always pulls it again, never leaves it to create to report "No such
// image". With --platform the pull is for that platform and a local image
// for another platform is refused, as Docker refuses it. The pull's output
// goes to stderr, as in Docker, so that stdout stays the container's (or
// its ID with -d); --quiet drops it.
func (f *containerFlags) pullImage(cmd *cobra.Command, g *globals, ref string) error {
	progress := cmd.ErrOrStderr()
	if f.quiet {
		progress = io.Discard
	}
	if _, err := images.ParsePlatform(f.platform); err != nil {
		return err
	}
	switch f.pull {
	case "missing":
		_, err := ensurePlatformImage(cmd, g, ref, f.platform, progress)
		return err
	case "never":
		if f.platform == "" {
			return nil
		}
		return checkLocalPlatform(cmd, g, ref, f.platform)
	case "always":
		return pullAgain(cmd, g, ref, f.platform, progress)
	}
	return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf(`invalid pull option: %q: must be one of "always", "missing" or "never"`, f.pull))
}

// checkLocalPlatform refuses a local image ref for another platform than
// platform; a missing image is left to create to report.
func checkLocalPlatform(cmd *cobra.Command, g *globals, ref, platform string) error {
	s, err := openImageStore(g)
	if err != nil {
		return err
	}
	im, err := s.Image(cmd.Context(), ref)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return images.CheckPlatform(im, ref, platform)
}

// ensurePlatformImage returns the ID of the local image ref names, pulling
// it first if there is none, as docker run and docker compose up do:
// "Unable to find image" and the pull's progress go to progress (stderr
// for run). With a platform (os/arch[/variant]) a missing image is pulled
// for it and a local image for another platform is refused
// (errdefs.ErrFailedPrecondition), as docker run --platform does.
func ensurePlatformImage(cmd *cobra.Command, g *globals, ref, platform string, progress io.Writer) (string, error) {
	s, err := openImageStore(g)
	if err != nil {
		return "", err
	}
	if platform == "" {
		// The index alone: run's fast path reads no manifest or config.
		id, err := s.Resolve(cmd.Context(), ref)
		if err == nil || !errdefs.IsNotFound(err) {
			return id, err
		}
	} else {
		im, err := s.Image(cmd.Context(), ref)
		if err == nil {
			return im.ID, images.CheckPlatform(im, ref, platform)
		}
		if !errdefs.IsNotFound(err) {
			return "", err
		}
	}
	return pullMissing(cmd, g, s, ref, platform, progress)
}

// streams says what an attached session copies.
type streams struct {
	stdin, stdout, stderr bool
	tty, sigProxy         bool
	keys                  []byte
	removes               bool // the session removes the container after (run --rm)
}

func attachStreams(attach []string, interactive bool) (streams, error) {
	if len(attach) == 0 {
		return streams{stdin: interactive, stdout: true, stderr: true}, nil
	}
	var s streams
	for _, a := range attach {
		switch strings.ToLower(a) {
		case "stdin":
			s.stdin = true
		case "stdout":
			s.stdout = true
		case "stderr":
			s.stderr = true
		default:
			return s, fmt.Errorf("invalid argument %q for --attach: valid streams are STDIN, STDOUT and STDERR", a)
		}
	}
	return s, nil
}

// attachSession copies the terminal or stdio to and from the container
// until its process exits, and returns its exit code; detached is true when
// the user typed the detach keys.
func attachSession(ctx context.Context, rt *runc.Runtime, id string, s streams) (code int, detached bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := make(chan struct{})
	defer close(stop)
	o := runc.AttachOptions{Removes: s.removes}
	var dr *detachReader
	if s.stdin {
		var in io.Reader = os.Stdin
		if s.tty {
			if isTerminal(os.Stdin) {
				if restore, err := makeRaw(os.Stdin); err == nil {
					defer restore()
				}
			}
			dr = newDetachReader(os.Stdin, s.keys)
			in = dr
			go func() {
				select {
				case <-dr.hit:
					cancel()
				case <-stop:
				}
			}()
		}
		o.Stdin = in
	}
	if s.stdout {
		o.Stdout = os.Stdout
	}
	if s.stderr {
		o.Stderr = os.Stderr
		if s.tty {
			o.Stderr = nil
		}
	}
	if s.tty && isTerminal(os.Stdout) {
		o.Resize = terminalSizes(os.Stdout, stop)
	}
	if s.sigProxy && !s.tty {
		sigs := make(chan os.Signal, 4)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
		defer signal.Stop(sigs)
		go func() {
			for {
				select {
				case <-stop:
					return
				case sg := <-sigs:
					_ = rt.Kill(context.Background(), id, fmt.Sprint(int(sg.(syscall.Signal))))
				}
			}
		}()
	}
	code, exited, err := rt.Attach(ctx, id, o)
	if err != nil {
		return 0, false, err
	}
	if dr != nil {
		select {
		case <-dr.hit:
			return 0, true, nil
		default:
		}
	}
	if !exited {
		code, err = rt.Wait(context.Background(), id)
	}
	return code, false, err
}

func newStartCmd(g *globals) *cobra.Command {
	var (
		attach, interactive bool
		detachKeys          string
	)
	cmd := &cobra.Command{
		Use:   "start [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Start one or more stopped containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if attach || interactive {
				if len(args) > 1 {
					return errors.New("you cannot start and attach multiple containers at once")
				}
				keys, err := parseDetachKeys(detachKeys)
				if err != nil {
					return err
				}
				rec, _, err := rt.State(ctx, args[0])
				if err != nil {
					return err
				}
				if err := rt.StartContainer(ctx, rec.ID, runc.StartOptions{Attach: true}); err != nil {
					return engineError(err)
				}
				s := streams{stdin: interactive && rec.Config.OpenStdin, stdout: true, stderr: true, tty: rec.Config.Tty, keys: keys, sigProxy: true}
				code, _, err := attachSession(ctx, rt, rec.ID, s)
				if err != nil {
					return err
				}
				if code != 0 {
					return &exitError{code: code}
				}
				return nil
			}
			return eachArg(cmd, args, func(ref string) error {
				if err := rt.Start(ctx, ref); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), ref)
				return nil
			})
		},
	}
	cmd.Flags().BoolVarP(&attach, "attach", "a", false, "Attach STDOUT/STDERR and forward signals")
	cmd.Flags().BoolVarP(&interactive, "interactive", "i", false, "Attach container's STDIN")
	cmd.Flags().StringVar(&detachKeys, "detach-keys", "ctrl-p,ctrl-q", "Override the key sequence for detaching a container")
	return cmd
}

func newAttachCmd(g *globals) *cobra.Command {
	var (
		noStdin    bool
		detachKeys string
		sigProxy   bool
	)
	cmd := &cobra.Command{
		Use:   "attach [OPTIONS] CONTAINER",
		Short: "Attach local standard input, output, and error streams to a running container",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			keys, err := parseDetachKeys(detachKeys)
			if err != nil {
				return err
			}
			rec, _, err := rt.State(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			s := streams{stdin: !noStdin && rec.Config.OpenStdin, stdout: true, stderr: true, tty: rec.Config.Tty, keys: keys, sigProxy: sigProxy}
			code, _, err := attachSession(cmd.Context(), rt, rec.ID, s)
			if err != nil {
				return err
			}
			if code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&noStdin, "no-stdin", false, "Do not attach STDIN")
	cmd.Flags().StringVar(&detachKeys, "detach-keys", "ctrl-p,ctrl-q", "Override the key sequence for detaching a container")
	cmd.Flags().BoolVar(&sigProxy, "sig-proxy", true, "Proxy all received signals to the process")
	return cmd
}

var _ = slices.Contains[[]string]
