package images

import (
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Inspect is an image as `docker image inspect` shows it, with Docker's
// JSON field names.
type Inspect struct {
	ID            string `json:"Id"`
	RepoTags      []string
	RepoDigests   []string
	Parent        string
	Comment       string
	Created       string
	DockerVersion string
	Author        string
	Config        InspectConfig
	Architecture  string
	Variant       string `json:",omitempty"`
	Os            string
	OsVersion     string `json:",omitempty"`
	Size          int64
	GraphDriver   GraphDriver
	RootFS        RootFS
	Metadata      Metadata
}

// InspectConfig is the image's run configuration under Docker's names.
type InspectConfig struct {
	Hostname     string
	Domainname   string
	User         string
	AttachStdin  bool
	AttachStdout bool
	AttachStderr bool
	ExposedPorts map[string]struct{} `json:",omitempty"`
	Tty          bool
	OpenStdin    bool
	StdinOnce    bool
	Env          []string
	Cmd          []string
	Healthcheck  *v1.HealthConfig `json:",omitempty"`
	ArgsEscaped  bool             `json:",omitempty"`
	Image        string
	Volumes      map[string]struct{}
	WorkingDir   string
	Entrypoint   []string
	OnBuild      []string
	Labels       map[string]string
	StopSignal   string   `json:",omitempty"`
	Shell        []string `json:",omitempty"`
}

// GraphDriver says where the image's layers are: Data.LowerDir lists the
// unpacked layer directories top-first, as an overlayfs lowerdir option.
type GraphDriver struct {
	Data map[string]string
	Name string
}

// RootFS lists the image's layers by diff ID, bottom-first.
type RootFS struct {
	Type   string
	Layers []string
}

// Metadata holds what the store knows beyond the image itself.
type Metadata struct {
	LastTagTime string
}

// NewInspect describes im the way Docker's image inspect does.
func NewInspect(im *Image) Inspect {
	cf := im.Config
	c := cf.Config
	in := Inspect{
		ID:           im.ID,
		RepoTags:     nonNil(im.Tags()),
		RepoDigests:  nonNil(im.Digests()),
		Created:      cf.Created.UTC().Format(time.RFC3339Nano),
		Author:       cf.Author,
		Architecture: cf.Architecture,
		Variant:      cf.Variant,
		Os:           cf.OS,
		OsVersion:    cf.OSVersion,
		Size:         im.Size,
		Config: InspectConfig{
			Hostname: c.Hostname, Domainname: c.Domainname, User: c.User,
			AttachStdin: c.AttachStdin, AttachStdout: c.AttachStdout, AttachStderr: c.AttachStderr,
			ExposedPorts: c.ExposedPorts, Tty: c.Tty, OpenStdin: c.OpenStdin, StdinOnce: c.StdinOnce,
			Env: c.Env, Cmd: c.Cmd, Healthcheck: c.Healthcheck, ArgsEscaped: c.ArgsEscaped, Image: c.Image,
			Volumes: c.Volumes, WorkingDir: c.WorkingDir, Entrypoint: c.Entrypoint, OnBuild: c.OnBuild,
			Labels: c.Labels, StopSignal: c.StopSignal, Shell: c.Shell,
		},
		GraphDriver: GraphDriver{Name: "overlay", Data: map[string]string{}},
		RootFS:      RootFS{Type: "layers", Layers: []string{}},
		Metadata:    Metadata{LastTagTime: im.Tagged.UTC().Format(time.RFC3339Nano)},
	}
	//lint:ignore SA1019 docker image inspect still reports it, and images Docker built carry it
	in.DockerVersion = cf.DockerVersion
	if h := cf.History; len(h) > 0 {
		in.Comment = h[len(h)-1].Comment
	}
	dirs := im.LayerDirs()
	slices.Reverse(dirs)
	if len(dirs) > 0 {
		in.GraphDriver.Data["LowerDir"] = strings.Join(dirs, ":")
	}
	for _, l := range im.Layers {
		in.RootFS.Layers = append(in.RootFS.Layers, l.DiffID.String())
	}
	return in
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
