package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/runc"
	"github.com/berth-dev/berth/runtime/runc/monitor"
)

// replica picks the container of a service with the replica number index
// (1 by default), as --index does.
func replica(cs []runtime.Container, service string, index int) (runtime.Container, error) {
	if index <= 0 {
		index = 1
	}
	for _, c := range cs {
		if c.Labels["io.berth.number"] == strconv.Itoa(index) {
			return c, nil
		}
	}
	return runtime.Container{}, fmt.Errorf("service %s has no container with index %d: %w", service, index, errdefs.ErrNotFound)
}

func newComposeExecCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	var (
		detach, noTTY, privileged bool
		envs                      []string
		workdir, user             string
		index                     int
	)
	cmd := &cobra.Command{
		Use:   "exec [OPTIONS] SERVICE COMMAND [ARGS...]",
		Short: "Run a command in a running container of a service",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			l := &lifecycleCmd{env: env, sf: sf}
			_, _, w, cs, err := l.targets(cmd.Context(), args[:1], false)
			if err != nil {
				return err
			}
			if w.Procs == nil {
				return errUnsupported("exec")
			}
			c, err := replica(cs, args[0], index)
			if err != nil {
				return err
			}
			tty := !noTTY && !detach && isTerminal(os.Stdin) && isTerminal(os.Stdout)
			o := runc.ExecOptions{
				Cmd: args[1:], Env: envs, WorkingDir: workdir, User: user, Tty: tty, Detach: detach,
				Privileged: privileged, Stdin: cmd.InOrStdin(), Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr(),
			}
			if detach {
				o.Stdin = nil
			}
			if tty {
				restore, err := makeRaw(os.Stdin)
				if err != nil {
					return err
				}
				defer restore()
			}
			code, err := w.Procs.Exec(cmd.Context(), c.ID, o)
			switch {
			case err != nil && (errdefs.IsNotFound(err) || errdefs.IsFailedPrecondition(err)):
				return err
			case err != nil:
				return &exitError{code: 126, err: err}
			case code == 126 || code == 127:
				return &exitError{code: code, err: fmt.Errorf("exec %q failed", args[1])}
			case code != 0:
				return &exitError{code: code}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.SetInterspersed(false)
	fs.BoolVarP(&detach, "detach", "d", false, "run the command in the background")
	fs.BoolVarP(&noTTY, "no-TTY", "T", false, "do not allocate a pseudo-TTY (the default when stdin is not a terminal)")
	fs.BoolVar(&privileged, "privileged", false, "give extended privileges to the process")
	stringArrayVarP(fs, &envs, "env", "e", nil, "set an environment variable (NAME=VALUE); repeatable")
	fs.StringVarP(&workdir, "workdir", "w", "", "working directory of the command")
	fs.StringVarP(&user, "user", "u", "", "run as this user")
	fs.IntVar(&index, "index", 1, "the replica, when the service has several")
	return cmd
}

func newComposeTopCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "top [SERVICE...]",
		Short: "Show the processes of the stack's containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			l := &lifecycleCmd{env: env, sf: sf}
			_, _, w, cs, err := l.targets(cmd.Context(), args, false)
			if err != nil {
				return err
			}
			if w.Procs == nil {
				return errUnsupported("top")
			}
			out := cmd.OutOrStdout()
			for _, c := range cs {
				if c.Status != runtime.StatusRunning {
					continue
				}
				ps, err := w.Procs.Top(cmd.Context(), c.ID, nil)
				if err != nil {
					return fmt.Errorf("top %s: %w", c.Name, err)
				}
				fmt.Fprintf(out, "%s\n%s\n", c.Name, strings.TrimRight(ps, "\n"))
			}
			return nil
		},
	}
}

func newComposeWaitCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	var downProject bool
	cmd := &cobra.Command{
		Use:   "wait SERVICE...",
		Short: "Wait for the containers of services to stop, print their exit codes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l := &lifecycleCmd{env: env, sf: sf}
			p, _, w, cs, err := l.targets(cmd.Context(), args, false)
			if err != nil {
				return err
			}
			if w.Procs == nil {
				return errUnsupported("wait")
			}
			var last int
			for _, c := range cs {
				code, err := w.Procs.Wait(cmd.Context(), c.ID)
				if err != nil {
					return fmt.Errorf("wait %s: %w", c.Name, err)
				}
				fmt.Fprintln(cmd.OutOrStdout(), code)
				last = code
			}
			if downProject && p != nil {
				return stopStack(cmd.Context(), w.Runtime, p, nil, nil, nil)
			}
			if last != 0 {
				return &exitError{code: last}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&downProject, "down-project", false, "stop the stack when the first container stops")
	return cmd
}

// portMapper is the runtime's view of a container's live port bindings
// (runtime/runc's; the fake has none, and port falls back to the config).
type portMapper interface {
	State(ctx context.Context, ref string) (*runc.Record, monitor.State, error)
	PortMap(ctx context.Context, rec *runc.Record, st monitor.State) runc.PortMap
}

func newComposePortCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	var index int
	var proto string
	cmd := &cobra.Command{
		Use:   "port [OPTIONS] SERVICE PRIVATE_PORT",
		Short: "Print the public address of a service's port",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			l := &lifecycleCmd{env: env, sf: sf}
			_, _, w, cs, err := l.targets(cmd.Context(), args[:1], false)
			if err != nil {
				return err
			}
			c, err := replica(cs, args[0], index)
			if err != nil {
				return err
			}
			port, err := strconv.ParseUint(args[1], 10, 16)
			if err != nil {
				return fmt.Errorf("private port %q: %w", args[1], errdefs.ErrInvalidArgument)
			}
			private := fmt.Sprintf("%d/%s", port, proto)
			if pm, ok := w.Runtime.(portMapper); ok {
				// What is bound now: a random host port (`- "80"`) is
				// known only once the container runs.
				rec, st, err := pm.State(cmd.Context(), c.ID)
				if err != nil {
					return err
				}
				lines, ok := runc.PortLines(pm.PortMap(cmd.Context(), rec, st), private)
				if !ok {
					return fmt.Errorf("no port %s published for %s: %w", private, c.Name, errdefs.ErrNotFound)
				}
				fmt.Fprintln(cmd.OutOrStdout(), lines[0]) // Compose prints the first binding
				return nil
			}
			for _, b := range c.Config.Ports {
				if fmt.Sprintf("%d/%s", b.ContainerPort, cmp.Or(b.Protocol, "tcp")) == private && b.HostPort != 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "%s:%d\n", cmp.Or(b.HostIP, "0.0.0.0"), b.HostPort)
					return nil
				}
			}
			return fmt.Errorf("no port %s published for %s: %w", private, c.Name, errdefs.ErrNotFound)
		},
	}
	cmd.Flags().IntVar(&index, "index", 1, "the replica, when the service has several")
	cmd.Flags().StringVar(&proto, "protocol", "tcp", "tcp or udp")
	return cmd
}

func newComposePullCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	var quiet, ignoreFailures, includeDeps bool
	var policy string
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] [SERVICE...]",
		Short: "Pull the images of the stack's services",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if policy != "always" && policy != "missing" {
				return fmt.Errorf("--policy %q: want always or missing: %w", policy, errdefs.ErrInvalidArgument)
			}
			p, err := loadProject(ctx, sf)
			if err != nil {
				return err
			}
			if err := checkServices(p, args); err != nil {
				return err
			}
			w, err := env.open(env.g)
			if err != nil {
				return err
			}
			if w.Puller == nil {
				return errUnsupported("pull")
			}
			mode := "auto"
			if quiet {
				mode = "quiet"
			}
			prog, err := newProgress(mode, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			services := args
			if len(services) == 0 || includeDeps {
				services = targetedServices(p, args, false)
			}
			var errs []error
			for _, svc := range services {
				if err := pullImages(ctx, w, p, []string{svc}, policy, prog); err != nil {
					errs = append(errs, err)
				}
			}
			if len(errs) > 0 && !ignoreFailures {
				return errors.Join(errs...)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "pull without printing progress")
	cmd.Flags().BoolVar(&ignoreFailures, "ignore-pull-failures", false, "pull what it can and ignore images that fail")
	cmd.Flags().BoolVar(&includeDeps, "include-deps", false, "also pull the images of the dependencies")
	cmd.Flags().StringVar(&policy, "policy", "always", "always or missing")
	return cmd
}
