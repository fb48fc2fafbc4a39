//go:build lean

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/cobra"
)

// The lean berth (go build -tags lean) leaves out the Dockerfile builder
// (BuildKit's parser and protobuf), Git (go-git, ssh, openpgp), the DNS
// server and the registry client (registry_lean.go), whose package
// initialisation and page faults were a third of the start-up of every
// command (bench/README.md). The commands that need them hand their whole
// command line to berth-full, installed beside it: build, compose build,
// gitops, dns-serve, watch and up --watch (whose rebuilds build), an up,
// compose run or boot whose services need building, and whatever pulls,
// pushes or talks to a registry.

// fullExecutable is berth-full beside this binary, else berth-full in PATH.
func fullExecutable() (string, error) {
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "berth-full")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("berth-full")
	if err != nil {
		return "", errors.New("berth-full not found beside berth or in PATH: it runs build, gitops, watch and the DNS server")
	}
	return p, nil
}

// execFull replaces this process with berth-full running the same command
// line. Nothing this process did is lost: it is called before a command
// changes anything (or, for an up that must build, before its plan), and
// the locks it held close with its descriptors.
func execFull() error {
	exe, err := fullExecutable()
	if err != nil {
		return err
	}
	err = syscall.Exec(exe, append([]string{exe}, os.Args[1:]...), os.Environ())
	return fmt.Errorf("run %s: %w", exe, err)
}

// gateFull hands the commands that run on in berth-full over before they
// start: watch, compose watch and up --watch (a rebuild would need it).
func gateFull(cmd *cobra.Command) error {
	if cmd.Name() == "watch" {
		return execFull()
	}
	if cmd.Name() == "up" {
		if f := cmd.Flags().Lookup("watch"); f != nil && f.Changed && f.Value.String() == "true" {
			return execFull()
		}
	}
	return nil
}

// fullCommand is a command of berth-full: its flags, help and all go there.
// `berth help build` shows berth-full's help too.
func fullCommand(use, short string, hidden bool) *cobra.Command {
	cmd := &cobra.Command{
		Use:                use,
		Short:              short,
		Hidden:             hidden,
		DisableFlagParsing: true,
		RunE:               func(*cobra.Command, []string) error { return execFull() },
	}
	cmd.SetHelpFunc(func(c *cobra.Command, _ []string) {
		if err := execFull(); err != nil {
			fmt.Fprintln(c.ErrOrStderr(), "berth:", err)
		}
	})
	return cmd
}

func newBuildCmd(*globals) *cobra.Command {
	return fullCommand("build [OPTIONS] PATH | -", "Build an image from a Dockerfile", false)
}

func newComposeBuildCmd(*stackEnv, *stackFlags) *cobra.Command {
	return fullCommand("build [OPTIONS] [SERVICE...]", "Build the images of the stack's services", false)
}

func newGitopsCmd(*stackEnv) *cobra.Command {
	return fullCommand("gitops --repo URL [OPTIONS]", "Follow a Git repository of stacks: apply each commit, repair drift, prune", false)
}

func newDNSServeCmd(*globals) *cobra.Command {
	return fullCommand("dns-serve", "Serve names on user networks (started by berth on demand)", true)
}

// imageBuilder and lazyBuilder stand in for the builder's (compose_build.go):
// here a stack's builds are berth-full's (buildTodo).
type imageBuilder any

type lazyBuilder struct{ g *globals }

// buildTodo hands the command over to berth-full, which builds and goes
// on: it is called before the plan, when nothing but pulls has happened
// (a pulled image is there for the second run too).
func buildTodo(context.Context, *stackWorld, *types.Project, []string, io.Writer, *progress) error {
	return execFull()
}
