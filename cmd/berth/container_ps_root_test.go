package main

import (
	"strconv"
	"strings"
	"testing"
)

// TestRootPsLabelFormat: ps --format {{.Label "key"}} through the real
// binary, on a created container's record.
func TestRootPsLabelFormat(t *testing.T) {
	c := newCLI(t)
	c.must("create", "--name", "labelled", "--network", "none", "--label", "com.example.tier=db", "--label", "app=shop", "busybox", "true")
	if got := c.must("ps", "-a", "--format", `{{.Names}} {{.Label "com.example.tier"}} {{upper (.Label "app")}} {{.Labels}}`); got != "labelled db SHOP app=shop,com.example.tier=db\n" {
		t.Errorf("ps --format = %q", got)
	}
	if got := c.must("ps", "-a", "--format", `table {{.Label "com.example.tier"}}`); got != "tier\ndb\n" {
		t.Errorf("ps --format table = %q", got)
	}
}

// TestRootPsSize: ps -s through the real binary gives the writable layer
// (inspect -s's SizeRw) and, as the virtual size, that plus the image's
// size as the image store reports it, for every container of the image.
func TestRootPsSize(t *testing.T) {
	c := newCLI(t)
	image, err := strconv.ParseInt(strings.TrimSpace(c.must("image", "inspect", "--format", "{{.Size}}", "busybox")), 10, 64)
	if err != nil || image <= 0 {
		t.Fatalf("image size %d, %v", image, err)
	}
	c.must("run", "--name", "writer", "--network", "none", "busybox", "sh", "-c", "head -c 5000 /dev/zero >/written")
	c.must("create", "--name", "idle", "--network", "none", "busybox", "true")
	for _, name := range []string{"writer", "idle"} {
		rw, err := strconv.ParseInt(strings.TrimSpace(c.must("inspect", "-s", "--format", "{{.SizeRw}}", name)), 10, 64)
		if err != nil {
			t.Fatalf("%s: SizeRw: %v", name, err)
		}
		if name == "writer" && rw < 5000 {
			t.Errorf("writer: SizeRw %d, want at least the 5000 bytes it wrote", rw)
		}
		rootfs, err := strconv.ParseInt(strings.TrimSpace(c.must("inspect", "-s", "--format", "{{.SizeRootFs}}", name)), 10, 64)
		if err != nil || rootfs != rw+image {
			t.Errorf("%s: SizeRootFs %d, %v; want %d (writable %d, image %d)", name, rootfs, err, rw+image, rw, image)
		}
		got := strings.TrimSpace(c.must("ps", "-a", "-s", "--filter", "name="+name, "--format", "{{.Size}}"))
		if want := psSize(rw, image); got != want {
			t.Errorf("%s: ps -s size %q, want %q (writable %d, image %d)", name, got, want, rw, image)
		}
	}
}
