package reconcile

import (
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/volumes"
)

func ptr[T any](v T) *T { return &v }

func TestContainerConfig(t *testing.T) {
	// base is the config of a plain busybox replica 1 of service app.
	base := func(mod func(*runtime.Config)) runtime.Config {
		c := runtime.Config{
			Name:        "demo-app-1",
			Image:       "busybox",
			Env:         []string{},
			NetworkMode: "demo_default",
			Networks:    []runtime.NetworkAttachment{{Network: "demo_default", Aliases: []string{"app"}}},
			Restart:     runtime.RestartPolicy{Name: "no"},
		}
		if mod != nil {
			mod(&c)
		}
		return c
	}
	tests := []struct {
		name    string
		mod     func(*types.ServiceConfig)
		project func(*types.Project)
		number  int
		want    runtime.Config
	}{
		{name: "plain", want: base(nil)},
		{
			name: "env command entrypoint",
			mod: func(s *types.ServiceConfig) {
				withEnv("B", "2", "A", "1")(s)
				s.Environment["UNSET"] = nil
				s.Command = types.ShellCommand{"sh", "-c", "echo hi"}
				s.Entrypoint = types.ShellCommand{}
				s.WorkingDir, s.User, s.Hostname = "/app", "1000:1000", "apphost"
				s.Tty, s.StdinOpen = true, true
			},
			want: base(func(c *runtime.Config) {
				c.Env = []string{"A=1", "B=2"}
				c.Cmd = []string{"sh", "-c", "echo hi"}
				c.Entrypoint = []string{}
				c.WorkingDir, c.User, c.Hostname = "/app", "1000:1000", "apphost"
				c.Tty, c.OpenStdin = true, true
			}),
		},
		{
			name:   "ports with a range spread over replicas",
			mod:    withPorts("127.0.0.1:8080:80", "9000-9002:9000/udp", "443"),
			number: 2,
			want: base(func(c *runtime.Config) {
				c.Name = "demo-app-2"
				c.Ports = []runtime.PortBinding{
					{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
					{HostPort: 9001, ContainerPort: 9000, Protocol: "udp"},
					{ContainerPort: 443, Protocol: "tcp"},
				}
			}),
		},
		{
			name: "volumes secrets configs",
			mod: func(s *types.ServiceConfig) {
				withVolume("data", "/data")(s)
				withVolume("/srv/conf", "/etc/app")(s)
				s.Volumes[1].ReadOnly = true
				s.Volumes[1].Bind = &types.ServiceVolumeBind{Propagation: "rslave"}
				s.Volumes = append(s.Volumes,
					types.ServiceVolumeConfig{Type: types.VolumeTypeVolume, Target: "/anon"},
					types.ServiceVolumeConfig{Type: types.VolumeTypeTmpfs, Target: "/scratch", Tmpfs: &types.ServiceVolumeTmpfs{Size: 1 << 20, Mode: 0o700}},
					types.ServiceVolumeConfig{Type: types.VolumeTypeVolume, Source: "certs", Target: "/certs", Volume: &types.ServiceVolumeVolume{NoCopy: true}})
				s.Secrets = []types.ServiceSecretConfig{{Source: "token"}}
				s.Configs = []types.ServiceConfigObjConfig{{Source: "nginx", Target: "/etc/nginx.conf"}}
				s.Tmpfs = types.StringList{"/run:size=64m"}
			},
			project: func(p *types.Project) {
				p.Volumes["certs"] = types.VolumeConfig{External: true, Name: "shared-certs"}
				p.Secrets = types.Secrets{"token": {File: "/srv/token.txt"}}
				p.Configs = types.Configs{"nginx": {File: "/srv/nginx.conf"}}
			},
			want: base(func(c *runtime.Config) {
				c.Mounts = []runtime.Mount{
					{Type: "volume", Source: "demo_data", Target: "/data"},
					{Type: "bind", Source: "/srv/conf", Target: "/etc/app", ReadOnly: true, Propagation: "rslave"},
					{Type: "volume", Target: "/anon"},
					{Type: "tmpfs", Target: "/scratch", TmpfsSize: 1 << 20, TmpfsMode: 0o700},
					{Type: "volume", Source: "shared-certs", Target: "/certs", NoCopy: true},
					{Type: "bind", Source: "/srv/token.txt", Target: "/run/secrets/token", ReadOnly: true},
					{Type: "bind", Source: "/srv/nginx.conf", Target: "/etc/nginx.conf", ReadOnly: true},
				}
				c.Tmpfs = map[string]string{"/run": "size=64m"}
			}),
		},
		{
			name: "networks by priority with aliases and addresses",
			mod: func(s *types.ServiceConfig) {
				s.Networks = map[string]*types.ServiceNetworkConfig{
					"back":  {Aliases: []string{"api"}, Ipv4Address: "10.1.0.5"},
					"front": {Priority: 10, UseServiceNameAlias: ptr(false)},
				}
			},
			project: func(p *types.Project) {
				p.Networks = types.Networks{"back": {}, "front": {Name: "edge"}}
			},
			want: base(func(c *runtime.Config) {
				c.NetworkMode = "edge"
				c.Networks = []runtime.NetworkAttachment{
					{Network: "edge"},
					{Network: "demo_back", Aliases: []string{"app", "api"}, IPv4: "10.1.0.5"},
				}
			}),
		},
		{
			name: "network_mode service",
			mod:  func(s *types.ServiceConfig) { s.Networks = nil; s.NetworkMode = "service:vpn" },
			project: func(p *types.Project) {
				p.Services["vpn"] = service("vpn", "busybox", func(s *types.ServiceConfig) { s.ContainerName = "the-vpn" })
			},
			want: base(func(c *runtime.Config) { c.NetworkMode = "container:the-vpn"; c.Networks = nil }),
		},
		{
			name: "healthcheck restart stop",
			mod: func(s *types.ServiceConfig) {
				s.HealthCheck = &types.HealthCheckConfig{
					Test: types.HealthCheckTest{"CMD-SHELL", "true"}, Interval: ptr(types.Duration(5 * time.Second)),
					Timeout: ptr(types.Duration(time.Second)), Retries: ptr(uint64(3)), StartPeriod: ptr(types.Duration(10 * time.Second)),
				}
				s.Restart = "on-failure:5"
				s.StopSignal = "SIGINT"
				s.StopGracePeriod = ptr(types.Duration(30 * time.Second))
			},
			want: base(func(c *runtime.Config) {
				c.Healthcheck = &runtime.Healthcheck{Test: []string{"CMD-SHELL", "true"}, Interval: 5 * time.Second,
					Timeout: time.Second, Retries: 3, StartPeriod: 10 * time.Second}
				c.Restart = runtime.RestartPolicy{Name: "on-failure", MaximumRetryCount: 5}
				c.StopSignal = "SIGINT"
				c.StopTimeout = ptr(30 * time.Second)
			}),
		},
		{
			name: "healthcheck disabled and deploy restart policy",
			mod: func(s *types.ServiceConfig) {
				s.HealthCheck = &types.HealthCheckConfig{Disable: true}
				s.Deploy = &types.DeployConfig{RestartPolicy: &types.RestartPolicy{Condition: "any", MaxAttempts: ptr(uint64(2))}}
			},
			want: base(func(c *runtime.Config) {
				c.Healthcheck = &runtime.Healthcheck{Test: []string{"NONE"}}
				c.Restart = runtime.RestartPolicy{Name: "always", MaximumRetryCount: 2}
			}),
		},
		{
			name: "resources and security",
			mod: func(s *types.ServiceConfig) {
				s.MemLimit, s.CPUS, s.PidsLimit, s.CPUShares, s.CPUSet = 1<<30, 1.5, 100, 512, "0-1"
				s.Deploy = &types.DeployConfig{Resources: types.Resources{
					Limits:       &types.Resource{MemoryBytes: 512 << 20},
					Reservations: &types.Resource{MemoryBytes: 256 << 20},
				}}
				s.CapAdd, s.CapDrop = []string{"NET_ADMIN"}, []string{"ALL"}
				s.Privileged, s.ReadOnly, s.Init = true, true, ptr(true)
				s.SecurityOpt = []string{"no-new-privileges:true"}
				s.Sysctls = types.Mapping{"net.core.somaxconn": "1024"}
				s.Ulimits = map[string]*types.UlimitsConfig{"nproc": {Single: 65535}, "nofile": {Soft: 1024, Hard: 4096}}
				s.ShmSize = 64 << 20
				s.GroupAdd = []string{"audio"}
				s.ExtraHosts = types.HostsList{"db.local": {"10.0.0.2"}}
				s.DNS = types.StringList{"1.1.1.1"}
			},
			want: base(func(c *runtime.Config) {
				c.Resources = runtime.Resources{Memory: 512 << 20, MemoryReservation: 256 << 20, NanoCPUs: 1.5e9,
					CPUShares: 512, PidsLimit: 100, CpusetCpus: "0-1"}
				c.CapAdd, c.CapDrop = []string{"NET_ADMIN"}, []string{"ALL"}
				c.Privileged, c.ReadOnly, c.Init = true, true, true
				c.SecurityOpt = []string{"no-new-privileges:true"}
				c.Sysctls = map[string]string{"net.core.somaxconn": "1024"}
				c.Ulimits = []runtime.Ulimit{{Name: "nofile", Soft: 1024, Hard: 4096}, {Name: "nproc", Soft: 65535, Hard: 65535}}
				c.ShmSize = 64 << 20
				c.GroupAdd = []string{"audio"}
				c.ExtraHosts = []string{"db.local:10.0.0.2"}
				c.DNS = []string{"1.1.1.1"}
			}),
		},
		{
			name: "container_name and build-only image",
			mod: func(s *types.ServiceConfig) {
				s.Image = ""
				s.Build = &types.BuildConfig{Context: "."}
				s.ContainerName = "app"
			},
			want: base(func(c *runtime.Config) { c.Name, c.Image = "app", "demo-app" }),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := service("app", "busybox")
			if tc.mod != nil {
				tc.mod(&s)
			}
			p := project("demo", s)
			if tc.project != nil {
				tc.project(p)
			}
			n := tc.number
			if n == 0 {
				n = 1
			}
			got, err := containerConfig(p, "app", n, "h")
			if err != nil {
				t.Fatal(err)
			}
			got.Labels = nil // checked by TestContainerLabels
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestContainerLabels(t *testing.T) {
	s := service("web", "nginx:1.27", func(s *types.ServiceConfig) {
		s.Labels = types.Labels{"traefik.enable": "true", "io.berth.stack": "spoofed"}
	}, withDependsOn("db", types.ServiceConditionHealthy, true), withDependsOn("cache", "", false))
	p := project("demo", s, service("db", "postgres:16"), service("cache", "redis:7"))
	p.ComposeFiles = []string{"/srv/demo/compose.yaml", "/srv/demo/compose.override.yaml"}
	got, err := containerConfig(p, "web", 2, "abc")
	if err != nil {
		t.Fatal(err)
	}
	record, ok := got.Labels[LabelServiceConfig]
	if !ok {
		t.Fatal("no service record label")
	}
	if tree, err := decode([]byte(record)); err != nil || tree["image"] != "nginx:1.27" {
		t.Errorf("service record %s: %v", record, err)
	}
	delete(got.Labels, LabelServiceConfig)
	files := "/srv/demo/compose.yaml,/srv/demo/compose.override.yaml"
	want := map[string]string{
		"traefik.enable":                          "true",
		"io.berth.stack":                          "demo",
		"io.berth.service":                        "web",
		"io.berth.number":                         "2",
		"io.berth.config-hash":                    "abc",
		"io.berth.oneoff":                         "False",
		"io.berth.config-files":                   files,
		"io.berth.working-dir":                    "/srv/demo",
		"io.berth.depends-on":                     "cache:service_started:false,db:service_healthy:true",
		"com.docker.compose.depends_on":           "cache:service_started:false,db:service_healthy:true",
		"com.docker.compose.project":              "demo",
		"com.docker.compose.service":              "web",
		"com.docker.compose.container-number":     "2",
		"com.docker.compose.config-hash":          "abc",
		"com.docker.compose.oneoff":               "False",
		"com.docker.compose.project.config_files": files,
		"com.docker.compose.project.working_dir":  "/srv/demo",
	}
	if diff := cmp.Diff(want, got.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
}

func TestNetworkAndVolumeConfig(t *testing.T) {
	p := project("demo", service("web", "nginx:1.27", withNetworks("front"), withVolume("data", "/data")))
	p.Networks["front"] = types.NetworkConfig{
		Internal: true, EnableIPv6: ptr(true), Labels: types.Labels{"a": "b"},
		Ipam: types.IPAMConfig{Config: []*types.IPAMPool{{Subnet: "10.5.0.0/24", Gateway: "10.5.0.1"}}},
	}
	p.Volumes["data"] = types.VolumeConfig{DriverOpts: types.Options{"type": "tmpfs"}}
	wantNet := network.Config{
		Name: "demo_front", Driver: "bridge", Internal: true, IPv6: true,
		Labels: map[string]string{"a": "b", "io.berth.stack": "demo", "io.berth.network": "front",
			"com.docker.compose.project": "demo", "com.docker.compose.network": "front"},
		Subnets: []network.Subnet{{Subnet: "10.5.0.0/24", Gateway: "10.5.0.1"}},
	}
	if diff := cmp.Diff(wantNet, networkConfig(p, "front")); diff != "" {
		t.Errorf("network (-want +got):\n%s", diff)
	}
	wantVol := volumes.Config{
		Name: "demo_data", Driver: "local", Options: map[string]string{"type": "tmpfs"},
		Labels: map[string]string{"io.berth.stack": "demo", "io.berth.volume": "data",
			"com.docker.compose.project": "demo", "com.docker.compose.volume": "data"},
	}
	if diff := cmp.Diff(wantVol, volumeConfig(p, "data")); diff != "" {
		t.Errorf("volume (-want +got):\n%s", diff)
	}
}

func TestRunConfig(t *testing.T) {
	p := project("demo", service("web", "nginx:1.27", withEnv("A", "1", "B", "2"), withPorts("8080:80"), withCommand("nginx")))
	got, err := RunConfig(p, "web", RunOptions{
		Suffix: "abc", Command: []string{"sh"}, Env: []string{"B=3", "C=4"},
		Publish: []runtime.PortBinding{{HostPort: 9000, ContainerPort: 90, Protocol: "tcp"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "demo-web-run-abc" || got.Labels["io.berth.oneoff"] != "True" || got.Labels["com.docker.compose.oneoff"] != "True" {
		t.Errorf("name %s, labels %v", got.Name, got.Labels)
	}
	if _, ok := got.Labels["io.berth.config-hash"]; ok {
		t.Error("a one-off container carries a config hash")
	}
	want := runtime.Config{Cmd: []string{"sh"}, Env: []string{"A=1", "B=3", "C=4"},
		Ports: []runtime.PortBinding{{HostPort: 9000, ContainerPort: 90, Protocol: "tcp"}}, Restart: runtime.RestartPolicy{Name: "no"}}
	if diff := cmp.Diff(want, runtime.Config{Cmd: got.Cmd, Env: got.Env, Ports: got.Ports, Restart: got.Restart}); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	got, _ = RunConfig(p, "web", RunOptions{Suffix: "x", ServicePorts: true})
	if len(got.Ports) != 1 || got.Ports[0].HostPort != 8080 {
		t.Errorf("--service-ports: %v", got.Ports)
	}
}
