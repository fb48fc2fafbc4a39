package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
)

// hashVersion names the projection ServiceHash hashes. It is part of every
// hash: change it only on purpose, knowing every running container of every
// stack will be recreated on the next up.
const hashVersion = "berth.service-hash.v1"

// ServiceHash is the config hash of one service: it changes exactly when
// something that reaches the service's containers changes. imageID is the
// resolved ID of the service's image ("" when not known yet).
//
// What is hashed is an explicit projection of the service (see
// serviceProjection), not compose-go's struct, so a new field in compose-go
// or a new berth version does not change the hash of an unchanged service:
// fields left empty are omitted, map keys are sorted, sets (capabilities,
// aliases) are sorted, and values are in their normalised form (a port
// written "8080:80" and the same port in long syntax hash alike).
//
// In the hash: the image (name and ID), command, entrypoint, environment
// (env_file contents are folded into it by the loader), labels, mounts,
// networks with aliases and addresses, ports, the content of the configs
// and secrets the service uses (read from their file, the environment or
// inline content), and the rest of what configures the container
// (user, resources, healthcheck, restart, ...).
//
// Not in the hash: depends_on, scale and deploy.replicas, build (it
// matters only through imageID), pull_policy, profiles, develop, other
// services, and how the file was written.
//
// It reads the files of file-based configs and secrets; a missing one is an
// error.
func ServiceHash(p *types.Project, service string, imageID string) (string, error) {
	s, err := p.GetService(service)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", service, err)
	}
	proj, err := serviceProjection(p, s, imageID)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", service, err)
	}
	data, err := json.Marshal(proj)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", service, err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// canon is one object of the hashed projection. Its values are only
// strings, bools, int64s, canons and []any of those, so json.Marshal's
// encoding (sorted keys) is canonical and independent of compose-go.
type canon map[string]any

// set records v under k unless v is empty, so adding a field to the
// projection leaves the hash of services that do not use it unchanged.
func (c canon) set(k string, v any) {
	switch x := v.(type) {
	case string:
		if x == "" {
			return
		}
	case bool:
		if !x {
			return
		}
	case int64:
		if x == 0 {
			return
		}
	case []any:
		if len(x) == 0 {
			return
		}
	case canon:
		if len(x) == 0 {
			return
		}
	case nil:
		return
	}
	c[k] = v
}

func serviceProjection(p *types.Project, s types.ServiceConfig, imageID string) (canon, error) {
	c := canon{"version": hashVersion}
	c.set("image", s.Image)
	c.set("image_id", imageID)
	c.set("command", strs(s.Command))
	c.set("entrypoint", strs(s.Entrypoint))
	c.set("working_dir", s.WorkingDir)
	c.set("user", s.User)
	c.set("group_add", sortedStrs(s.GroupAdd))
	c.set("hostname", s.Hostname)
	c.set("domainname", s.DomainName)
	c.set("container_name", s.ContainerName)
	c.set("tty", s.Tty)
	c.set("stdin_open", s.StdinOpen)
	c.set("privileged", s.Privileged)
	c.set("read_only", s.ReadOnly)
	if s.Init != nil {
		c.set("init", strconv.FormatBool(*s.Init))
	}
	c.set("cap_add", sortedStrs(s.CapAdd))
	c.set("cap_drop", sortedStrs(s.CapDrop))
	c.set("security_opt", strs(s.SecurityOpt))
	c.set("sysctls", strMap(s.Sysctls))
	c.set("annotations", strMap(s.Annotations))
	c.set("labels", strMap(s.Labels))
	c.set("environment", environment(s.Environment))
	c.set("volumes", mounts(s.Volumes))
	c.set("tmpfs", strs(s.Tmpfs))
	c.set("volumes_from", strs(s.VolumesFrom))
	c.set("ports", ports(s.Ports))
	c.set("expose", sortedStrs(s.Expose))
	c.set("networks", networks(s.Networks))
	c.set("network_mode", s.NetworkMode)
	c.set("mac_address", s.MacAddress)
	c.set("links", sortedStrs(s.Links))
	c.set("external_links", sortedStrs(s.ExternalLinks))
	c.set("dns", strs(s.DNS))
	c.set("dns_search", strs(s.DNSSearch))
	c.set("dns_opt", strs(s.DNSOpts))
	c.set("extra_hosts", sortedStrs(s.ExtraHosts.AsList(":")))
	c.set("ipc", s.Ipc)
	c.set("pid", s.Pid)
	c.set("uts", s.Uts)
	c.set("userns_mode", s.UserNSMode)
	c.set("cgroup", s.Cgroup)
	c.set("cgroup_parent", s.CgroupParent)
	c.set("restart", s.Restart)
	c.set("stop_signal", s.StopSignal)
	c.set("stop_grace_period", duration(s.StopGracePeriod))
	c.set("healthcheck", healthcheck(s.HealthCheck))
	c.set("platform", s.Platform)
	c.set("runtime", s.Runtime)
	c.set("isolation", s.Isolation)
	c.set("volume_driver", s.VolumeDriver)
	c.set("use_api_socket", s.UseAPISocket)
	if s.Umask != nil {
		c.set("umask", strconv.FormatUint(uint64(*s.Umask), 8))
	}
	c.set("mem_limit", int64(s.MemLimit))
	c.set("mem_reservation", int64(s.MemReservation))
	c.set("memswap_limit", int64(s.MemSwapLimit))
	c.set("mem_swappiness", int64(s.MemSwappiness))
	c.set("shm_size", int64(s.ShmSize))
	c.set("cpus", float(s.CPUS))
	c.set("cpu_shares", s.CPUShares)
	c.set("cpu_period", s.CPUPeriod)
	c.set("cpu_quota", s.CPUQuota)
	c.set("cpu_rt_period", s.CPURTPeriod)
	c.set("cpu_rt_runtime", s.CPURTRuntime)
	c.set("cpu_count", s.CPUCount)
	c.set("cpu_percent", float(s.CPUPercent))
	c.set("cpuset", s.CPUSet)
	c.set("pids_limit", s.PidsLimit)
	c.set("oom_kill_disable", s.OomKillDisable)
	c.set("oom_score_adj", s.OomScoreAdj)
	c.set("device_cgroup_rules", strs(s.DeviceCgroupRules))
	c.set("storage_opt", strMap(s.StorageOpt))
	c.set("log_driver", s.LogDriver)
	c.set("log_opt", strMap(s.LogOpt))

	// The long tail is hashed as compose-go's JSON of the field. These fields
	// are rare; the golden hash test pins a service using them.
	var err error
	set := func(k string, v any, present bool) {
		if err != nil || !present {
			return
		}
		var g any
		if g, err = generic(v); err == nil {
			c.set(k, g)
		}
	}
	set("blkio_config", s.BlkioConfig, s.BlkioConfig != nil)
	set("ulimits", s.Ulimits, len(s.Ulimits) > 0)
	set("devices", s.Devices, len(s.Devices) > 0)
	set("gpus", s.Gpus, len(s.Gpus) > 0)
	set("logging", s.Logging, s.Logging != nil)
	set("credential_spec", s.CredentialSpec, s.CredentialSpec != nil)
	set("post_start", s.PostStart, len(s.PostStart) > 0)
	set("pre_stop", s.PreStop, len(s.PreStop) > 0)
	set("models", s.Models, len(s.Models) > 0)
	if d := s.Deploy; d != nil {
		set("deploy.resources", d.Resources, !isZeroResources(d.Resources))
		set("deploy.restart_policy", d.RestartPolicy, d.RestartPolicy != nil)
	}
	if err != nil {
		return nil, err
	}

	configs, err := fileRefs(p, "config", s.Configs, p.Configs)
	if err != nil {
		return nil, err
	}
	secrets, err := fileRefs(p, "secret", s.Secrets, p.Secrets)
	if err != nil {
		return nil, err
	}
	c.set("configs", configs)
	c.set("secrets", secrets)
	return c, nil
}

func isZeroResources(r types.Resources) bool {
	return r.Limits == nil && r.Reservations == nil && len(r.Extensions) == 0
}

func strs[S ~[]E, E ~string](s S) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = string(v)
	}
	return out
}

func sortedStrs[S ~[]E, E ~string](s S) []any {
	c := make([]string, len(s))
	for i, v := range s {
		c[i] = string(v)
	}
	slices.Sort(c)
	return strs(slices.Compact(c))
}

func strMap[M ~map[string]string](m M) canon {
	c := canon{}
	for k, v := range m {
		c[k] = v
	}
	return c
}

func float(f float32) string {
	if f == 0 {
		return ""
	}
	return strconv.FormatFloat(float64(f), 'g', -1, 32)
}

func duration(d *types.Duration) string {
	if d == nil {
		return ""
	}
	return time.Duration(*d).String()
}

// environment keeps a variable without a value (unresolved) apart from an
// empty one.
func environment(env types.MappingWithEquals) canon {
	c := canon{}
	for k, v := range env {
		if v == nil {
			c[k] = canon{"unset": true}
			continue
		}
		c[k] = *v
	}
	return c
}

func mounts(vs []types.ServiceVolumeConfig) []any {
	out := make([]any, 0, len(vs))
	for _, v := range vs {
		m := canon{}
		m.set("type", v.Type)
		m.set("source", v.Source)
		m.set("target", v.Target)
		m.set("read_only", v.ReadOnly)
		m.set("consistency", v.Consistency)
		if b := v.Bind; b != nil {
			m.set("bind.selinux", b.SELinux)
			m.set("bind.propagation", b.Propagation)
			m.set("bind.create_host_path", bool(b.CreateHostPath))
			m.set("bind.recursive", b.Recursive)
		}
		if vol := v.Volume; vol != nil {
			m.set("volume.nocopy", vol.NoCopy)
			m.set("volume.subpath", vol.Subpath)
			m.set("volume.labels", strMap(vol.Labels))
		}
		if t := v.Tmpfs; t != nil {
			m.set("tmpfs.size", int64(t.Size))
			m.set("tmpfs.mode", int64(t.Mode))
		}
		if img := v.Image; img != nil {
			m.set("image.subpath", img.SubPath)
		}
		out = append(out, m)
	}
	return out
}

func ports(ps []types.ServicePortConfig) []any {
	out := make([]any, 0, len(ps))
	for _, p := range ps {
		m := canon{}
		m.set("name", p.Name)
		m.set("mode", p.Mode)
		m.set("host_ip", p.HostIP)
		m.set("target", int64(p.Target))
		m.set("published", p.Published)
		m.set("protocol", p.Protocol)
		m.set("app_protocol", p.AppProtocol)
		out = append(out, m)
	}
	return out
}

func networks(ns map[string]*types.ServiceNetworkConfig) canon {
	c := canon{}
	for name, n := range ns {
		m := canon{}
		if n != nil {
			m.set("aliases", sortedStrs(n.Aliases))
			m.set("driver_opts", strMap(n.DriverOpts))
			m.set("gw_priority", int64(n.GatewayPriority))
			m.set("interface_name", n.InterfaceName)
			m.set("ipv4_address", n.Ipv4Address)
			m.set("ipv6_address", n.Ipv6Address)
			m.set("link_local_ips", sortedStrs(n.LinkLocalIPs))
			m.set("mac_address", n.MacAddress)
			m.set("priority", int64(n.Priority))
			if n.UseServiceNameAlias != nil {
				m.set("use_service_name_alias", strconv.FormatBool(*n.UseServiceNameAlias))
			}
		}
		c[name] = m
	}
	return c
}

func healthcheck(h *types.HealthCheckConfig) canon {
	if h == nil {
		return nil
	}
	c := canon{}
	c.set("test", strs(h.Test))
	c.set("timeout", duration(h.Timeout))
	c.set("interval", duration(h.Interval))
	if h.Retries != nil {
		c.set("retries", strconv.FormatUint(*h.Retries, 10))
	}
	c.set("start_period", duration(h.StartPeriod))
	c.set("start_interval", duration(h.StartInterval))
	c.set("disable", h.Disable)
	return c
}

// fileRefs projects the service's configs or secrets (kind names which):
// where they are mounted and a digest of what they contain. compose-go
// gives the two kinds distinct types of the same shape.
func fileRefs[R types.ServiceConfigObjConfig | types.ServiceSecretConfig, O types.ConfigObjConfig | types.SecretConfig](p *types.Project, kind string, refs []R, objs map[string]O) ([]any, error) {
	var out []any
	for _, r := range refs {
		ref := types.FileReferenceConfig(r)
		obj, ok := objs[ref.Source]
		if !ok {
			return nil, fmt.Errorf("%s %s is not defined", kind, ref.Source)
		}
		m, err := fileRef(p, ref, types.FileObjectConfig(obj))
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", kind, ref.Source, err)
		}
		out = append(out, m)
	}
	return out, nil
}

func fileRef(p *types.Project, r types.FileReferenceConfig, obj types.FileObjectConfig) (canon, error) {
	m := canon{}
	m.set("source", r.Source)
	m.set("target", r.Target)
	m.set("uid", r.UID)
	m.set("gid", r.GID)
	if r.Mode != nil {
		m.set("mode", strconv.FormatInt(int64(*r.Mode), 8))
	}
	switch {
	case bool(obj.External):
		m.set("external", obj.Name)
	case obj.File != "":
		b, err := os.ReadFile(obj.File)
		if err != nil {
			return nil, err
		}
		m.set("content", digestOf(b))
	case obj.Environment != "":
		m.set("content", digestOf([]byte(p.Environment[obj.Environment])))
	default:
		m.set("content", digestOf([]byte(obj.Content)))
	}
	return m, nil
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// generic turns a compose-go value into plain JSON data, numbers kept as
// their decimal text.
func generic(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

// digest is a sha256 over length-prefixed fields, so no two sequences of
// fields hash alike.
type digest struct{ h hash.Hash }

func newDigest() *digest { return &digest{h: sha256.New()} }

func (d *digest) bytes(b []byte) {
	fmt.Fprintf(d.h, "%d:", len(b))
	d.h.Write(b)
}

func (d *digest) str(s string) { d.bytes([]byte(s)) }

func (d *digest) sum() string { return "sha256:" + hex.EncodeToString(d.h.Sum(nil)) }
