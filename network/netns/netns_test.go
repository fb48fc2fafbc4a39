package netns_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/vishvananda/netlink"

	"github.com/berth-dev/berth/network/netns"
)

func TestNewDoRemove(t *testing.T) {
	if os.Getenv("BERTH_TEST_ROOT") != "1" {
		t.Skip("root test: set BERTH_TEST_ROOT=1")
	}
	dir := filepath.Join(t.TempDir(), "netns")
	path, err := netns.New(dir, "c1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = netns.Remove(path) })
	if _, err := netns.New(dir, "c1"); !errors.Is(err, errdefs.ErrAlreadyExists) {
		t.Errorf("second New: %v, want ErrAlreadyExists", err)
	}
	// Inside: only loopback, and it is up; a listener there is not the host's.
	err = netns.Do(path, func() error {
		links, err := netlink.LinkList()
		if err != nil {
			return err
		}
		if len(links) != 1 || links[0].Attrs().Name != "lo" || links[0].Attrs().Flags&net.FlagUp == 0 {
			t.Errorf("links in new namespace: %v", links)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer l.Close()
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			return err
		}
		return c.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	if names, _ := netns.List(dir); len(names) != 1 || names[0] != "c1" {
		t.Errorf("List = %v", names)
	}
	if err := netns.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := netns.Remove(path); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if names, _ := netns.List(dir); len(names) != 0 {
		t.Errorf("left: %v", names)
	}
}
