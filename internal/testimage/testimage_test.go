package testimage

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestRootfsHasShell(t *testing.T) {
	dir := t.TempDir()
	Rootfs(t, dir)
	target, err := os.Readlink(filepath.Join(dir, "bin", "sh"))
	if err != nil || target != "busybox" {
		t.Fatalf("bin/sh -> %q, %v", target, err)
	}
}

func TestTarHasShell(t *testing.T) {
	tr := tar.NewReader(bytes.NewReader(Tar(t)))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			t.Fatal("no bin/sh in the tar")
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "bin/sh" && h.Linkname == "busybox" {
			return
		}
	}
}
