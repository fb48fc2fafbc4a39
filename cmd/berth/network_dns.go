//go:build !lean

package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/network/cni"
	"github.com/berth-dev/berth/network/dns"
)

// newDNSServeCmd is the hidden server process dnsctl.Ensure starts; it
// exits by itself when no user network has containers.
func newDNSServeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "dns-serve",
		Short:  "Serve names on user networks (started by berth on demand)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			m := cni.New(cni.Options{Root: g.root, RunRoot: g.runRoot, DefaultBridge: os.Getenv("BERTH_DEFAULT_BRIDGE")})
			return dns.Serve(ctx, dns.Options{Manager: m, Dir: dnsDir(g)})
		},
	}
}
