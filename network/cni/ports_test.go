package cni

import (
	"errors"
	"syscall"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/runtime"
)

func TestParsePorts(t *testing.T) {
	tests := []struct {
		in      string
		want    []runtime.PortBinding
		wantErr bool
	}{
		{in: "80", want: []runtime.PortBinding{{ContainerPort: 80, Protocol: "tcp"}}},
		{in: "8080:80", want: []runtime.PortBinding{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}},
		{in: "127.0.0.1:8080:80/udp", want: []runtime.PortBinding{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Protocol: "udp"}}},
		{in: "127.0.0.1::80", want: []runtime.PortBinding{{HostIP: "127.0.0.1", ContainerPort: 80, Protocol: "tcp"}}},
		{in: "[::1]:8080:80", want: []runtime.PortBinding{{HostIP: "::1", HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}},
		{in: "8000-8001:80-81/tcp", want: []runtime.PortBinding{
			{HostPort: 8000, ContainerPort: 80, Protocol: "tcp"},
			{HostPort: 8001, ContainerPort: 81, Protocol: "tcp"},
		}},
		{in: "53-54/udp", want: []runtime.PortBinding{
			{ContainerPort: 53, Protocol: "udp"},
			{ContainerPort: 54, Protocol: "udp"},
		}},
		{in: "8000-8002:80-81", wantErr: true},
		{in: "8000-8010:80", want: []runtime.PortBinding{{HostPort: 8000, HostPortEnd: 8010, ContainerPort: 80, Protocol: "tcp"}}},
		{in: "127.0.0.1:8000-8001:53/udp", want: []runtime.PortBinding{{HostIP: "127.0.0.1", HostPort: 8000, HostPortEnd: 8001, ContainerPort: 53, Protocol: "udp"}}},
		{in: "8010-8000:80", wantErr: true},
		{in: "0-10:80", wantErr: true},
		{in: "80/sctp", wantErr: true},
		{in: "80/icmp", wantErr: true},
		{in: "99999:80", wantErr: true},
		{in: "nonsense", wantErr: true},
		{in: "1.2.3:80:80", wantErr: true},
		{in: "0", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePorts([]string{tc.in})
			if tc.wantErr {
				if !errors.Is(err, errdefs.ErrInvalidArgument) {
					t.Errorf("ParsePorts(%q) = %+v, %v; want ErrInvalidArgument", tc.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParsePorts(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

// fakeProbe binds nothing: ports in busy fail, port 0 hands out next.
type fakeProbe struct {
	busy map[uint16]bool
	next []uint16
}

func (f *fakeProbe) bind(_ string, port uint16, _ string) (uint16, error) {
	if port == 0 {
		p := f.next[0]
		f.next = f.next[1:]
		return p, nil
	}
	if f.busy[port] {
		return 0, syscall.EADDRINUSE
	}
	return port, nil
}

func TestAssignPorts(t *testing.T) {
	other := []Attachment{{ContainerID: "c1", Ports: []runtime.PortBinding{
		{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
		{HostIP: "127.0.0.1", HostPort: 9000, ContainerPort: 80, Protocol: "tcp"},
		{HostPort: 40000, ContainerPort: 80, Protocol: "tcp"},
	}}}
	tests := []struct {
		name    string
		req     []runtime.PortBinding
		want    []runtime.PortBinding
		wantErr error
	}{
		{"free fixed port", []runtime.PortBinding{{HostPort: 8081, ContainerPort: 80}},
			[]runtime.PortBinding{{HostPort: 8081, ContainerPort: 80, Protocol: "tcp"}}, nil},
		{"taken by another container", []runtime.PortBinding{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}, nil, errdefs.ErrConflict},
		{"same port other protocol", []runtime.PortBinding{{HostPort: 8080, ContainerPort: 80, Protocol: "udp"}},
			[]runtime.PortBinding{{HostPort: 8080, ContainerPort: 80, Protocol: "udp"}}, nil},
		{"other host ip", []runtime.PortBinding{{HostIP: "127.0.0.2", HostPort: 9000, ContainerPort: 80}},
			[]runtime.PortBinding{{HostIP: "127.0.0.2", HostPort: 9000, ContainerPort: 80, Protocol: "tcp"}}, nil},
		{"all addresses against one", []runtime.PortBinding{{HostPort: 9000, ContainerPort: 80}}, nil, errdefs.ErrConflict},
		{"held by the host", []runtime.PortBinding{{HostPort: 2222, ContainerPort: 22}}, nil, errdefs.ErrConflict},
		{"random skips ports of other containers", []runtime.PortBinding{{ContainerPort: 80}},
			[]runtime.PortBinding{{HostPort: 40001, ContainerPort: 80, Protocol: "tcp"}}, nil},
		{"twice in one request", []runtime.PortBinding{{HostPort: 7000, ContainerPort: 80}, {HostPort: 7000, ContainerPort: 81}}, nil, errdefs.ErrConflict},
		{"range: first port free", []runtime.PortBinding{{HostPort: 8081, HostPortEnd: 8090, ContainerPort: 80}},
			[]runtime.PortBinding{{HostPort: 8081, ContainerPort: 80, Protocol: "tcp"}}, nil},
		{"range: skips another container's and the host's", []runtime.PortBinding{{HostPort: 8080, HostPortEnd: 8090, ContainerPort: 80}, {HostPort: 2221, HostPortEnd: 2223, ContainerPort: 22}},
			[]runtime.PortBinding{{HostPort: 8081, ContainerPort: 80, Protocol: "tcp"}, {HostPort: 2221, ContainerPort: 22, Protocol: "tcp"}}, nil},
		{"range: two of one request get two ports", []runtime.PortBinding{{HostPort: 2222, HostPortEnd: 2224, ContainerPort: 80}, {HostPort: 2222, HostPortEnd: 2224, ContainerPort: 81}},
			[]runtime.PortBinding{{HostPort: 2223, ContainerPort: 80, Protocol: "tcp"}, {HostPort: 2224, ContainerPort: 81, Protocol: "tcp"}}, nil},
		{"range: none free", []runtime.PortBinding{{HostPort: 2221, ContainerPort: 21}, {HostPort: 2221, HostPortEnd: 2222, ContainerPort: 80}}, nil, errdefs.ErrConflict},
		{"bad protocol", []runtime.PortBinding{{HostPort: 7000, ContainerPort: 80, Protocol: "sctp"}}, nil, errdefs.ErrInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &fakeProbe{busy: map[uint16]bool{2222: true}, next: []uint16{40000, 40001}}
			got, err := assignPorts(tc.req, other, p.bind)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
