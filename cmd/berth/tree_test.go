package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// describe renders a command subtree (only the command when shallow):
// names, help texts, flags and their defaults, for comparing two builds of
// one command.
func describe(c *cobra.Command, shallow bool) string {
	var b strings.Builder
	var walk func(c *cobra.Command, depth int)
	walk = func(c *cobra.Command, depth int) {
		pad := strings.Repeat("  ", depth)
		fmt.Fprintf(&b, "%s%q aliases=%v hidden=%v short=%q long=%d run=%v traverse=%v flagparsing=%v\n",
			pad, c.Use, c.Aliases, c.Hidden, c.Short, len(c.Long), c.RunE != nil || c.Run != nil, c.TraverseChildren, c.DisableFlagParsing)
		flags := func(kind string, fs *pflag.FlagSet) {
			fs.VisitAll(func(f *pflag.Flag) {
				fmt.Fprintf(&b, "%s  %s --%s -%s def=%q noopt=%q hidden=%v deprecated=%q usage=%q\n",
					pad, kind, f.Name, f.Shorthand, f.DefValue, f.NoOptDefVal, f.Hidden, f.Deprecated, f.Usage)
			})
		}
		flags("local", c.LocalNonPersistentFlags())
		flags("persistent", c.PersistentFlags())
		if shallow {
			return
		}
		subs := c.Commands()
		slices.SortFunc(subs, func(a, b *cobra.Command) int { return strings.Compare(a.Name(), b.Name()) })
		for _, s := range subs {
			walk(s, depth+1)
		}
	}
	walk(c, 0)
	return b.String()
}

func TestQuickCommandsMatchTree(t *testing.T) {
	full := newRootCmd()
	for name := range quickCommands {
		quick := newRootCmdFor([]string{"--root", "/x", name, "--help"})
		if len(quick.Commands()) != 1 {
			t.Fatalf("%s: the quick tree has %d commands, want 1", name, len(quick.Commands()))
		}
		want, _, err := full.Find([]string{name})
		if err != nil || want == full {
			t.Fatalf("%s is not a command of the whole tree: %v", name, err)
		}
		if got, want := describe(quick.Commands()[0], false), describe(want, false); got != want {
			t.Errorf("%s differs from the whole tree's:\n%s\nwant:\n%s", name, got, want)
		}
		if got, want := describe(quick, true), describe(full, true); got != want {
			t.Errorf("%s: the quick root differs from the whole tree's:\n%s\nwant:\n%s", name, got, want)
		}
	}
}

func TestCommandWord(t *testing.T) {
	root, _ := newBareRoot()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "-d", "busybox"}, "run"},
		{[]string{"--root", "/r", "--run-root=/rr", "ps", "-a"}, "ps"},
		{[]string{"--runtime", "crun", "run"}, "run"},
		{[]string{"--help"}, ""},
		{[]string{"-h", "run"}, ""},
		{[]string{"--bogus", "run"}, ""},
		{[]string{"--root"}, ""},
		{nil, ""},
	} {
		if got := commandWord(root, tc.args); got != tc.want {
			t.Errorf("commandWord(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
	// Anything else builds the whole tree.
	if n := len(newRootCmdFor([]string{"network", "ls"}).Commands()); n < 20 {
		t.Errorf("network ls: %d commands, want the whole tree", n)
	}
}

func TestUnknownCommandFails(t *testing.T) {
	root := newRootCmdFor([]string{"bogus"})
	root.SetArgs([]string{"bogus", "x"})
	root.SetOut(new(strings.Builder))
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "unknown command: berth bogus x") {
		t.Errorf("berth bogus x: %v, want an unknown command error", err)
	}
}
