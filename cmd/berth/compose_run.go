package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/network/cni"
	"github.com/berth-dev/berth/reconcile"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/spec"
)

// composeRunOptions are the flags of `compose run`.
type composeRunOptions struct {
	rm, detach, noDeps, servicePorts, noTTY, interactive bool
	env, publish, labels                                 []string
	entrypoint, user, workdir, name, pull                string
}

func newComposeRunCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	o := &composeRunOptions{}
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] SERVICE [COMMAND] [ARGS...]",
		Short: "Run a one-off command in a new container of a service",
		Long: `Bring up the service's dependencies (unless --no-deps) and the networks and
volumes it uses, as up would, then create a one-off container of the service
(labelled io.berth.oneoff=True, so up and plan never touch it) and run it
attached; its exit code is the command's. Published ports only with
--service-ports or --publish.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runComposeRun(cmd, env, sf, o, args[0], args[1:])
		},
	}
	fs := cmd.Flags()
	fs.SetInterspersed(false)
	fs.BoolVar(&o.rm, "rm", false, "remove the container when it exits")
	fs.BoolVarP(&o.detach, "detach", "d", false, "run in the background and print the container ID")
	fs.BoolVar(&o.noDeps, "no-deps", false, "do not start the service's dependencies")
	fs.BoolVar(&o.servicePorts, "service-ports", false, "publish the service's ports")
	stringArrayVarP(fs, &o.publish, "publish", "p", nil, "publish a port (HOST:CONTAINER[/PROTO]); repeatable")
	stringArrayVarP(fs, &o.env, "env", "e", nil, "set an environment variable (NAME=VALUE); repeatable")
	stringArrayVarP(fs, &o.labels, "label", "l", nil, "add a label (KEY=VALUE); repeatable")
	fs.StringVar(&o.entrypoint, "entrypoint", "", "override the entrypoint")
	fs.StringVarP(&o.user, "user", "u", "", "run as this user")
	fs.StringVarP(&o.workdir, "workdir", "w", "", "working directory")
	fs.StringVar(&o.name, "name", "", "the container's name")
	fs.BoolVarP(&o.noTTY, "no-TTY", "T", false, "do not allocate a pseudo-TTY (the default when stdin is not a terminal)")
	fs.BoolVarP(&o.interactive, "interactive", "i", true, "keep stdin open")
	fs.StringVar(&o.pull, "pull", "missing", `pull images: "always", "missing" or "never"`)
	return cmd
}

func runComposeRun(cmd *cobra.Command, env *stackEnv, sf *stackFlags, o *composeRunOptions, service string, command []string) error {
	ctx := cmd.Context()
	prog, err := newProgress("auto", cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	publish, err := cni.ParsePorts(o.publish)
	if err != nil {
		return fmt.Errorf("--publish: %w", err)
	}
	labels, err := keyValues("label", o.labels)
	if err != nil {
		return err
	}
	p, err := loadProject(ctx, sf)
	if err != nil {
		return err
	}
	if err := checkServices(p, []string{service}); err != nil {
		return err
	}
	w, err := env.open(env.g)
	if err != nil {
		return err
	}
	if w.Runner == nil {
		return errUnsupported("run")
	}
	pull := o.pull
	if !cmd.Flags().Changed("pull") {
		pull = ""
	}
	if err := pullImages(ctx, w, p, []string{service}, pull, prog); err != nil {
		return err
	}
	if err := buildImages(ctx, w, p, []string{service}, "missing", cmd.ErrOrStderr(), prog); err != nil {
		return err
	}
	s := p.Services[service]
	ref := spec.ImageName(p, s)
	if _, err := w.Images.Resolve(ctx, ref); errdefs.IsNotFound(err) {
		return fmt.Errorf("image %s of service %s is not present locally: %w", ref, service, errdefs.ErrNotFound)
	} else if err != nil {
		return err
	}
	// The dependencies, and the networks and volumes the service uses.
	opts := reconcile.Options{Services: []string{service}, NoDeps: o.noDeps, OnlyDependencies: true}
	lock, err := converge(ctx, cmd, env, w, p, opts, imagePolicy{pull: pull, build: "missing", out: cmd.ErrOrStderr()}, &progress{mode: "quiet"})
	if err != nil {
		return err
	}
	lock.Unlock()

	suffix := make([]byte, 6)
	rand.Read(suffix)
	tty := !o.noTTY && !o.detach && isTerminal(os.Stdin) && isTerminal(os.Stdout)
	ro := reconcile.RunOptions{
		Name: o.name, Suffix: hex.EncodeToString(suffix), Env: o.env, Labels: labels,
		User: o.user, WorkingDir: o.workdir, ServicePorts: o.servicePorts, Publish: publish,
		Tty: tty, Interactive: o.interactive && !o.detach,
	}
	if len(command) > 0 {
		ro.Command = command
	}
	if o.entrypoint != "" {
		ro.Entrypoint = strings.Fields(o.entrypoint)
	}
	if ro.FilesDir, err = stackFilesDir(env.g, p.Name); err != nil {
		return err
	}
	cfg, err := reconcile.RunConfig(p, service, ro)
	if err != nil {
		return err
	}
	if err := reconcile.WriteFiles(p, service, ro.FilesDir, cfg.Name); err != nil {
		return err
	}
	id, err := w.Runner.CreateOneoff(ctx, cfg, o.rm && o.detach)
	if err != nil {
		reconcile.RemoveFiles(ro.FilesDir, cfg.Name)
		return err
	}
	if o.detach {
		if err := w.Runtime.Start(ctx, id); err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), id)
		return nil
	}
	prog.show(objectID(reconcile.ResourceContainer, cfg.Name), service, "Created", nil)
	code, err := w.Runner.RunAttached(ctx, id, tty, ro.Interactive)
	if o.rm {
		if rerr := w.Runtime.Remove(context.WithoutCancel(ctx), id, runtime.RemoveOptions{Force: true, RemoveVolumes: true}); rerr != nil && !errdefs.IsNotFound(rerr) && err == nil {
			err = rerr
		}
		if rerr := reconcile.RemoveFiles(ro.FilesDir, cfg.Name); rerr != nil && err == nil {
			err = rerr
		}
	}
	if err != nil {
		return err
	}
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}
