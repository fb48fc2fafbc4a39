package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/pflag"

	"github.com/berth-dev/berth/network/cni"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/ocispec"
	"github.com/berth-dev/berth/runtime/runc"
)

// containerFlags are the flags of `create` and `run`, Docker's names.
type containerFlags struct {
	name, entrypoint, workdir, user, hostname, domainname, network string
	env, envFile, volumes, tmpfs, capAdd, capDrop, securityOpt     []string
	ulimits, sysctls, labels, labelFiles, dns, dnsSearch, dnsOpt   []string
	addHost, groupAdd, publish, mounts, aliases                    []string
	ip, ip6                                                        string
	readOnly, privileged, init, tty, interactive, rm, noHealth     bool
	publishAll                                                     bool
	memory, memoryReservation, memorySwap, shmSize                 string
	cpus                                                           float64
	cpuShares, pidsLimit                                           int64
	cpusetCpus, stopSignal, restart                                string
	stopTimeout                                                    int
	healthCmd                                                      string
	healthInterval, healthTimeout, healthStart, healthStartInt     time.Duration
	healthRetries                                                  int
	pull, platform                                                 string
	quiet                                                          bool
}

func (f *containerFlags) register(fs *pflag.FlagSet) {
	fs.SetInterspersed(false) // everything after the image is the command
	// -h is --hostname, as in Docker; help is only --help.
	fs.Bool("help", false, "Print usage")
	fs.StringVar(&f.name, "name", "", "Assign a name to the container")
	stringArrayVarP(fs, &f.env, "env", "e", nil, "Set environment variables")
	stringArrayVar(fs, &f.envFile, "env-file", nil, "Read in a file of environment variables")
	fs.StringVar(&f.entrypoint, "entrypoint", "", "Overwrite the default ENTRYPOINT of the image")
	fs.StringVarP(&f.workdir, "workdir", "w", "", "Working directory inside the container")
	fs.StringVarP(&f.user, "user", "u", "", "Username or UID (format: <name|uid>[:<group|gid>])")
	fs.StringVarP(&f.hostname, "hostname", "h", "", "Container host name")
	fs.StringVar(&f.domainname, "domainname", "", "Container NIS domain name")
	fs.StringVar(&f.network, "network", "", "Connect a container to a network (NAME, bridge, none, host, container:NAME)")
	stringArrayVar(fs, &f.aliases, "network-alias", nil, "Add network-scoped alias for the container")
	fs.StringVar(&f.ip, "ip", "", "IPv4 address (e.g., 172.30.100.104)")
	fs.StringVar(&f.ip6, "ip6", "", "IPv6 address (e.g., 2001:db8::33)")
	fs.BoolVarP(&f.publishAll, "publish-all", "P", false, "Publish all exposed ports to random ports")
	stringArrayVar(fs, &f.mounts, "mount", nil, "Attach a filesystem mount to the container")
	fs.StringVar(&f.network, "net", "", "Connect a container to a network")
	_ = fs.MarkHidden("net")
	stringArrayVarP(fs, &f.volumes, "volume", "v", nil, "Bind mount a volume (SRC|NAME:DST[:ro], or DST alone for an anonymous volume)")
	stringArrayVar(fs, &f.tmpfs, "tmpfs", nil, "Mount a tmpfs directory")
	fs.BoolVar(&f.readOnly, "read-only", false, "Mount the container's root filesystem as read only")
	stringArrayVar(fs, &f.capAdd, "cap-add", nil, "Add Linux capabilities")
	stringArrayVar(fs, &f.capDrop, "cap-drop", nil, "Drop Linux capabilities")
	fs.BoolVar(&f.privileged, "privileged", false, "Give extended privileges to this container")
	stringArrayVar(fs, &f.securityOpt, "security-opt", nil, "Security Options")
	stringArrayVar(fs, &f.ulimits, "ulimit", nil, "Ulimit options")
	fs.StringVarP(&f.memory, "memory", "m", "", "Memory limit")
	fs.StringVar(&f.memoryReservation, "memory-reservation", "", "Memory soft limit")
	fs.StringVar(&f.memorySwap, "memory-swap", "", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
	fs.Float64Var(&f.cpus, "cpus", 0, "Number of CPUs")
	fs.Int64VarP(&f.cpuShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	fs.StringVar(&f.cpusetCpus, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)")
	fs.Int64Var(&f.pidsLimit, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
	stringArrayVar(fs, &f.sysctls, "sysctl", nil, "Sysctl options")
	fs.BoolVar(&f.init, "init", false, "Run an init inside the container that forwards signals and reaps processes")
	fs.StringVar(&f.stopSignal, "stop-signal", "", "Signal to stop the container")
	fs.IntVar(&f.stopTimeout, "stop-timeout", 0, "Timeout (in seconds) to stop a container")
	stringArrayVarP(fs, &f.labels, "label", "l", nil, "Set meta data on a container")
	stringArrayVar(fs, &f.labelFiles, "label-file", nil, "Read in a line delimited file of labels")
	fs.StringVar(&f.restart, "restart", "no", "Restart policy to apply when a container exits")
	fs.StringVar(&f.healthCmd, "health-cmd", "", "Command to run to check health")
	fs.DurationVar(&f.healthInterval, "health-interval", 0, "Time between running the check (ms|s|m|h) (default 0s)")
	fs.DurationVar(&f.healthTimeout, "health-timeout", 0, "Maximum time to allow one check to run (ms|s|m|h) (default 0s)")
	fs.DurationVar(&f.healthStart, "health-start-period", 0, "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)")
	fs.DurationVar(&f.healthStartInt, "health-start-interval", 0, "Time between running the check during the start period (ms|s|m|h) (default 0s)")
	fs.IntVar(&f.healthRetries, "health-retries", 0, "Consecutive failures needed to report unhealthy")
	fs.BoolVar(&f.noHealth, "no-healthcheck", false, "Disable any container-specified HEALTHCHECK")
	fs.BoolVarP(&f.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	fs.BoolVarP(&f.interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	fs.BoolVar(&f.rm, "rm", false, "Automatically remove the container and its associated anonymous volumes when it exits")
	stringArrayVar(fs, &f.dns, "dns", nil, "Set custom DNS servers")
	stringArrayVar(fs, &f.dnsSearch, "dns-search", nil, "Set custom DNS search domains")
	stringArrayVar(fs, &f.dnsOpt, "dns-option", nil, "Set DNS options")
	stringArrayVar(fs, &f.addHost, "add-host", nil, "Add a custom host-to-IP mapping (host:ip)")
	stringArrayVar(fs, &f.groupAdd, "group-add", nil, "Add additional groups to join")
	fs.StringVar(&f.shmSize, "shm-size", "", "Size of /dev/shm")
	stringArrayVarP(fs, &f.publish, "publish", "p", nil, "Publish a container's port(s) to the host")
	fs.StringVar(&f.pull, "pull", "missing", `Pull image before running ("always", "missing", "never")`)
	fs.BoolVarP(&f.quiet, "quiet", "q", false, "Suppress the pull output")
	fs.StringVar(&f.platform, "platform", "", "Set platform if server is multi-platform capable (os/arch[/variant])")
}

// config turns the flags, the image and the command into a container config.
func (f *containerFlags) config(fs *pflag.FlagSet, image string, cmd []string) (runtime.Config, runc.CreateOptions, error) {
	c := runtime.Config{
		Name: f.name, Image: image, WorkingDir: f.workdir, User: f.user, Hostname: f.hostname,
		Domainname: f.domainname, NetworkMode: f.network, ReadOnly: f.readOnly, Privileged: f.privileged,
		CapAdd: f.capAdd, CapDrop: f.capDrop, SecurityOpt: f.securityOpt, Init: f.init,
		StopSignal: f.stopSignal, Tty: f.tty, OpenStdin: f.interactive, DNS: f.dns, DNSSearch: f.dnsSearch,
		DNSOptions: f.dnsOpt, ExtraHosts: f.addHost, GroupAdd: f.groupAdd,
	}
	opts := runc.CreateOptions{AutoRemove: f.rm, PublishAll: f.publishAll}
	var err error
	if c.Ports, err = cni.ParsePorts(f.publish); err != nil {
		return c, opts, err
	}
	if c.Networks, err = f.attachments(); err != nil {
		return c, opts, err
	}
	if len(cmd) > 0 {
		c.Cmd = cmd
	}
	if fs.Changed("entrypoint") {
		c.Entrypoint = []string{}
		if f.entrypoint != "" {
			c.Entrypoint = []string{f.entrypoint}
		}
	}
	if c.Env, err = envList(f.envFile, f.env); err != nil {
		return c, opts, err
	}
	if c.Labels, err = labelMap(f.labelFiles, f.labels); err != nil {
		return c, opts, err
	}
	for _, v := range f.volumes {
		m, err := parseVolume(v)
		if err != nil {
			return c, opts, err
		}
		c.Mounts = append(c.Mounts, m)
	}
	for _, v := range f.mounts {
		m, err := parseMount(v)
		if err != nil {
			return c, opts, err
		}
		c.Mounts = append(c.Mounts, m)
	}
	for _, t := range f.tmpfs {
		if c.Tmpfs == nil {
			c.Tmpfs = map[string]string{}
		}
		dst, o, err := ocispec.ParseTmpfs(t)
		if err != nil {
			return c, opts, err
		}
		c.Tmpfs[dst] = o
	}
	for _, s := range f.sysctls {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return c, opts, fmt.Errorf("invalid argument %q for --sysctl: must be KEY=VALUE", s)
		}
		if c.Sysctls == nil {
			c.Sysctls = map[string]string{}
		}
		c.Sysctls[k] = v
	}
	for _, u := range f.ulimits {
		ul, err := ocispec.ParseUlimit(u)
		if err != nil {
			return c, opts, err
		}
		c.Ulimits = append(c.Ulimits, ul)
	}
	for flag, dst := range map[string]*int64{"memory": &c.Resources.Memory, "memory-reservation": &c.Resources.MemoryReservation, "shm-size": &c.ShmSize} {
		v, _ := fs.GetString(flag)
		if v == "" {
			continue
		}
		if *dst, err = units.RAMInBytes(v); err != nil {
			return c, opts, fmt.Errorf("invalid argument %q for --%s: %w", v, flag, err)
		}
	}
	if f.memorySwap == "-1" {
		c.Resources.MemorySwap = -1
	} else if f.memorySwap != "" {
		if c.Resources.MemorySwap, err = units.RAMInBytes(f.memorySwap); err != nil {
			return c, opts, fmt.Errorf("invalid argument %q for --memory-swap: %w", f.memorySwap, err)
		}
	}
	c.Resources.NanoCPUs = int64(f.cpus * 1e9)
	c.Resources.CPUShares, c.Resources.PidsLimit, c.Resources.CpusetCpus = f.cpuShares, f.pidsLimit, f.cpusetCpus
	if fs.Changed("stop-timeout") {
		d := time.Duration(f.stopTimeout) * time.Second
		c.StopTimeout = &d
	}
	if c.Restart, err = parseRestart(f.restart); err != nil {
		return c, opts, err
	}
	if f.rm && c.Restart.Name != "" && c.Restart.Name != "no" {
		return c, opts, fmt.Errorf("conflicting options: cannot specify both --restart and --rm")
	}
	switch {
	case f.noHealth:
		c.Healthcheck = &runtime.Healthcheck{Test: []string{"NONE"}}
	case f.healthCmd != "" || fs.Changed("health-interval") || fs.Changed("health-retries"):
		hc := &runtime.Healthcheck{Interval: f.healthInterval, Timeout: f.healthTimeout, Retries: f.healthRetries, StartPeriod: f.healthStart, StartInterval: f.healthStartInt}
		if f.healthCmd != "" {
			hc.Test = []string{"CMD-SHELL", f.healthCmd}
		}
		c.Healthcheck = hc
	}
	return c, opts, nil
}

// parseRestart parses Docker's --restart: no, always, unless-stopped,
// on-failure[:max-retries].
func parseRestart(s string) (runtime.RestartPolicy, error) {
	name, n, hasN := strings.Cut(s, ":")
	p := runtime.RestartPolicy{Name: name}
	switch name {
	case "", "no", "always", "unless-stopped":
		if hasN {
			return p, fmt.Errorf("invalid restart policy %q: maximum retry count can only be used with 'on-failure'", s)
		}
		if name == "" {
			p.Name = "no"
		}
	case "on-failure":
		if hasN {
			v, err := strconv.Atoi(n)
			if err != nil || v < 0 {
				return p, fmt.Errorf("invalid restart policy %q: maximum retry count must be a positive integer", s)
			}
			p.MaximumRetryCount = v
		}
	default:
		return p, fmt.Errorf("invalid restart policy %q", s)
	}
	return p, nil
}

// parseVolume parses -v as Docker does: SRC:DST[:OPTS] binds a host path
// (absolute, or relative starting with "."), NAME:DST[:OPTS] mounts a named
// volume (created on first use), and DST alone an anonymous volume.
func parseVolume(v string) (runtime.Mount, error) {
	parts := strings.Split(v, ":")
	if len(parts) == 1 {
		if !filepath.IsAbs(v) {
			return runtime.Mount{}, fmt.Errorf("invalid volume specification %q: the destination must be an absolute path", v)
		}
		return runtime.Mount{Type: "volume", Target: v}, nil
	}
	if len(parts) > 3 {
		return runtime.Mount{}, fmt.Errorf("invalid volume specification %q", v)
	}
	m := runtime.Mount{Type: "bind", Source: parts[0], Target: parts[1]}
	switch {
	case filepath.IsAbs(m.Source):
	case strings.HasPrefix(m.Source, "."):
		abs, err := filepath.Abs(m.Source)
		if err != nil {
			return m, err
		}
		m.Source = abs
	default:
		m.Type = "volume"
	}
	if !filepath.IsAbs(m.Target) {
		return m, fmt.Errorf("invalid volume specification %q: the destination must be an absolute path", v)
	}
	if len(parts) == 3 {
		for _, o := range strings.Split(parts[2], ",") {
			switch o {
			case "ro":
				m.ReadOnly = true
			case "nocopy":
				m.NoCopy = true
			case "rw", "z", "Z", "":
			case "private", "rprivate", "shared", "rshared", "slave", "rslave":
				m.Propagation = o
			default:
				return m, fmt.Errorf("invalid volume specification %q: unknown option %q", v, o)
			}
		}
	}
	return m, nil
}

// envList reads --env-file files then -e values, Docker's way: KEY=VALUE,
// or KEY alone to take the value from berth's own environment (dropped if
// unset); comments and blank lines in files are skipped.
func envList(files, vals []string) ([]string, error) {
	var out []string
	add := func(kv string) {
		if strings.Contains(kv, "=") {
			out = append(out, kv)
		} else if v, ok := os.LookupEnv(kv); ok {
			out = append(out, kv+"="+v)
		}
	}
	for _, f := range files {
		lines, err := readLines(f)
		if err != nil {
			return nil, fmt.Errorf("env file: %w", err)
		}
		for _, l := range lines {
			add(l)
		}
	}
	for _, v := range vals {
		add(v)
	}
	return out, nil
}

func labelMap(files, vals []string) (map[string]string, error) {
	var all []string
	for _, f := range files {
		lines, err := readLines(f)
		if err != nil {
			return nil, fmt.Errorf("label file: %w", err)
		}
		all = append(all, lines...)
	}
	all = append(all, vals...)
	if len(all) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, l := range all {
		k, v, _ := strings.Cut(l, "=")
		m[k] = v
	}
	return m, nil
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

// attachments are --network-alias, --ip and --ip6, which Docker applies to
// the network of --network (a user network; not none, host or container:).
func (f *containerFlags) attachments() ([]runtime.NetworkAttachment, error) {
	if len(f.aliases) == 0 && f.ip == "" && f.ip6 == "" {
		return nil, nil
	}
	switch n := f.network; {
	case n == "" || n == "bridge" || n == "default":
		if len(f.aliases) > 0 {
			return nil, fmt.Errorf("network-scoped aliases are only supported for user-defined networks")
		}
		return nil, fmt.Errorf("user specified IP address is supported on user defined networks only")
	case n == "none" || n == "host" || strings.HasPrefix(n, "container:"):
		return nil, fmt.Errorf("conflicting options: --network-alias, --ip and --ip6 need a user-defined network, not %s", n)
	}
	return []runtime.NetworkAttachment{{Network: f.network, Aliases: f.aliases, IPv4: f.ip, IPv6: f.ip6}}, nil
}

// parseMount parses --mount, Docker's comma-separated key=value list:
// type=bind|volume|tmpfs, source|src, target|destination|dst, readonly|ro,
// bind-propagation, volume-nocopy, tmpfs-size, tmpfs-mode.
func parseMount(v string) (runtime.Mount, error) {
	m := runtime.Mount{Type: "volume"}
	bad := func(format string, a ...any) (runtime.Mount, error) {
		return runtime.Mount{}, fmt.Errorf("invalid argument %q for \"--mount\" flag: %s", v, fmt.Sprintf(format, a...))
	}
	for _, field := range strings.Split(v, ",") {
		key, val, hasVal := strings.Cut(field, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		boolVal := func() (bool, error) {
			if !hasVal {
				return true, nil
			}
			return strconv.ParseBool(val)
		}
		switch key {
		case "type":
			m.Type = val
		case "source", "src":
			m.Source = val
		case "target", "destination", "dst":
			m.Target = val
		case "readonly", "ro":
			b, err := boolVal()
			if err != nil {
				return bad("invalid value for %s: %s", key, val)
			}
			m.ReadOnly = b
		case "bind-propagation":
			m.Propagation = val
		case "volume-nocopy":
			b, err := boolVal()
			if err != nil {
				return bad("invalid value for volume-nocopy: %s", val)
			}
			m.NoCopy = b
		case "tmpfs-size":
			n, err := units.RAMInBytes(val)
			if err != nil {
				return bad("invalid value for tmpfs-size: %s", val)
			}
			m.TmpfsSize = n
		case "tmpfs-mode":
			n, err := strconv.ParseUint(val, 8, 32)
			if err != nil {
				return bad("invalid value for tmpfs-mode: %s", val)
			}
			m.TmpfsMode = uint32(n)
		case "volume-driver", "volume-label", "volume-opt", "consistency", "bind-nonrecursive":
			// accepted and ignored, as Docker ignores consistency on Linux
		default:
			return bad("unexpected key '%s' in '%s'", key, field)
		}
	}
	if m.Target == "" {
		return bad("target is required")
	}
	switch m.Type {
	case "bind":
		if m.Source == "" {
			return bad("source is required when specifying bind mounts")
		}
		abs, err := filepath.Abs(m.Source)
		if err != nil {
			return m, err
		}
		m.Source = abs
	case "volume":
	case "tmpfs":
		if m.Source != "" {
			return bad("source is not supported for tmpfs mounts")
		}
	default:
		return bad("unknown mount type %q", m.Type)
	}
	return m, nil
}
