package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-dev/berth/images/buildcache"
)

// The network clean-up of rm and network prune must leave a RUN step's
// attachment alone while the step's namespace is there.
func TestContainerExistsKeepsBuildAttachments(t *testing.T) {
	g := &globals{root: t.TempDir(), runRoot: t.TempDir()}
	running := buildcache.RunIDPrefix + "0123456789abcdef"
	if err := os.MkdirAll(buildNetnsDir(g), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(buildNetnsDir(g), running), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctr := "c0ffee" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
	if err := os.MkdirAll(filepath.Join(g.root, "containers", ctr), 0o700); err != nil {
		t.Fatal(err)
	}
	exists := containerExists(g)
	for id, want := range map[string]bool{
		running: true, // a RUN step now
		buildcache.RunIDPrefix + "ffffffffffffffff": false, // a finished or reaped one
		ctr:                  true,  // a container
		"deadbeef" + ctr[8:]: false, // a removed container
		"berth-buildx":       false,
	} {
		if got := exists(id); got != want {
			t.Errorf("containerExists(%q) = %v, want %v", id, got, want)
		}
	}
}
