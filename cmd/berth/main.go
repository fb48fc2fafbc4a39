// Command berth is a daemonless container engine and declarative stack
// runner. This package parses flags into options and calls the packages that
// do the work; it is the only place that wires real implementations together.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/images"
)

func init() {
	// The main goroutine keeps the main thread, so that no other goroutine
	// runs there. network/netns enters namespaces on locked threads that
	// die with their goroutines; Go cannot end the main thread, and would
	// park it, still in a container's namespace, for the life of the
	// process (a long-lived berth would hold that namespace and its veth).
	// CNI plugins do the same.
	runtime.LockOSThread()
	deferGC()
}

// deferGC keeps the collector off for the first second: a command that
// is over by then (ps, run -d, a no-op up: a few MiB of heap) spends
// nothing on collections, which were 6% of a no-op up of 50 services. A
// heap past 256 MiB collects anyway (the memory limit), and a command that
// lives on (watch, gitops, logs -f, up in the foreground) gets the usual
// collector after the second. GOGC or GOMEMLIMIT in the environment win.
func deferGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	percent := debug.SetGCPercent(-1)
	limit := debug.SetMemoryLimit(256 << 20)
	time.AfterFunc(time.Second, func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	})
}

// globals are the flags every command shares.
type globals struct {
	root    string // state root, default /var/lib/berth
	runRoot string // run state, default /run/berth
	runtime string // OCI runtime binary

	mu     sync.Mutex
	images *images.Store // openImageStore's
}

// exitError carries a specific exit status out of a command, like
// `berth plan`'s 2 for "changes pending".
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func newRootCmd() *cobra.Command {
	root, g := newBareRoot()
	addStackCommands(root, g)
	addImageCommands(root, g)
	addContainerCommands(root, g)
	addNetworkCommands(root, g)
	addVolumeCommands(root, g)
	addBuildCommands(root, g)
	root.AddCommand(newSystemCmd(g))
	return root
}

// newBareRoot is the root command with the global flags and no commands.
func newBareRoot() (*cobra.Command, *globals) {
	g := &globals{}
	root := &cobra.Command{
		Use:           "berth",
		Short:         "A daemonless container engine and declarative stack runner",
		SilenceUsage:  true,
		SilenceErrors: true,
		// The lean berth hands some commands to berth-full (flavour_lean.go).
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return gateFull(cmd) },
		// An unknown command fails, as Docker's does; no command shows help.
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return fmt.Errorf("unknown command: berth %s\n\nRun 'berth --help' for more information", strings.Join(args, " "))
		},
	}
	root.PersistentFlags().StringVar(&g.root, "root", envOr("BERTH_ROOT", "/var/lib/berth"), "root of berth's persistent state")
	root.PersistentFlags().StringVar(&g.runRoot, "run-root", envOr("BERTH_RUN_ROOT", "/run/berth"), "root of berth's run state")
	root.PersistentFlags().StringVar(&g.runtime, "runtime", envOr("BERTH_RUNTIME", "runc"), "OCI runtime binary")
	return root, g
}

// quickCommands are the top-level commands run most, each of which
// newRootCmdFor builds alone: the whole tree, hundreds of flags, took
// ~2.5 ms of every command's start. TestQuickCommandsMatchTree keeps each
// the same as in the whole tree.
var quickCommands = map[string]func(*globals) *cobra.Command{
	"run":     newRunCmd,
	"create":  newCreateCmd,
	"start":   newStartCmd,
	"stop":    newStopCmd,
	"restart": newRestartCmd,
	"kill":    newKillCmd,
	"rm":      func(g *globals) *cobra.Command { return newRmCmd(g, "rm") },
	"ps":      func(g *globals) *cobra.Command { return newPsCmd(g, "ps") },
	"exec":    newExecCmd,
	"logs":    newLogsCmd,
	"inspect": func(g *globals) *cobra.Command { return newContainerInspectCmd(g, "inspect") },
	"wait":    newWaitCmd,
	"images":  func(g *globals) *cobra.Command { return newImagesCmd(g, "images") },
	"up":      func(g *globals) *cobra.Command { return newUpCmd(newStackEnv(g), nil) },
	"down":    func(g *globals) *cobra.Command { return newDownCmd(newStackEnv(g), nil) },
	"plan":    func(g *globals) *cobra.Command { return newPlanCmd(newStackEnv(g), nil) },
	"compose": func(g *globals) *cobra.Command { return newComposeCmd(newStackEnv(g)) },
}

// newRootCmdFor is the command tree for the command line args: the root
// with only the command args name when it is one of quickCommands, else
// the whole tree (help, completion, suggestions and the rest need it).
func newRootCmdFor(args []string) *cobra.Command {
	root, g := newBareRoot()
	if build, ok := quickCommands[commandWord(root, args)]; ok {
		root.TraverseChildren = true // as addStackCommandsWith sets it
		root.AddCommand(build(g))
		return root
	}
	return newRootCmd()
}

// commandWord is the first word of args past the root's flags, or "" when
// args hold another flag before it (--help, --version, a typo).
func commandWord(root *cobra.Command, args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return a
		}
		name, _, withValue := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		f := root.PersistentFlags().Lookup(name)
		if !strings.HasPrefix(a, "--") || f == nil {
			return ""
		}
		if !withValue && f.NoOptDefVal == "" {
			i++ // the flag's value is the next argument
		}
	}
	return ""
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func main() {
	// BERTH_CPUPROFILE=FILE writes a CPU profile of the command, for
	// bench/compose.sh and `go tool pprof`.
	if f := os.Getenv("BERTH_CPUPROFILE"); f != "" {
		if out, err := os.Create(f); err == nil {
			_ = pprof.StartCPUProfile(out)
		}
	}
	err := newRootCmdFor(os.Args[1:]).Execute()
	pprof.StopCPUProfile() // a no-op without a profile
	if err == nil {
		return
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "berth:", ee.err)
		}
		os.Exit(ee.code)
	}
	fmt.Fprintln(os.Stderr, "berth:", err)
	os.Exit(1)
}
