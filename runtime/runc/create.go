package runc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/runtime/ocispec"
	"github.com/berth-dev/berth/runtime/runc/monitor"
)

// DefaultStopTimeout is Docker's grace period between the stop signal and
// SIGKILL.
const DefaultStopTimeout = 10 * time.Second

// CreateOptions are what Docker's create takes beyond runtime.Config.
type CreateOptions struct {
	AutoRemove bool // --rm: remove the container after its final exit
	StdinOnce  bool // close stdin when the attached client closes it (run -i)
	PublishAll bool // -P: publish every port the image exposes on a free host port
	// ID is the container's ID, from NewID (to start a standby monitor
	// for it first: PrepareMonitor); empty: a new one.
	ID string
}

// Create makes a container from cfg without starting it and returns its ID.
func (r *Runtime) Create(ctx context.Context, cfg runtime.Config) (string, error) {
	return r.CreateContainer(ctx, cfg, CreateOptions{})
}

// CreateContainer is Create with Docker's extra options. On any error
// nothing is left behind: no directory, no name, no mount.
func (r *Runtime) CreateContainer(ctx context.Context, cfg runtime.Config, o CreateOptions) (_ string, err error) {
	if _, err := r.CheckRuntime(); err != nil {
		return "", err
	}
	mon, err := r.monitorPath()
	if err != nil {
		return "", err
	}
	if !r.networksWired() && isDefaultNetwork(cfg.NetworkMode) && len(cfg.Networks) == 0 {
		// Without berth's networks the default is what runc gives: a
		// namespace of its own with loopback only.
		cfg.NetworkMode = "none"
	}
	if err := r.checkNetworks(ctx, cfg); err != nil {
		return "", err
	}
	if r.opts.Images == nil {
		return "", errdefs.ErrFailedPrecondition.WithMessage("create: no image store")
	}
	img, err := r.opts.Images.Image(ctx, cfg.Image)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return "", errdefs.ErrNotFound.WithMessage(fmt.Sprintf("No such image: %s", cfg.Image))
		}
		return "", fmt.Errorf("create: image %s: %w", cfg.Image, err)
	}

	id := o.ID
	if id == "" {
		id = newID()
	} else if !isID(id) {
		return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid container ID %q", id))
	} else if r.dirExists(id) {
		return "", errdefs.ErrAlreadyExists.WithMessage(fmt.Sprintf("container %s already exists", id))
	}
	name := cfg.Name
	if name == "" {
		name, err = r.generateName(id)
	} else {
		err = r.reserveName(name, id)
	}
	if err != nil {
		return "", err
	}
	dir := r.containerDir(id)
	var vols []VolumeMount
	defer func() {
		if err != nil {
			_ = r.releaseVolumes(ctx, id, vols, true)
			_ = os.RemoveAll(dir)
			r.releaseName(name, id)
		}
	}()
	for _, d := range []string{dir, filepath.Join(dir, "upper"), filepath.Join(dir, "work")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return "", fmt.Errorf("create: %w", err)
		}
	}
	cfg.Name = name
	asked := cfg.Ports
	if o.PublishAll {
		cfg.Ports = publishAll(cfg.Ports, img.Config.ExposedPorts)
	}
	merged := ocispec.MergeImage(cfg, img.Config)
	argv, err := ocispec.Command(merged)
	if err != nil {
		return "", err
	}
	hostname := cfg.Hostname
	if hostname == "" {
		hostname = ShortID(id)
		if cfg.NetworkMode == "host" {
			hostname, _ = os.Hostname()
		}
	}
	if err := writeEtcFiles(dir, hostname, cfg); err != nil {
		return "", fmt.Errorf("create: %w", err)
	}
	netnsPath, err := r.specNetNS(ctx, cfg, id)
	if err != nil {
		return "", err
	}
	vols, volDirs, err := r.mountVolumes(ctx, id, cfg, imageVolumes(cfg, img))
	if err != nil {
		return "", err
	}
	spec, err := r.generateSpec(id, dir, hostname, mon, cfg, img, netnsPath, volDirs)
	if err != nil {
		return "", err
	}
	rec, err := newRecord(id, name, cfg, merged, argv, img, o)
	if err != nil {
		return "", err
	}
	rec.NetNSPath, rec.Volumes = netnsPath, vols
	if o.PublishAll {
		rec.PublishAll, rec.PortBindings = true, asked
	}
	recData, err := rec.json()
	if err != nil {
		return "", fmt.Errorf("create: %w", err)
	}
	// The spec, then the record, which makes the container: both durable,
	// with one wait for the disk.
	if err := atomicfile.WriteAll(
		atomicfile.File{Path: filepath.Join(dir, "config.json"), Data: spec, Perm: 0o600},
		atomicfile.File{Path: filepath.Join(dir, recordFile), Data: recData, Perm: 0o600},
	); err != nil {
		return "", fmt.Errorf("create: %w", err)
	}
	if _, err := monitor.Update(ctx, dir, func(st *monitor.State) error {
		*st = monitor.State{Status: monitor.Created}
		return nil
	}); err != nil {
		return "", fmt.Errorf("create: %w", err)
	}
	r.event(rec, "create")
	return id, nil
}

// generateSpec generates the container's OCI spec (ocispec, Docker's
// defaults) fitted to this host, as config.json's content.
func (r *Runtime) generateSpec(id, dir, hostname, initBinary string, cfg runtime.Config, img Image, netnsPath string, volDirs map[string]string) ([]byte, error) {
	caps, _ := ocispec.HostCapabilities()
	var devices []specs.LinuxDevice
	if cfg.Privileged {
		var err error
		if devices, err = ocispec.HostDevices(); err != nil {
			return nil, fmt.Errorf("create: %w", err)
		}
	}
	spec, err := ocispec.Generate(cfg, img.Config, ocispec.Options{
		RootPath:       r.rootfs(id),
		RootFS:         layerFS(img.Layers),
		Hostname:       hostname,
		HostnamePath:   filepath.Join(dir, "hostname"),
		HostsPath:      filepath.Join(dir, "hosts"),
		ResolvConfPath: filepath.Join(dir, "resolv.conf"),
		InitBinary:     initBinary,
		CgroupsPath:    cgroupsPath(id),
		CgroupV2:       cgroupV2(),
		Capabilities:   caps,
		Devices:        devices,
		ReadFile:       os.ReadFile,
		NetNSPath:      netnsPath,
		Volumes:        volDirs,
		IA32Refused:    r.ia32Refused(),
	})
	if err != nil {
		return nil, err
	}
	if err := fitHost(spec); err != nil {
		return nil, err
	}
	data, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	return append(data, '\n'), nil
}

// newRecord is the record of a new container: what it was asked for and
// what its image adds (healthcheck, stop signal), resolved once.
func newRecord(id, name string, cfg, merged runtime.Config, argv []string, img Image, o CreateOptions) (*Record, error) {
	hc := cfg.Healthcheck
	if hc == nil {
		hc = img.Healthcheck
	}
	if hc != nil && (len(hc.Test) == 0 || hc.Test[0] == "NONE") {
		hc = nil
	}
	stopTimeout := DefaultStopTimeout
	if cfg.StopTimeout != nil {
		stopTimeout = *cfg.StopTimeout
	}
	sig, err := ocispec.StopSignal(cfg, img.Config)
	if err != nil {
		return nil, err
	}
	return &Record{
		ID: id, Name: name, Created: time.Now().UTC(),
		Image: cfg.Image, ImageID: img.ID,
		Config: merged, ImageConfig: img.Config,
		Path: argv[0], Args: argv[1:], Layers: img.Layers,
		Healthcheck: hc, StopSignal: strconv.Itoa(int(sig)), StopTimeout: stopTimeout,
		AutoRemove: o.AutoRemove, StdinOnce: o.StdinOnce,
	}, nil
}

func cgroupsPath(id string) string { return "/berth/" + id }

// generateName picks a free Docker-style name (adjective_surname).
func (r *Runtime) generateName(id string) (string, error) {
	for i := 0; ; i++ {
		n := adjectives[rand.IntN(len(adjectives))] + "_" + surnames[rand.IntN(len(surnames))]
		if i > 5 {
			n += fmt.Sprint(rand.IntN(100))
		}
		err := r.reserveName(n, id)
		if err == nil {
			return n, nil
		}
		if !errors.Is(err, errdefs.ErrAlreadyExists) || i > 20 {
			return "", err
		}
	}
}

var adjectives = []string{"admiring", "bold", "brave", "busy", "clever", "dreamy", "eager", "elastic", "festive", "gallant", "happy", "jolly", "keen", "lucid", "modest", "nifty", "quirky", "serene", "sharp", "tender", "vibrant", "wizardly", "youthful", "zealous"}

var surnames = []string{"babbage", "curie", "darwin", "einstein", "feynman", "galileo", "hopper", "hypatia", "kepler", "lovelace", "meitner", "newton", "noether", "pascal", "ritchie", "shannon", "thompson", "turing", "wozniak", "yalow"}

// publishAll adds, for -P, a binding on a free host port for every port the
// image exposes ("80/tcp") that ports does not publish already. It is pure.
func publishAll(ports []runtime.PortBinding, exposed map[string]struct{}) []runtime.PortBinding {
	out := slices.Clone(ports)
	for _, k := range slices.Sorted(maps.Keys(exposed)) {
		num, proto, _ := strings.Cut(k, "/")
		if proto == "" {
			proto = "tcp"
		}
		n, err := strconv.ParseUint(num, 10, 16)
		if err != nil || n == 0 {
			continue
		}
		if slices.ContainsFunc(out, func(p runtime.PortBinding) bool {
			return p.ContainerPort == uint16(n) && p.Protocol == proto
		}) {
			continue
		}
		out = append(out, runtime.PortBinding{ContainerPort: uint16(n), Protocol: proto})
	}
	return out
}
