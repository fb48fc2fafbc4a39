package main

import (
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/runtime/fake"
)

const chainStack = `name: demo
services:
  web: {image: nginx:1.27, depends_on: [api]}
  api: {image: nginx:1.27, depends_on: [db]}
  db:
    image: postgres:16
    volumes: [data:/data]
volumes:
  data: {}
`

func TestDown(t *testing.T) {
	// stopped records the order containers stop in.
	var mu sync.Mutex
	var stopped []string
	hook := func(call fake.Call, key string) error {
		if call == fake.CallStop {
			mu.Lock()
			stopped = append(stopped, key)
			mu.Unlock()
		}
		return nil
	}
	s := newTestStack(t, chainStack, fake.WithHook(hook))
	if _, _, err := s.run(t, "up", "-d", "-f", s.file()); err != nil {
		t.Fatal(err)
	}
	ids := s.ids(t)
	stopped = nil
	out, errOut, err := s.run(t, "down", "-f", s.file(), "--progress", "plain")
	if err != nil {
		t.Fatalf("down: %v\n%s", err, errOut)
	}
	if diff := cmp.Diff([]string{ids["demo-web-1"], ids["demo-api-1"], ids["demo-db-1"]}, stopped); diff != "" {
		t.Errorf("stop order (-want +got):\n%s", diff)
	}
	if !strings.Contains(out, "Plan: 4 to remove.") || !strings.Contains(errOut, "Container demo-web-1  Removed") {
		t.Errorf("down output:\n%s\n%s", out, errOut)
	}
	if len(s.ids(t)) != 0 {
		t.Errorf("containers left: %v", s.ids(t))
	}
	vols, _ := s.vols.List(t.Context())
	if len(vols) != 1 {
		t.Errorf("down without -v removed the volume: %v", vols)
	}
	nets, _ := s.nets.List(t.Context())
	if len(nets) != 0 {
		t.Errorf("networks left: %v", nets)
	}

	// -v removes the volume; nothing left to do after.
	out, _, err = s.run(t, "down", "-v", "-f", s.file())
	if err != nil || !strings.Contains(out, "- volume demo_data (remove): down (--volumes)") {
		t.Errorf("down -v: %v\n%s", err, out)
	}
	out, _, err = s.run(t, "down", "-f", s.file())
	if err != nil || out != "No changes: stack demo has nothing to remove.\n" {
		t.Errorf("down of nothing: %v %q", err, out)
	}
}

func TestDownOrphansAndRmi(t *testing.T) {
	s := newTestStack(t, chainStack)
	if _, _, err := s.run(t, "up", "-d", "-f", s.file()); err != nil {
		t.Fatal(err)
	}
	s.write(t, "name: demo\nservices:\n  db:\n    image: postgres:16\n    volumes: [data:/data]\nvolumes:\n  data: {}\n")
	out, _, err := s.run(t, "down", "-f", s.file(), "--rmi", "all")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "! orphan container demo-web-1 (service web) kept") || len(s.ids(t)) != 2 {
		t.Errorf("orphans not kept:\n%s\n%v", out, s.ids(t))
	}
	if diff := cmp.Diff([]string{"postgres:16"}, s.rmi.removed); diff != "" {
		t.Errorf("--rmi all removed (-want +got):\n%s", diff)
	}
	if _, _, err := s.run(t, "down", "-f", s.file(), "--remove-orphans"); err != nil {
		t.Fatal(err)
	}
	if len(s.ids(t)) != 0 {
		t.Errorf("left after --remove-orphans: %v", s.ids(t))
	}
}

func TestDownWithoutStackFile(t *testing.T) {
	s := newTestStack(t, chainStack)
	if _, _, err := s.run(t, "up", "-d", "-f", s.file()); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(s.file()); err != nil {
		t.Fatal(err)
	}
	t.Chdir(s.dir)
	out, _, err := s.run(t, "down", "-p", "demo", "-v")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Plan: 5 to remove.") {
		t.Errorf("down -p:\n%s", out)
	}
	if len(s.ids(t)) != 0 {
		t.Errorf("left: %v", s.ids(t))
	}
	vols, _ := s.vols.List(t.Context())
	if len(vols) != 0 {
		t.Errorf("volumes left: %v", vols)
	}
	// Without -p there is no stack to name.
	if _, _, err := s.run(t, "down"); !errdefs.IsNotFound(err) {
		t.Errorf("down without a file or -p: err = %v", err)
	}
}

func TestDownNetworkInUse(t *testing.T) {
	s := newTestStack(t, demoStack)
	if _, _, err := s.run(t, "up", "-d", "-f", s.file()); err != nil {
		t.Fatal(err)
	}
	s.nets.InUse = func(name string) bool { return name == "demo_default" }
	_, errOut, err := s.run(t, "down", "-f", s.file(), "--progress", "plain")
	if err != nil {
		t.Fatalf("down with a network in use elsewhere: %v", err)
	}
	if !strings.Contains(errOut, "Network demo_default  Resource is still in use") {
		t.Errorf("not reported:\n%s", errOut)
	}
	if len(s.ids(t)) != 0 {
		t.Errorf("containers left: %v", s.ids(t))
	}
}
