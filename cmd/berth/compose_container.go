package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/runtime"
)

// The compose commands here name a service where Docker's container
// commands name a container: they find the service's container (replica
// --index) and run Docker's command on it, so the two never differ.

// serviceContainer is the name of replica index of a service of the stack.
func serviceContainer(ctx context.Context, env *stackEnv, sf *stackFlags, service string, index int) (string, error) {
	l := &lifecycleCmd{env: env, sf: sf}
	_, _, _, cs, err := l.targets(ctx, []string{service}, false)
	if err != nil {
		return "", err
	}
	c, err := replica(cs, service, index)
	if err != nil {
		return "", err
	}
	return c.Name, nil
}

// delegate runs one of Docker's container commands with args, on cmd's
// streams.
func delegate(cmd, inner *cobra.Command, args []string) error {
	inner.SetArgs(args)
	inner.SetOut(cmd.OutOrStdout())
	inner.SetErr(cmd.ErrOrStderr())
	inner.SetIn(cmd.InOrStdin())
	inner.SilenceErrors, inner.SilenceUsage = true, true
	return inner.ExecuteContext(cmd.Context())
}

// cpArgs turns `SERVICE:PATH` in a cp argument into `CONTAINER:PATH`;
// exactly one of src and dst names the service.
func cpArgs(src, dst string, container func(service string) (string, error)) ([]string, error) {
	out := []string{src, dst}
	found := 0
	for i, a := range out {
		svc, path, ok := strings.Cut(a, ":")
		if !ok || svc == "" || strings.ContainsAny(svc, "/.") {
			continue
		}
		name, err := container(svc)
		if err != nil {
			return nil, err
		}
		out[i] = name + ":" + path
		found++
	}
	if found != 1 {
		return nil, fmt.Errorf("cp: name the service in exactly one of SRC and DEST (SERVICE:PATH): %w", errdefs.ErrInvalidArgument)
	}
	return out, nil
}

func newComposeCpCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	var index int
	var archive, follow bool
	cmd := &cobra.Command{
		Use:   "cp [OPTIONS] SERVICE:SRC_PATH DEST_PATH|-\n  berth compose cp [OPTIONS] SRC_PATH|- SERVICE:DEST_PATH",
		Short: "Copy files between a service's container and the local filesystem",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			translated, err := cpArgs(args[0], args[1], func(svc string) (string, error) {
				return serviceContainer(cmd.Context(), env, sf, svc, index)
			})
			if err != nil {
				return err
			}
			var flags []string
			if archive {
				flags = append(flags, "-a")
			}
			if follow {
				flags = append(flags, "-L")
			}
			return delegate(cmd, newCpCmd(env.g), append(flags, translated...))
		},
	}
	cmd.Flags().IntVar(&index, "index", 1, "the replica, when the service has several")
	cmd.Flags().BoolVarP(&archive, "archive", "a", false, "archive mode (copy all uid/gid information)")
	cmd.Flags().BoolVarP(&follow, "follow-link", "L", false, "always follow symbolic links in SRC_PATH")
	return cmd
}

func newComposeExportCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	var index int
	var output string
	cmd := &cobra.Command{
		Use:   "export [OPTIONS] SERVICE",
		Short: "Export a service container's filesystem as a tar archive",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := serviceContainer(cmd.Context(), env, sf, args[0], index)
			if err != nil {
				return err
			}
			inner := []string{name}
			if output != "" {
				inner = append([]string{"-o", output}, inner...)
			}
			return delegate(cmd, newExportCmd(env.g), inner)
		},
	}
	cmd.Flags().IntVar(&index, "index", 1, "the replica, when the service has several")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to a file instead of standard output")
	return cmd
}

func newComposeCommitCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	var index int
	var author, message string
	var changes []string
	var pause bool
	cmd := &cobra.Command{
		Use:   "commit [OPTIONS] SERVICE [REPOSITORY[:TAG]]",
		Short: "Create an image from a service container's changes",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := serviceContainer(cmd.Context(), env, sf, args[0], index)
			if err != nil {
				return err
			}
			inner := []string{"--pause=" + strconv.FormatBool(pause)}
			if author != "" {
				inner = append(inner, "-a", author)
			}
			if message != "" {
				inner = append(inner, "-m", message)
			}
			for _, c := range changes {
				inner = append(inner, "-c", c)
			}
			inner = append(append(inner, name), args[1:]...)
			return delegate(cmd, newCommitCmd(env.g), inner)
		},
	}
	cmd.Flags().IntVar(&index, "index", 1, "the replica, when the service has several")
	cmd.Flags().StringVarP(&author, "author", "a", "", "author")
	cmd.Flags().StringVarP(&message, "message", "m", "", "commit message")
	stringArrayVarP(cmd.Flags(), &changes, "change", "c", nil, "apply a Dockerfile instruction to the image")
	cmd.Flags().BoolVarP(&pause, "pause", "p", true, "pause the container while committing")
	return cmd
}

func newComposeAttachCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	var index int
	var noStdin, sigProxy bool
	var detachKeys string
	cmd := &cobra.Command{
		Use:   "attach [OPTIONS] SERVICE",
		Short: "Attach to a service container's output (and input)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := serviceContainer(cmd.Context(), env, sf, args[0], index)
			if err != nil {
				return err
			}
			inner := []string{"--sig-proxy=" + strconv.FormatBool(sigProxy), "--detach-keys", detachKeys}
			if noStdin {
				inner = append(inner, "--no-stdin")
			}
			return delegate(cmd, newAttachCmd(env.g), append(inner, name))
		},
	}
	cmd.Flags().IntVar(&index, "index", 1, "the replica, when the service has several")
	cmd.Flags().BoolVar(&noStdin, "no-stdin", false, "do not attach stdin")
	cmd.Flags().BoolVar(&sigProxy, "sig-proxy", true, "proxy the signals berth receives to the process")
	cmd.Flags().StringVar(&detachKeys, "detach-keys", "ctrl-p,ctrl-q", "the key sequence that detaches")
	return cmd
}

func newComposeStatsCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	var all, noStream, noTrunc bool
	var format string
	cmd := &cobra.Command{
		Use:   "stats [OPTIONS] [SERVICE...]",
		Short: "Show the resource usage of the stack's containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			l := &lifecycleCmd{env: env, sf: sf}
			_, _, _, cs, err := l.targets(cmd.Context(), args, false)
			if err != nil {
				return err
			}
			inner := []string{"--no-stream=" + strconv.FormatBool(noStream), "--no-trunc=" + strconv.FormatBool(noTrunc), "--all=" + strconv.FormatBool(all)}
			if format != "" {
				inner = append(inner, "--format", format)
			}
			n := 0
			for _, c := range cs {
				if all || c.Status == runtime.StatusRunning {
					inner = append(inner, c.Name)
					n++
				}
			}
			if n == 0 {
				return nil
			}
			return delegate(cmd, newStatsCmd(env.g), inner)
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "show all containers (default: the running ones)")
	cmd.Flags().BoolVar(&noStream, "no-stream", false, "print one sample and exit")
	cmd.Flags().BoolVar(&noTrunc, "no-trunc", false, "do not truncate output")
	cmd.Flags().StringVar(&format, "format", "", "format with a Go template")
	return cmd
}

func newComposePushCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	var ignoreFailures, quiet, includeDeps bool
	cmd := &cobra.Command{
		Use:   "push [OPTIONS] [SERVICE...]",
		Short: "Push the images of the stack's services",
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := loadProject(cmd.Context(), sf)
			if err != nil {
				return err
			}
			if err := checkServices(p, args); err != nil {
				return err
			}
			services := args
			if len(services) == 0 || includeDeps {
				services = targetedServices(p, args, false)
			}
			var errs []error
			pushed := map[string]bool{}
			for _, name := range services {
				ref := p.Services[name].Image
				if ref == "" || pushed[ref] {
					continue // Compose pushes only services with an image: name
				}
				pushed[ref] = true
				inner := []string{ref}
				if quiet {
					inner = append([]string{"-q"}, inner...)
				}
				if err := delegate(cmd, newPushCmd(env.g), inner); err != nil {
					errs = append(errs, fmt.Errorf("push %s (service %s): %w", ref, name, err))
				}
			}
			if ignoreFailures {
				return nil
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVar(&ignoreFailures, "ignore-push-failures", false, "push what it can")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "push without printing progress")
	cmd.Flags().BoolVar(&includeDeps, "include-deps", false, "also push the images of the dependencies")
	return cmd
}
