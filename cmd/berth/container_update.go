package main

import (
	"fmt"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/runtime/runc"
)

func newUpdateCmd(g *globals) *cobra.Command {
	var (
		memory, memorySwap, cpusetCpus, restart string
		cpus                                    float64
		cpuShares, pidsLimit                    int64
	)
	cmd := &cobra.Command{
		Use:   "update [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Update configuration of one or more containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			var u runc.UpdateOptions
			parseBytes := func(flag, v string) (*int64, error) {
				if v == "-1" {
					n := int64(-1)
					return &n, nil
				}
				n, err := units.RAMInBytes(v)
				if err != nil {
					return nil, fmt.Errorf("invalid argument %q for --%s: %w", v, flag, err)
				}
				return &n, nil
			}
			var err error
			if fl.Changed("memory") {
				if u.Memory, err = parseBytes("memory", memory); err != nil {
					return err
				}
			}
			if fl.Changed("memory-swap") {
				if u.MemorySwap, err = parseBytes("memory-swap", memorySwap); err != nil {
					return err
				}
			}
			if fl.Changed("cpus") {
				n := int64(cpus * 1e9)
				u.NanoCPUs = &n
			}
			if fl.Changed("cpu-shares") {
				u.CPUShares = &cpuShares
			}
			if fl.Changed("pids-limit") {
				u.PidsLimit = &pidsLimit
			}
			if fl.Changed("cpuset-cpus") {
				u.CpusetCpus = &cpusetCpus
			}
			if fl.Changed("restart") {
				p, err := parseRestart(restart)
				if err != nil {
					return err
				}
				u.Restart = &p
			}
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			return eachArg(cmd, args, func(ref string) error {
				if err := rt.Update(cmd.Context(), ref, u); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), ref)
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&memory, "memory", "m", "", "Memory limit")
	fl.StringVar(&memorySwap, "memory-swap", "", "Swap limit equal to memory plus swap: -1 to enable unlimited swap")
	fl.Float64Var(&cpus, "cpus", 0, "Number of CPUs")
	fl.Int64VarP(&cpuShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	fl.StringVar(&cpusetCpus, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)")
	fl.Int64Var(&pidsLimit, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
	fl.StringVar(&restart, "restart", "", "Restart policy to apply when a container exits")
	return cmd
}
