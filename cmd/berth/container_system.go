package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	goruntime "runtime"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// version is berth's version, set at link time (-X main.version=...).
var version = "dev"

func runtimeVersion(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "not found"
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return line
}

func newVersionCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Show the berth version information",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := map[string]string{
				"Version": version, "GoVersion": goruntime.Version(), "Os": goruntime.GOOS, "Arch": goruntime.GOARCH,
				"Runtime": g.runtime, "RuntimeVersion": runtimeVersion(g.runtime),
			}
			if format == "json" {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(v)
			}
			if format != "" {
				t, err := parseImageTemplate(format)
				if err != nil {
					return err
				}
				err = t.Execute(cmd.OutOrStdout(), v)
				fmt.Fprintln(cmd.OutOrStdout())
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "berth:\n Version:\t%s\n Go version:\t%s\n OS/Arch:\t%s/%s\n%s:\n Version:\t%s\n",
				v["Version"], v["GoVersion"], v["Os"], v["Arch"], g.runtime, v["RuntimeVersion"])
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a custom template")
	return cmd
}

func newInfoCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Display system-wide information",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := newRuntime(g)
			if err != nil {
				return err
			}
			list, err := rt.ListObserved(cmd.Context())
			if err != nil {
				return err
			}
			info := map[string]any{"Containers": len(list), "ContainersRunning": 0, "ContainersPaused": 0, "ContainersStopped": 0}
			for _, o := range list {
				switch o.State.Status {
				case "running", "restarting":
					info["ContainersRunning"] = info["ContainersRunning"].(int) + 1
				case "paused":
					info["ContainersPaused"] = info["ContainersPaused"].(int) + 1
				default:
					info["ContainersStopped"] = info["ContainersStopped"].(int) + 1
				}
			}
			if store, err := openImageStore(g); err == nil {
				if ims, err := store.List(cmd.Context()); err == nil {
					info["Images"] = len(ims)
				}
			}
			runtimePath, _ := exec.LookPath(g.runtime)
			var uts unix.Utsname
			_ = unix.Uname(&uts)
			cg := "1"
			var st unix.Statfs_t
			if unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
				cg = "2"
			}
			info["ServerVersion"] = version
			info["Driver"] = "overlay"
			info["CgroupDriver"] = "cgroupfs"
			info["CgroupVersion"] = cg
			info["DefaultRuntime"] = g.runtime
			info["RuntimePath"] = runtimePath
			info["RuntimeVersion"] = runtimeVersion(g.runtime)
			info["KernelVersion"] = unix.ByteSliceToString(uts.Release[:])
			info["OperatingSystem"] = osName()
			info["Architecture"] = goruntime.GOARCH
			info["NCPU"] = goruntime.NumCPU()
			info["MemTotal"] = hostMemory()
			info["BerthRootDir"] = g.root
			info["BerthRunRoot"] = g.runRoot
			out := cmd.OutOrStdout()
			if format == "json" {
				return json.NewEncoder(out).Encode(info)
			}
			if format != "" {
				t, err := parseImageTemplate(format)
				if err != nil {
					return err
				}
				err = t.Execute(out, info)
				fmt.Fprintln(out)
				return err
			}
			fmt.Fprintf(out, "Containers: %d\n Running: %d\n Paused: %d\n Stopped: %d\n", info["Containers"], info["ContainersRunning"], info["ContainersPaused"], info["ContainersStopped"])
			if n, ok := info["Images"]; ok {
				fmt.Fprintf(out, "Images: %d\n", n)
			}
			fmt.Fprintf(out, "Server Version: %s\nStorage Driver: overlay\nCgroup Driver: cgroupfs\nCgroup Version: %s\n", version, cg)
			fmt.Fprintf(out, "Default Runtime: %s (%s, %s)\n", g.runtime, runtimePath, info["RuntimeVersion"])
			fmt.Fprintf(out, "Kernel Version: %s\nOperating System: %s\nArchitecture: %s\nCPUs: %d\nTotal Memory: %s\n",
				info["KernelVersion"], info["OperatingSystem"], goruntime.GOARCH, goruntime.NumCPU(), humanSize(int64(hostMemory())))
			fmt.Fprintf(out, "Berth Root Dir: %s\nBerth Run Root: %s\n", g.root, g.runRoot)
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a custom template")
	return cmd
}

func osName() string {
	f, err := os.Open("/etc/os-release")
	if err != nil {
		return "linux"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "linux"
}

// hostMemory is the machine's RAM in bytes.
func hostMemory() uint64 {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return 0
	}
	return uint64(si.Totalram) * uint64(si.Unit)
}
