package runc

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/network/cni"
	"github.com/berth-dev/berth/runtime"
)

func mustParse(t *testing.T, specs ...string) []runtime.PortBinding {
	t.Helper()
	ps, err := cni.ParsePorts(specs)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// TestPortBindings checks HostConfig.PortBindings against what Docker
// shows for the same -p flags.
func TestPortBindings(t *testing.T) {
	tests := []struct {
		name  string
		specs []string
		want  string
	}{
		{"none", nil, `{}`},
		{"fixed", []string{"8080:80"}, `{"80/tcp":[{"HostIp":"","HostPort":"8080"}]}`},
		{"any free port", []string{"80"}, `{"80/tcp":[{"HostIp":"","HostPort":""}]}`},
		{"ranges with an address", []string{"127.0.0.1:8080-8081:80-81"},
			`{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"}],"81/tcp":[{"HostIp":"127.0.0.1","HostPort":"8081"}]}`},
		{"a host range for one port", []string{"8000-8010:80"}, `{"80/tcp":[{"HostIp":"","HostPort":"8000-8010"}]}`},
		{"udp, two bindings of one port", []string{"53:53/udp", "[::1]:5353:53/udp"},
			`{"53/udp":[{"HostIp":"","HostPort":"53"},{"HostIp":"::1","HostPort":"5353"}]}`},
		{"address, any port", []string{"0.0.0.0::80"}, `{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":""}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(PortBindings(mustParse(t, tc.specs...)))
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Errorf("PortBindings(%q) = %s, want %s", tc.specs, b, tc.want)
			}
		})
	}
}

func TestAskedPorts(t *testing.T) {
	p := mustParse(t, "8080:80")
	all := append(mustParse(t, "8080:80"), runtime.PortBinding{ContainerPort: 443, Protocol: "tcp"})
	tests := []struct {
		name string
		rec  Record
		want []runtime.PortBinding
	}{
		{"-p", Record{Config: runtime.Config{Ports: p}}, p},
		{"-P and -p", Record{Config: runtime.Config{Ports: all}, PublishAll: true, PortBindings: p}, p},
		{"-P alone", Record{Config: runtime.Config{Ports: all[1:]}, PublishAll: true}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, askedPorts(&tc.rec)); diff != "" {
				t.Errorf("askedPorts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPortsAndFormat(t *testing.T) {
	live := []runtime.PortBinding{
		{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
		{HostIP: "127.0.0.1", HostPort: 32768, ContainerPort: 53, Protocol: "udp"},
	}
	exposed := map[string]struct{}{"443/tcp": {}, "80/tcp": {}, "8443": {}}
	tests := []struct {
		name       string
		attached   bool
		fam        Families
		want       PortMap
		wantString string
		wantLines  []string
	}{
		{"running", true, Families{V4: true}, PortMap{
			"80/tcp":   {{HostIP: "0.0.0.0", HostPort: "8080"}},
			"53/udp":   {{HostIP: "127.0.0.1", HostPort: "32768"}},
			"443/tcp":  nil,
			"8443/tcp": nil,
		}, "127.0.0.1:32768->53/udp, 0.0.0.0:8080->80/tcp, 443/tcp, 8443/tcp",
			[]string{"53/udp -> 127.0.0.1:32768", "80/tcp -> 0.0.0.0:8080"}},
		{"running dual stack", true, Families{V4: true, V6: true}, PortMap{
			"80/tcp":   {{HostIP: "0.0.0.0", HostPort: "8080"}, {HostIP: "::", HostPort: "8080"}},
			"53/udp":   {{HostIP: "127.0.0.1", HostPort: "32768"}},
			"443/tcp":  nil,
			"8443/tcp": nil,
		}, "127.0.0.1:32768->53/udp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp, 443/tcp, 8443/tcp",
			[]string{"53/udp -> 127.0.0.1:32768", "80/tcp -> 0.0.0.0:8080", "80/tcp -> [::]:8080"}},
		{"created or stopped", false, Families{}, PortMap{}, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Ports(tc.attached, live, exposed, tc.fam)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Ports (-want +got):\n%s", diff)
			}
			if s := FormatPorts(got); s != tc.wantString {
				t.Errorf("FormatPorts = %q, want %q", s, tc.wantString)
			}
			lines, _ := PortLines(got, "")
			if diff := cmp.Diff(tc.wantLines, lines); diff != "" {
				t.Errorf("PortLines (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPortLines checks `port CONTAINER [PRIVATE_PORT]` against Docker's
// output: natural order (8080 after 443), [::] after 0.0.0.0.
func TestPortLines(t *testing.T) {
	m := PortMap{
		"8080/tcp": {{HostIP: "0.0.0.0", HostPort: "32769"}},
		"443/tcp":  {{HostIP: "0.0.0.0", HostPort: "8443"}, {HostIP: "::", HostPort: "8443"}},
		"53/udp":   {{HostIP: "127.0.0.1", HostPort: "5353"}},
		"9000/tcp": nil,
	}
	tests := []struct {
		private string
		want    []string
		ok      bool
	}{
		{"", []string{"53/udp -> 127.0.0.1:5353", "443/tcp -> 0.0.0.0:8443", "443/tcp -> [::]:8443", "8080/tcp -> 0.0.0.0:32769"}, true},
		{"443", []string{"0.0.0.0:8443", "[::]:8443"}, true},
		{"443/tcp", []string{"0.0.0.0:8443", "[::]:8443"}, true},
		{"53/udp", []string{"127.0.0.1:5353"}, true},
		{"53", nil, false},
		{"9000", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.private, func(t *testing.T) {
			got, ok := PortLines(m, tc.private)
			if ok != tc.ok {
				t.Errorf("PortLines(%q) ok = %v, want %v", tc.private, ok, tc.ok)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("PortLines(%q) (-want +got):\n%s", tc.private, diff)
			}
		})
	}
}

func TestExposedPorts(t *testing.T) {
	got := ExposedPorts(map[string]struct{}{"8443": {}}, mustParse(t, "80", "53:53/udp"))
	want := map[string]struct{}{"8443/tcp": {}, "80/tcp": {}, "53/udp": {}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ExposedPorts (-want +got):\n%s", diff)
	}
	if got := ExposedPorts(nil, nil); got != nil {
		t.Errorf("ExposedPorts of nothing = %v, want nil", got)
	}
}
