package runc

import (
	"context"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/internal/dirsize"
	"github.com/berth-dev/berth/runtime/runc/monitor"
)

// Observed is a container's record with its state as observed.
type Observed struct {
	Record *Record
	State  monitor.State
}

// ListObserved returns every container's record and observed state. The
// records are read and decoded on every core: `ps` and a no-op `up` of a
// large stack spend most of their time here.
func (r *Runtime) ListObserved(ctx context.Context) ([]Observed, error) {
	ids, err := r.dirIDs()
	if err != nil {
		return nil, err
	}
	type result struct {
		obs Observed
		ok  bool
		err error
	}
	res := make([]result, len(ids))
	one := func(i int) {
		rec, err := r.readRecord(ids[i])
		if errdefs.IsNotFound(err) {
			return // being created or removed
		}
		if err != nil {
			res[i].err = err
			return
		}
		st, err := r.observe(ctx, rec)
		res[i] = result{Observed{rec, st}, err == nil, err}
	}
	workers := min(goruntime.GOMAXPROCS(0), (len(ids)+15)/16)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(ids); i = int(next.Add(1)) - 1 {
				one(i)
			}
		})
	}
	wg.Wait()
	out := make([]Observed, 0, len(ids))
	for _, r := range res {
		if r.err != nil {
			return nil, r.err
		}
		if r.ok {
			out = append(out, r.obs)
		}
	}
	return out, nil
}

// SizeRw is the size of the files the container changed (its upper dir).
func (r *Runtime) SizeRw(id string) int64 {
	return dirsize.Regular(filepath.Join(r.containerDir(id), "upper"))
}

// Inspect is Docker's container inspect document, for the fields berth has.
type Inspect struct {
	ID              string         `json:"Id"`
	Created         string         `json:"Created"`
	Path            string         `json:"Path"`
	Args            []string       `json:"Args"`
	State           InspectState   `json:"State"`
	Image           string         `json:"Image"`
	ResolvConfPath  string         `json:"ResolvConfPath"`
	HostnamePath    string         `json:"HostnamePath"`
	HostsPath       string         `json:"HostsPath"`
	LogPath         string         `json:"LogPath"`
	Name            string         `json:"Name"`
	RestartCount    int            `json:"RestartCount"`
	Driver          string         `json:"Driver"`
	Platform        string         `json:"Platform"`
	HostConfig      HostConfig     `json:"HostConfig"`
	GraphDriver     GraphDriver    `json:"GraphDriver"`
	SizeRw          *int64         `json:"SizeRw,omitempty"`
	SizeRootFs      *int64         `json:"SizeRootFs,omitempty"` // SizeRw and the image's size; the caller, who has the image store, sets it
	Mounts          []MountPoint   `json:"Mounts"`
	Config          InspectConfig  `json:"Config"`
	NetworkSettings map[string]any `json:"NetworkSettings"`
}

// InspectState is Docker's State.
type InspectState struct {
	Status     string               `json:"Status"`
	Running    bool                 `json:"Running"`
	Paused     bool                 `json:"Paused"`
	Restarting bool                 `json:"Restarting"`
	OOMKilled  bool                 `json:"OOMKilled"`
	Dead       bool                 `json:"Dead"`
	Pid        int                  `json:"Pid"`
	ExitCode   int                  `json:"ExitCode"`
	Error      string               `json:"Error"`
	StartedAt  string               `json:"StartedAt"`
	FinishedAt string               `json:"FinishedAt"`
	Health     *monitor.HealthState `json:"Health,omitempty"`
}

// HostConfig is the part of Docker's HostConfig berth keeps.
type HostConfig struct {
	Binds          []string          `json:"Binds"`
	NetworkMode    string            `json:"NetworkMode"`
	PortBindings   PortMap           `json:"PortBindings"`
	RestartPolicy  map[string]any    `json:"RestartPolicy"`
	AutoRemove     bool              `json:"AutoRemove"`
	CapAdd         []string          `json:"CapAdd"`
	CapDrop        []string          `json:"CapDrop"`
	DNS            []string          `json:"Dns"`
	DNSOptions     []string          `json:"DnsOptions"`
	DNSSearch      []string          `json:"DnsSearch"`
	ExtraHosts     []string          `json:"ExtraHosts"`
	Privileged     bool              `json:"Privileged"`
	PublishAll     bool              `json:"PublishAllPorts"`
	ReadonlyRootfs bool              `json:"ReadonlyRootfs"`
	SecurityOpt    []string          `json:"SecurityOpt"`
	Tmpfs          map[string]string `json:"Tmpfs,omitempty"`
	ShmSize        int64             `json:"ShmSize"`
	Sysctls        map[string]string `json:"Sysctls,omitempty"`
	Memory         int64             `json:"Memory"`
	NanoCpus       int64             `json:"NanoCpus"`
	CPUShares      int64             `json:"CpuShares"`
	PidsLimit      *int64            `json:"PidsLimit"`
	Ulimits        []map[string]any  `json:"Ulimits"`
	Init           *bool             `json:"Init,omitempty"`
}

// GraphDriver is Docker's GraphDriver (overlay dirs).
type GraphDriver struct {
	Name string            `json:"Name"`
	Data map[string]string `json:"Data"`
}

// MountPoint is one of Docker's Mounts.
type MountPoint struct {
	Type        string `json:"Type"`
	Name        string `json:"Name,omitempty"`
	Source      string `json:"Source"`
	Destination string `json:"Destination"`
	Driver      string `json:"Driver,omitempty"`
	Mode        string `json:"Mode"`
	RW          bool   `json:"RW"`
	Propagation string `json:"Propagation"`
}

// InspectConfig is Docker's Config.
type InspectConfig struct {
	Hostname     string              `json:"Hostname"`
	Domainname   string              `json:"Domainname"`
	User         string              `json:"User"`
	AttachStdin  bool                `json:"AttachStdin"`
	AttachStdout bool                `json:"AttachStdout"`
	AttachStderr bool                `json:"AttachStderr"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	Tty          bool                `json:"Tty"`
	OpenStdin    bool                `json:"OpenStdin"`
	StdinOnce    bool                `json:"StdinOnce"`
	Env          []string            `json:"Env"`
	Cmd          []string            `json:"Cmd"`
	Healthcheck  any                 `json:"Healthcheck,omitempty"`
	Image        string              `json:"Image"`
	Volumes      map[string]struct{} `json:"Volumes"`
	WorkingDir   string              `json:"WorkingDir"`
	Entrypoint   []string            `json:"Entrypoint"`
	Labels       map[string]string   `json:"Labels"`
	StopSignal   string              `json:"StopSignal,omitempty"`
	StopTimeout  *int                `json:"StopTimeout,omitempty"`
}

func dockerTime(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// Inspect returns Docker's inspect document for a container; size adds
// SizeRw.
func (r *Runtime) Inspect(ctx context.Context, ref string, size bool) (*Inspect, error) {
	rec, st, err := r.State(ctx, ref)
	if err != nil {
		return nil, err
	}
	c := rec.Config
	dir := r.containerDir(rec.ID)
	status := st.Status
	in := &Inspect{
		ID: rec.ID, Created: dockerTime(rec.Created), Path: rec.Path, Args: nonNil(rec.Args),
		State: InspectState{
			Status: status, Running: status == monitor.Running || status == monitor.Paused || status == monitor.Restarting,
			Paused: status == monitor.Paused, Restarting: status == monitor.Restarting, OOMKilled: st.OOMKilled,
			Dead: status == monitor.Dead, Pid: st.Pid, ExitCode: st.ExitCode, Error: st.Error,
			StartedAt: dockerTime(st.StartedAt), FinishedAt: dockerTime(st.FinishedAt), Health: st.Health,
		},
		Image:          rec.ImageID,
		ResolvConfPath: filepath.Join(dir, "resolv.conf"), HostnamePath: filepath.Join(dir, "hostname"),
		HostsPath: filepath.Join(dir, "hosts"), LogPath: r.LogPath(rec.ID),
		Name: "/" + rec.Name, RestartCount: st.RestartCount, Driver: "overlay", Platform: "linux",
		GraphDriver: GraphDriver{Name: "overlay", Data: map[string]string{
			"LowerDir": strings.Join(rec.Layers, ":"), "UpperDir": filepath.Join(dir, "upper"),
			"WorkDir": filepath.Join(dir, "work"), "MergedDir": r.rootfs(rec.ID),
		}},
		Mounts: []MountPoint{},
		Config: InspectConfig{
			Hostname: c.Hostname, Domainname: c.Domainname, User: c.User,
			AttachStdin: c.OpenStdin && rec.StdinOnce, AttachStdout: true, AttachStderr: true,
			Tty: c.Tty, OpenStdin: c.OpenStdin, StdinOnce: rec.StdinOnce,
			Env: nonNil(c.Env), Cmd: c.Cmd, Image: rec.Image, WorkingDir: c.WorkingDir,
			Entrypoint: c.Entrypoint, Labels: nonNilMap(c.Labels), StopSignal: c.StopSignal,
			Volumes: rec.ImageConfig.Volumes, ExposedPorts: ExposedPorts(rec.ImageConfig.ExposedPorts, rec.Config.Ports),
		},
		NetworkSettings: r.networkSettings(ctx, rec, st),
	}
	if in.Config.Hostname == "" {
		if b, err := os.ReadFile(in.HostnamePath); err == nil {
			in.Config.Hostname = strings.TrimSpace(string(b))
		}
	}
	if hc := rec.Healthcheck; hc != nil {
		in.Config.Healthcheck = map[string]any{"Test": hc.Test, "Interval": hc.Interval, "Timeout": hc.Timeout, "StartPeriod": hc.StartPeriod, "StartInterval": hc.StartInterval, "Retries": hc.Retries}
	}
	if c.StopTimeout != nil {
		s := int(c.StopTimeout.Seconds())
		in.Config.StopTimeout = &s
	}
	nm := c.NetworkMode
	if nm == "" {
		nm = "bridge"
	}
	h := HostConfig{
		NetworkMode: nm, AutoRemove: rec.AutoRemove,
		PortBindings: PortBindings(askedPorts(rec)), PublishAll: rec.PublishAll,
		RestartPolicy: map[string]any{"Name": orNo(c.Restart.Name), "MaximumRetryCount": c.Restart.MaximumRetryCount},
		CapAdd:        c.CapAdd, CapDrop: c.CapDrop, DNS: c.DNS, DNSOptions: c.DNSOptions, DNSSearch: c.DNSSearch,
		ExtraHosts: c.ExtraHosts, Privileged: c.Privileged, ReadonlyRootfs: c.ReadOnly, SecurityOpt: c.SecurityOpt,
		Tmpfs: c.Tmpfs, ShmSize: c.ShmSize, Sysctls: c.Sysctls, Memory: c.Resources.Memory,
		NanoCpus: c.Resources.NanoCPUs, CPUShares: c.Resources.CPUShares,
	}
	if c.Resources.PidsLimit != 0 {
		p := c.Resources.PidsLimit
		h.PidsLimit = &p
	}
	if c.Init {
		t := true
		h.Init = &t
	}
	for _, u := range c.Ulimits {
		h.Ulimits = append(h.Ulimits, map[string]any{"Name": u.Name, "Soft": u.Soft, "Hard": u.Hard})
	}
	vols := map[string]VolumeMount{}
	for _, vm := range rec.Volumes {
		vols[vm.Target] = vm
	}
	for _, m := range c.Mounts {
		if m.Type == "volume" {
			continue // below, with the volume's name and directory
		}
		mode := "rw"
		if m.ReadOnly {
			mode = "ro"
		}
		if m.Type == "bind" {
			h.Binds = append(h.Binds, m.Source+":"+m.Target+":"+mode)
		}
		prop := m.Propagation
		if prop == "" && m.Type == "bind" {
			prop = "rprivate"
		}
		in.Mounts = append(in.Mounts, MountPoint{Type: m.Type, Source: m.Source, Destination: m.Target, Mode: mode, RW: !m.ReadOnly, Propagation: prop})
	}
	for _, vm := range rec.Volumes {
		mode := "z"
		if vm.ReadOnly {
			mode = "ro"
		}
		in.Mounts = append(in.Mounts, MountPoint{Type: "volume", Name: vm.Name, Source: vm.Source, Destination: vm.Target, Driver: "local", Mode: mode, RW: !vm.ReadOnly})
	}
	in.HostConfig = h
	if size {
		n := r.SizeRw(rec.ID)
		in.SizeRw = &n
	}
	return in, nil
}

func orNo(s string) string {
	if s == "" {
		return "no"
	}
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// ImagesInUse returns the IDs of the images some container (in any state)
// was created from. It reads records only, so it is cheap and runs no
// runtime binary.
func (r *Runtime) ImagesInUse() (map[string]bool, error) {
	ids, err := r.ids()
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, id := range ids {
		if rec, err := r.readRecord(id); err == nil {
			used[rec.ImageID] = true
		}
	}
	return used, nil
}
