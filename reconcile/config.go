package reconcile

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/spec"
	"github.com/berth-dev/berth/volumes"
)

// containerConfig is the runtime configuration of replica number of a
// service, labelled with the stack labels, their com.docker.compose twins,
// the config hash and the record of the service it was made from. It is
// pure: Apply calls it, the tests table-test it.
func containerConfig(p *types.Project, service string, number int, hash string) (runtime.Config, error) {
	return containerConfigIn(p, service, number, hash, "")
}

// containerConfigIn is containerConfig with the directory under which each
// container's secrets and configs are written (filesDir/<name>/), or ""
// to bind those backed by host files straight from them.
func containerConfigIn(p *types.Project, service string, number int, hash, filesDir string) (runtime.Config, error) {
	s, ok := p.Services[service]
	if !ok {
		return runtime.Config{}, fmt.Errorf("container config: no such service: %s", service)
	}
	files, err := containerFiles(p, s)
	if err != nil {
		return runtime.Config{}, fmt.Errorf("service %s: %w", service, err)
	}
	record, err := serviceRecord(s)
	if err != nil {
		return runtime.Config{}, err
	}
	cfg := runtime.Config{
		Name:        containerName(p.Name, service, number, s),
		Image:       imageRef(p.Name, service, s),
		Labels:      containerLabels(p, service, number, hash, s, string(record)),
		Env:         environment(s.Environment),
		Entrypoint:  command(s.Entrypoint),
		Cmd:         command(s.Command),
		WorkingDir:  s.WorkingDir,
		User:        s.User,
		Hostname:    s.Hostname,
		Domainname:  s.DomainName,
		Tty:         s.Tty,
		OpenStdin:   s.StdinOpen,
		Mounts:      append(mounts(p, s), fileMounts(files, filesDirOf(filesDir, containerName(p.Name, service, number, s)))...),
		ExtraHosts:  sortedList(s.ExtraHosts.AsList(":")),
		DNS:         slices.Clone([]string(s.DNS)),
		DNSSearch:   slices.Clone([]string(s.DNSSearch)),
		DNSOptions:  slices.Clone(s.DNSOpts),
		Restart:     restartPolicy(s),
		Healthcheck: healthcheck(s.HealthCheck),
		StopSignal:  s.StopSignal,
		Resources:   resources(s),
		CapAdd:      slices.Clone(s.CapAdd),
		CapDrop:     slices.Clone(s.CapDrop),
		Privileged:  s.Privileged,
		ReadOnly:    s.ReadOnly,
		Init:        s.Init != nil && *s.Init,
		SecurityOpt: slices.Clone(s.SecurityOpt),
		Sysctls:     maps.Clone(map[string]string(s.Sysctls)),
		Ulimits:     ulimits(s.Ulimits),
		Tmpfs:       tmpfs(s.Tmpfs),
		ShmSize:     int64(s.ShmSize),
		GroupAdd:    slices.Clone(s.GroupAdd),
	}
	if s.StopGracePeriod != nil {
		d := time.Duration(*s.StopGracePeriod)
		cfg.StopTimeout = &d
	}
	cfg.NetworkMode, cfg.Networks = networking(p, service, s)
	if cfg.Ports, err = ports(s.Ports, number); err != nil {
		return runtime.Config{}, fmt.Errorf("service %s: %w", service, err)
	}
	return cfg, nil
}

// containerLabels are the service's labels plus the stack's, which win.
func containerLabels(p *types.Project, service string, number int, hash string, s types.ServiceConfig, record string) map[string]string {
	l := maps.Clone(map[string]string(s.Labels))
	if l == nil {
		l = map[string]string{}
	}
	n := strconv.Itoa(number)
	files := strings.Join(p.ComposeFiles, ",")
	deps := dependsOnLabel(s)
	for k, v := range map[string]string{
		spec.LabelStack: p.Name, spec.ComposeProject: p.Name,
		spec.LabelService: service, spec.ComposeService: service,
		spec.LabelNumber: n, spec.ComposeNumber: n,
		spec.LabelConfigHash: hash, spec.ComposeConfigHash: hash,
		spec.LabelOneoff: "False", spec.ComposeOneoff: "False",
		spec.LabelFiles: files, spec.ComposeConfigFiles: files,
		spec.LabelWorkingDir: p.WorkingDir, spec.ComposeWorkingDir: p.WorkingDir,
		LabelDependsOn: deps, ComposeDependsOn: deps,
		LabelServiceConfig: record,
	} {
		l[k] = v
	}
	return l
}

// environment renders a service's environment as sorted KEY=VALUE; a
// variable without a value (not resolved by the loader) is left out, as
// Docker does.
func environment(env types.MappingWithEquals) []string {
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if v := env[k]; v != nil {
			out = append(out, k+"="+*v)
		}
	}
	return out
}

// command keeps the nil / empty distinction: nil is the image's, empty
// non-nil is none.
func command(c types.ShellCommand) []string {
	if c == nil {
		return nil
	}
	return append([]string{}, c...)
}

func sortedList(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	slices.Sort(l)
	return l
}

// mounts turns volumes into mounts, in the order they are declared. Named
// volumes get their runtime name. Secrets and configs follow (fileMounts):
// read-only bind mounts at /run/secrets/NAME and /NAME (or their target).
func mounts(p *types.Project, s types.ServiceConfig) []runtime.Mount {
	var out []runtime.Mount
	for _, v := range s.Volumes {
		m := runtime.Mount{Type: v.Type, Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly}
		switch v.Type {
		case types.VolumeTypeVolume:
			if vc, ok := p.Volumes[v.Source]; ok {
				m.Source = volumeName(p.Name, v.Source, vc)
			}
			if v.Volume != nil {
				m.NoCopy = v.Volume.NoCopy
			}
		case types.VolumeTypeBind:
			if v.Bind != nil {
				m.Propagation = v.Bind.Propagation
			}
		case types.VolumeTypeTmpfs:
			m.Source = ""
			if v.Tmpfs != nil {
				m.TmpfsSize, m.TmpfsMode = int64(v.Tmpfs.Size), v.Tmpfs.Mode
			}
		}
		out = append(out, m)
	}
	return out
}

// networking returns the network mode and the attachments, in the
// service's network priority order. The first network is the mode, as
// Docker reports it; `service:X` becomes the container of X's first replica.
func networking(p *types.Project, service string, s types.ServiceConfig) (string, []runtime.NetworkAttachment) {
	switch mode := s.NetworkMode; {
	case strings.HasPrefix(mode, types.ServicePrefix):
		dep := strings.TrimPrefix(mode, types.ServicePrefix)
		return "container:" + containerName(p.Name, dep, 1, p.Services[dep]), nil
	case mode != "":
		return mode, nil
	}
	var atts []runtime.NetworkAttachment
	for _, key := range s.NetworksByPriority() {
		nc := s.Networks[key]
		a := runtime.NetworkAttachment{Network: networkName(p.Name, key, p.Networks[key])}
		if nc.ServiceNameAliasEnabled() {
			a.Aliases = append(a.Aliases, service)
		}
		if nc != nil {
			a.Aliases = append(a.Aliases, nc.Aliases...)
			a.IPv4, a.IPv6 = nc.Ipv4Address, nc.Ipv6Address
		}
		atts = append(atts, a)
	}
	if len(atts) == 0 {
		return "", nil
	}
	return atts[0].Network, atts
}

// ports publishes a service's ports. A published range gives replica n
// the range's n-th port, as Compose spreads replicas over a range.
func ports(in []types.ServicePortConfig, number int) ([]runtime.PortBinding, error) {
	var out []runtime.PortBinding
	for _, pc := range in {
		if pc.Target == 0 || pc.Target > 65535 {
			return nil, fmt.Errorf("port target %d out of range", pc.Target)
		}
		b := runtime.PortBinding{HostIP: pc.HostIP, ContainerPort: uint16(pc.Target), Protocol: pc.Protocol}
		if b.Protocol == "" {
			b.Protocol = "tcp"
		}
		if pc.Published != "" {
			lo, hi, isRange := strings.Cut(pc.Published, "-")
			start, err := strconv.ParseUint(lo, 10, 16)
			if err != nil {
				return nil, fmt.Errorf("published port %q: %w", pc.Published, err)
			}
			b.HostPort = uint16(start)
			if isRange {
				end, err := strconv.ParseUint(hi, 10, 16)
				if err != nil {
					return nil, fmt.Errorf("published port %q: %w", pc.Published, err)
				}
				if p := start + uint64(number) - 1; p <= end {
					b.HostPort = uint16(p)
				} else {
					b.HostPort = 0
				}
			}
		}
		out = append(out, b)
	}
	return out, nil
}

// restartPolicy reads `restart:`, else deploy.restart_policy.
func restartPolicy(s types.ServiceConfig) runtime.RestartPolicy {
	if s.Restart != "" {
		name, count, _ := strings.Cut(s.Restart, ":")
		n, _ := strconv.Atoi(count)
		return runtime.RestartPolicy{Name: name, MaximumRetryCount: n}
	}
	if s.Deploy == nil || s.Deploy.RestartPolicy == nil {
		return runtime.RestartPolicy{Name: "no"}
	}
	rp := s.Deploy.RestartPolicy
	out := runtime.RestartPolicy{}
	switch rp.Condition {
	case "none":
		out.Name = "no"
	case "on-failure":
		out.Name = "on-failure"
	default: // "any" and unset
		out.Name = "always"
	}
	if rp.MaxAttempts != nil {
		out.MaximumRetryCount = int(*rp.MaxAttempts)
	}
	return out
}

func healthcheck(h *types.HealthCheckConfig) *runtime.Healthcheck {
	if h == nil {
		return nil
	}
	if h.Disable {
		return &runtime.Healthcheck{Test: []string{"NONE"}}
	}
	d := func(p *types.Duration) time.Duration {
		if p == nil {
			return 0
		}
		return time.Duration(*p)
	}
	out := &runtime.Healthcheck{
		Test:          slices.Clone([]string(h.Test)),
		Interval:      d(h.Interval),
		Timeout:       d(h.Timeout),
		StartPeriod:   d(h.StartPeriod),
		StartInterval: d(h.StartInterval),
	}
	if h.Retries != nil {
		out.Retries = int(*h.Retries)
	}
	return out
}

// resources reads the service-level limits, overridden by
// deploy.resources where set.
func resources(s types.ServiceConfig) runtime.Resources {
	r := runtime.Resources{
		Memory:            int64(s.MemLimit),
		MemoryReservation: int64(s.MemReservation),
		MemorySwap:        int64(s.MemSwapLimit),
		NanoCPUs:          int64(float64(s.CPUS) * 1e9),
		CPUShares:         s.CPUShares,
		PidsLimit:         s.PidsLimit,
		CpusetCpus:        s.CPUSet,
	}
	if s.Deploy == nil {
		return r
	}
	if l := s.Deploy.Resources.Limits; l != nil {
		if l.MemoryBytes != 0 {
			r.Memory = int64(l.MemoryBytes)
		}
		if l.NanoCPUs != 0 {
			r.NanoCPUs = int64(float64(l.NanoCPUs) * 1e9)
		}
		if l.Pids != 0 {
			r.PidsLimit = l.Pids
		}
	}
	if rv := s.Deploy.Resources.Reservations; rv != nil && rv.MemoryBytes != 0 {
		r.MemoryReservation = int64(rv.MemoryBytes)
	}
	return r
}

func ulimits(in map[string]*types.UlimitsConfig) []runtime.Ulimit {
	var out []runtime.Ulimit
	for _, name := range slices.Sorted(maps.Keys(in)) {
		u := in[name]
		if u == nil {
			continue
		}
		if u.Single != 0 {
			out = append(out, runtime.Ulimit{Name: name, Soft: int64(u.Single), Hard: int64(u.Single)})
		} else {
			out = append(out, runtime.Ulimit{Name: name, Soft: int64(u.Soft), Hard: int64(u.Hard)})
		}
	}
	return out
}

// tmpfs turns `tmpfs: ["/run:size=64m"]` into path -> options.
func tmpfs(in types.StringList) map[string]string {
	if len(in) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, t := range in {
		p, opts, _ := strings.Cut(t, ":")
		out[p] = opts
	}
	return out
}

// networkConfig is what Apply creates a stack network from.
func networkConfig(p *types.Project, key string) network.Config {
	n := p.Networks[key]
	labels := maps.Clone(map[string]string(n.Labels))
	if labels == nil {
		labels = map[string]string{}
	}
	labels[spec.LabelStack], labels[spec.ComposeProject] = p.Name, p.Name
	labels[spec.LabelNetwork], labels[spec.ComposeNetwork] = key, key
	cfg := network.Config{
		Name:       networkName(p.Name, key, n),
		Driver:     n.Driver,
		Labels:     labels,
		Internal:   n.Internal,
		Attachable: n.Attachable,
		IPv6:       n.EnableIPv6 != nil && *n.EnableIPv6,
		Options:    maps.Clone(map[string]string(n.DriverOpts)),
	}
	if cfg.Driver == "" {
		cfg.Driver = "bridge"
	}
	for _, pool := range n.Ipam.Config {
		if pool != nil {
			cfg.Subnets = append(cfg.Subnets, network.Subnet{Subnet: pool.Subnet, Gateway: pool.Gateway, IPRange: pool.IPRange})
		}
	}
	return cfg
}

// volumeConfig is what Apply creates a stack volume from.
func volumeConfig(p *types.Project, key string) volumes.Config {
	v := p.Volumes[key]
	labels := maps.Clone(map[string]string(v.Labels))
	if labels == nil {
		labels = map[string]string{}
	}
	labels[spec.LabelStack], labels[spec.ComposeProject] = p.Name, p.Name
	labels[spec.LabelVolume], labels[spec.ComposeVolume] = key, key
	cfg := volumes.Config{
		Name:    volumeName(p.Name, key, v),
		Driver:  v.Driver,
		Labels:  labels,
		Options: maps.Clone(map[string]string(v.DriverOpts)),
	}
	if cfg.Driver == "" {
		cfg.Driver = "local"
	}
	return cfg
}

// RunOptions change a service's container into a one-off one, as `compose
// run` flags do.
type RunOptions struct {
	Name         string            // the container's name (default <stack>-<service>-run-<suffix>)
	Suffix       string            // for the default name
	Command      []string          // nil: the service's
	Entrypoint   []string          // nil: the service's
	Env          []string          // added to (and overriding) the service's
	Labels       map[string]string // added
	User         string
	WorkingDir   string
	ServicePorts bool                  // keep the service's published ports
	Publish      []runtime.PortBinding // published instead (--publish)
	Tty          bool
	Interactive  bool
	// FilesDir is where the container's secrets and configs are written
	// (FilesDir/<name>/, by WriteFiles), as ApplyOptions.FilesDir; "" binds
	// those backed by host files straight from them.
	FilesDir string
}

// RunConfig is the configuration of a one-off container of a service
// (`compose run`): the service's, labelled io.berth.oneoff=True (so plans
// never touch it), with no published ports unless asked and no restart
// policy. It is pure.
func RunConfig(p *types.Project, service string, o RunOptions) (runtime.Config, error) {
	cfg, err := containerConfig(p, service, 1, "")
	if err != nil {
		return cfg, err
	}
	cfg.Name = o.Name
	if cfg.Name == "" {
		cfg.Name = p.Name + "-" + service + "-run-" + o.Suffix
	}
	if o.FilesDir != "" {
		files, _ := containerFiles(p, p.Services[service]) // checked by containerConfig
		cfg.Mounts = append(mounts(p, p.Services[service]), fileMounts(files, filesDirOf(o.FilesDir, cfg.Name))...)
	}
	cfg.Labels[spec.LabelOneoff], cfg.Labels[spec.ComposeOneoff] = "True", "True"
	delete(cfg.Labels, spec.LabelConfigHash)
	delete(cfg.Labels, spec.ComposeConfigHash)
	maps.Copy(cfg.Labels, o.Labels)
	if o.Command != nil {
		cfg.Cmd = o.Command
	}
	if o.Entrypoint != nil {
		cfg.Entrypoint = o.Entrypoint
	}
	cfg.Env = mergeEnv(cfg.Env, o.Env)
	if o.User != "" {
		cfg.User = o.User
	}
	if o.WorkingDir != "" {
		cfg.WorkingDir = o.WorkingDir
	}
	if !o.ServicePorts {
		cfg.Ports = nil
	}
	cfg.Ports = append(cfg.Ports, o.Publish...)
	cfg.Restart = runtime.RestartPolicy{Name: "no"}
	cfg.Tty, cfg.OpenStdin = o.Tty, o.Interactive
	return cfg, nil
}

// mergeEnv overrides or adds NAME=VALUE entries, keeping the order.
func mergeEnv(base, extra []string) []string {
	out := slices.Clone(base)
	for _, e := range extra {
		name, _, _ := strings.Cut(e, "=")
		i := slices.IndexFunc(out, func(b string) bool { n, _, _ := strings.Cut(b, "="); return n == name })
		if i >= 0 {
			out[i] = e
		} else {
			out = append(out, e)
		}
	}
	return out
}
