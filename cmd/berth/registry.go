//go:build !lean

package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// addRegistryCommands adds pull, push, save, load, login, logout, search.
func addRegistryCommands(root *cobra.Command, g *globals) {
	root.AddCommand(newPullCmd(g), newPushCmd(g), newSaveCmd(g), newLoadCmd(g), newLoginCmd(g), newLogoutCmd(g), newSearchCmd(g))
}

// addImageRegistryCommands adds the same under `berth image`.
func addImageRegistryCommands(image *cobra.Command, g *globals) {
	image.AddCommand(newPullCmd(g), newPushCmd(g), newSaveCmd(g), newLoadCmd(g))
}

func newLoginCmd(g *globals) *cobra.Command {
	var user, password string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "login [OPTIONS] [SERVER]",
		Short: "Log in to a registry (Docker Hub if no server is given)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := ""
			if len(args) == 1 {
				server = args[0]
			}
			if passwordStdin {
				if password != "" {
					return errdefs.ErrInvalidArgument.WithMessage("--password and --password-stdin are mutually exclusive")
				}
				if user == "" {
					return errdefs.ErrInvalidArgument.WithMessage("must provide --username with --password-stdin")
				}
				data, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return fmt.Errorf("login: read password: %w", err)
				}
				password = strings.TrimRight(string(data), "\r\n")
			} else if password != "" {
				fmt.Fprintln(cmd.ErrOrStderr(), "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
			}
			if user == "" || password == "" {
				// Prompt on stderr, read lines from stdin (the password
				// without echo on a terminal).
				in := bufio.NewReader(cmd.InOrStdin())
				if user == "" {
					fmt.Fprint(cmd.ErrOrStderr(), "Username: ")
					line, _ := in.ReadString('\n')
					user = strings.TrimSpace(line)
				}
				if password == "" {
					fmt.Fprint(cmd.ErrOrStderr(), "Password: ")
					restore := noEcho(cmd.InOrStdin())
					line, _ := in.ReadString('\n')
					restore()
					fmt.Fprintln(cmd.ErrOrStderr())
					password = strings.TrimRight(line, "\r\n")
				}
			}
			reg, err := openRegistries(g)
			if err != nil {
				return err
			}
			if _, err := reg.Login(cmd.Context(), server, user, password); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "Login Succeeded")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&user, "username", "u", "", "Username")
	f.StringVarP(&password, "password", "p", "", "Password or Personal Access Token")
	f.BoolVar(&passwordStdin, "password-stdin", false, "Take the Password or Personal Access Token from stdin")
	return cmd
}

func newLogoutCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "logout [SERVER]",
		Short: "Log out from a registry (Docker Hub if no server is given)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := ""
			if len(args) == 1 {
				server = args[0]
			}
			reg, err := openRegistries(g)
			if err != nil {
				return err
			}
			key, had, err := reg.Logout(server)
			if err != nil {
				return err
			}
			if !had {
				fmt.Fprintf(cmd.OutOrStdout(), "Not logged in to %s\n", key)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removing login credentials for %s\n", key)
			return nil
		},
	}
}

// searchRow is one line of `search`, with the fields Docker's --format offers.
type searchRow struct {
	Name        string
	Description string
	StarCount   string
	IsOfficial  string
	IsAutomated string
}

func newSearchCmd(g *globals) *cobra.Command {
	var limit int
	var format string
	var noTrunc bool
	cmd := &cobra.Command{
		Use:   "search [OPTIONS] TERM",
		Short: "Search Docker Hub, or a private registry's catalog with HOST[:PORT]/TERM",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			reg, err := openRegistries(g)
			if err != nil {
				return err
			}
			results, err := reg.Search(cmd.Context(), args[0], limit)
			if err != nil {
				return err
			}
			var rows []searchRow
			for _, r := range results {
				desc := r.Description
				if !noTrunc {
					desc = ellipsis(desc, 45)
				}
				row := searchRow{Name: r.Name, Description: desc, StarCount: fmt.Sprint(r.StarCount)}
				if r.IsOfficial {
					row.IsOfficial = "[OK]"
				}
				if r.IsAutomated {
					row.IsAutomated = "[OK]"
				}
				rows = append(rows, row)
			}
			header := searchRow{Name: "NAME", Description: "DESCRIPTION", StarCount: "STARS", IsOfficial: "OFFICIAL", IsAutomated: "AUTOMATED"}
			return renderImageRows(cmd.OutOrStdout(), format, "{{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}", header, rows)
		},
	}
	f := cmd.Flags()
	f.IntVar(&limit, "limit", 25, "Max number of search results")
	f.StringVar(&format, "format", "", "Format output: table, json, 'table TEMPLATE' or a Go template")
	f.BoolVar(&noTrunc, "no-trunc", false, "Don't truncate output")
	return cmd
}

// noEcho turns off a terminal's echo while a password is typed; it returns
// the function that restores it. Not a terminal: nothing to do.
func noEcho(in io.Reader) func() {
	f, ok := in.(*os.File)
	if !ok || !isTerminal(f) {
		return func() {}
	}
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return func() {}
	}
	t := *old
	t.Lflag &^= unix.ECHO
	t.Lflag |= unix.ICANON | unix.ISIG
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &t); err != nil {
		return func() {}
	}
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }
}
