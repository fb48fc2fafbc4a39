package runc

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/runtime"
)

func TestAttachments(t *testing.T) {
	tests := []struct {
		name string
		cfg  runtime.Config
		want []runtime.NetworkAttachment
	}{
		{"default", runtime.Config{}, nil},
		{"bridge", runtime.Config{NetworkMode: "bridge"}, nil},
		{"user network", runtime.Config{NetworkMode: "web"}, []runtime.NetworkAttachment{{Network: "web"}}},
		{"stack networks", runtime.Config{NetworkMode: "a", Networks: []runtime.NetworkAttachment{{Network: "a", Aliases: []string{"db"}}, {Network: "b"}}},
			[]runtime.NetworkAttachment{{Network: "a", Aliases: []string{"db"}}, {Network: "b"}}},
		{"default named in networks", runtime.Config{Networks: []runtime.NetworkAttachment{{Network: "default"}}}, []runtime.NetworkAttachment{{Network: "bridge"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, attachments(tc.cfg)); diff != "" {
				t.Errorf("attachments (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	for mode, want := range map[string]netKind{"": netAttached, "bridge": netAttached, "web": netAttached, "none": netNone, "host": netHost, "container:db": netContainer} {
		if got := kindOf(mode); got != want {
			t.Errorf("kindOf(%q) = %v, want %v", mode, got, want)
		}
	}
}

func TestPublishAll(t *testing.T) {
	exposed := map[string]struct{}{"80/tcp": {}, "53/udp": {}, "443": {}, "bad/tcp": {}}
	got := publishAll([]runtime.PortBinding{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}, exposed)
	want := []runtime.PortBinding{
		{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
		{ContainerPort: 443, Protocol: "tcp"},
		{ContainerPort: 53, Protocol: "udp"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("publishAll (-want +got):\n%s", diff)
	}
}

func TestInRoot(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"var/lib/data", "outside"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		target string
		ok     bool
	}{
		{"/var/lib/data", true},
		{"/var/lib/data/", true},
		{"/missing", false},
		{"/link", false},
		{"/link/ssl", false},
		{"/file", false},
		{"/var/../var/lib/data", true},
	}
	for _, tc := range tests {
		got, ok := inRoot(root, tc.target)
		if ok != tc.ok {
			t.Errorf("inRoot(%q) ok = %v, want %v", tc.target, ok, tc.ok)
		}
		if ok && got != filepath.Join(root, filepath.Clean(tc.target)) {
			t.Errorf("inRoot(%q) = %q", tc.target, got)
		}
	}
}

func TestNetDev(t *testing.T) {
	data := []byte(`Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0
  eth0:    2048      20    0    0    0     0          0         0      512       5    0    0    0     0       0          0
  eth1:     100       1    0    0    0     0          0         0       50       1    0    0    0     0       0          0
`)
	rx, tx := netDev(data)
	if rx != 2148 || tx != 562 {
		t.Errorf("netDev = %d, %d; want 2148, 562", rx, tx)
	}
}
