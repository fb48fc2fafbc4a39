package main

import (
	"fmt"
	"io"
	"os"

	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/runtime/runc"
)

func newExecCmd(g *globals) *cobra.Command {
	var (
		detach, interactive, tty, privileged bool
		env, envFile                         []string
		workdir, user                        string
	)
	cmd := &cobra.Command{
		Use:   "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short: "Execute a command in a running container",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			envs, err := envList(envFile, env)
			if err != nil {
				return err
			}
			o := runc.ExecOptions{
				Cmd: args[1:], Env: envs, WorkingDir: workdir, User: user,
				Tty: tty, Detach: detach, Privileged: privileged,
				Stdout: os.Stdout, Stderr: os.Stderr,
			}
			if interactive {
				o.Stdin = os.Stdin
			} else if tty {
				o.Stdin = eofReader{}
			}
			code, err := rt.Exec(cmd.Context(), args[0], o)
			if err != nil {
				if errdefs.IsNotFound(err) || errdefs.IsFailedPrecondition(err) {
					return err
				}
				return &exitError{code: 126, err: err}
			}
			if code != 0 {
				if code == 126 || code == 127 {
					return &exitError{code: code, err: fmt.Errorf("exec %q failed", args[1])}
				}
				return &exitError{code: code}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.SetInterspersed(false)
	fl.BoolVarP(&detach, "detach", "d", false, "Detached mode: run command in the background")
	fl.BoolVarP(&interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	fl.BoolVarP(&tty, "tty", "t", false, "Allocate a pseudo-TTY")
	fl.BoolVar(&privileged, "privileged", false, "Give extended privileges to the command")
	stringArrayVarP(fl, &env, "env", "e", nil, "Set environment variables")
	stringArrayVar(fl, &envFile, "env-file", nil, "Read in a file of environment variables")
	fl.StringVarP(&workdir, "workdir", "w", "", "Working directory inside the container")
	fl.StringVarP(&user, "user", "u", "", "Username or UID (format: \"<name|uid>[:<group|gid>]\")")
	return cmd
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
