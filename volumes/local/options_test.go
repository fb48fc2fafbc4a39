package local

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"data", true},
		{"my_vol.1-x", true},
		{"0a", true},
		{strings.Repeat("f", 64), true},
		{"a", false}, // Docker's rule needs two characters
		{"", false},
		{"-data", false},
		{".data", false},
		{"_data", false},
		{"a/b", false},
		{"../etc", false},
		{"/srv/data", false},
		{"a b", false},
		{"dätä", false},
		{strings.Repeat("a", 256), false},
	}
	for _, tc := range tests {
		err := ValidateName(tc.name)
		if tc.ok && err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", tc.name, err)
		}
		if !tc.ok && !errdefs.IsInvalidArgument(err) {
			t.Errorf("ValidateName(%q) = %v, want ErrInvalidArgument", tc.name, err)
		}
	}
}

func TestAnonymousName(t *testing.T) {
	n, err := anonymousName()
	if err != nil {
		t.Fatal(err)
	}
	if len(n) != 64 || strings.Trim(n, "0123456789abcdef") != "" {
		t.Errorf("anonymous name %q, want 64 hex digits", n)
	}
}

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    map[string]string
		want    mountSpec
		wantErr string
	}{
		{name: "none", opts: nil, want: mountSpec{}},
		{
			name: "tmpfs",
			opts: map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=100m,uid=1000"},
			want: mountSpec{Type: "tmpfs", Device: "tmpfs", Options: "size=100m,uid=1000"},
		},
		{
			name: "bind",
			opts: map[string]string{"type": "none", "device": "/srv/data", "o": "bind"},
			want: mountSpec{Type: "none", Device: "/srv/data", Options: "bind"},
		},
		{
			name: "nfs",
			opts: map[string]string{"type": "nfs", "device": ":/export", "o": "addr=10.0.0.1,rw,nfsvers=4"},
			want: mountSpec{Type: "nfs", Device: ":/export", Options: "addr=10.0.0.1,rw,nfsvers=4"},
		},
		{
			name: "block device without o",
			opts: map[string]string{"type": "ext4", "device": "/dev/sdb1"},
			want: mountSpec{Type: "ext4", Device: "/dev/sdb1"},
		},
		{name: "unknown key", opts: map[string]string{"foo": "bar"}, wantErr: `invalid option: "foo"`},
		{name: "size needs quota", opts: map[string]string{"size": "10m"}, wantErr: "quota size requested but no quota support"},
		{name: "type needs device", opts: map[string]string{"type": "tmpfs"}, wantErr: `missing required option: "device"`},
		{name: "device needs type", opts: map[string]string{"device": "tmpfs"}, wantErr: `missing required option: "type"`},
		{name: "o needs device", opts: map[string]string{"o": "size=1m"}, wantErr: `missing required option: "device"`},
		{name: "empty type", opts: map[string]string{"type": "", "device": "tmpfs"}, wantErr: "must not be empty"},
		{name: "relative bind", opts: map[string]string{"type": "none", "device": "data", "o": "bind"}, wantErr: "must be an absolute path"},
		{name: "relative rbind", opts: map[string]string{"type": "none", "device": "./data", "o": "rbind,ro"}, wantErr: "must be an absolute path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseOptions(tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errdefs.IsInvalidArgument(err) {
					t.Fatalf("err = %v, want ErrInvalidArgument containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("spec (-want +got):\n%s", d)
			}
		})
	}
}

func TestResolveAddr(t *testing.T) {
	lookup := func(_ context.Context, host string) ([]net.IPAddr, error) {
		if host == "nas.lan" {
			return []net.IPAddr{{IP: net.ParseIP("192.0.2.7")}}, nil
		}
		return nil, errors.New("no such host")
	}
	tests := []struct {
		name    string
		in      mountSpec
		want    string
		wantErr bool
	}{
		{"host name", mountSpec{Type: "nfs", Device: ":/x", Options: "rw,addr=nas.lan,nfsvers=4"}, "rw,addr=192.0.2.7,nfsvers=4", false},
		{"address kept", mountSpec{Type: "nfs4", Device: ":/x", Options: "addr=192.0.2.1"}, "addr=192.0.2.1", false},
		{"no addr", mountSpec{Type: "nfs", Device: "nas:/x", Options: "rw"}, "rw", false},
		{"not nfs", mountSpec{Type: "cifs", Device: "//h/s", Options: "addr=nas.lan"}, "addr=nas.lan", false},
		{"unresolvable", mountSpec{Type: "nfs", Device: ":/x", Options: "addr=gone.lan"}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolveAddr(t.Context(), tc.in, lookup)
			if tc.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Options != tc.want {
				t.Errorf("options = %q, want %q", got.Options, tc.want)
			}
		})
	}
}

func TestMaskPassword(t *testing.T) {
	got := maskPassword("mount //h/s: username=u,password=s3cret: permission denied", "username=u,password=s3cret")
	if strings.Contains(got, "s3cret") {
		t.Errorf("password not masked: %s", got)
	}
}
