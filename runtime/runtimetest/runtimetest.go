// Package runtimetest is the conformance suite every runtime.Runtime must
// pass: the in-memory fake and the real OCI-runtime implementation run the
// same tests, so the fake cannot drift from the real thing.
//
// It only drives the Runtime interface; what a container runs is up to the
// harness (a real runtime needs an image that keeps running, like
// `sleep 3600`). Every container the suite creates is force-removed in
// t.Cleanup, even when a test fails.
package runtimetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/runtime"
)

// Harness adapts an implementation to the suite.
type Harness struct {
	// New returns a runtime for one test.
	New func(t *testing.T) runtime.Runtime
	// Config returns the config of a container that keeps running once
	// started, with the given name.
	Config func(name string) runtime.Config
}

// Run runs the whole suite as subtests of t.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s *suite)
	}{
		{"CreateThenList", testCreateThenList},
		{"NameTaken", testNameTaken},
		{"StartStopIdempotent", testStartStopIdempotent},
		{"RemoveRunningNeedsForce", testRemoveRunningNeedsForce},
		{"UnknownIsNotFound", testUnknownIsNotFound},
		{"NameReusableAfterRemove", testNameReusableAfterRemove},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, &suite{h: h, rt: h.New(t)})
		})
	}
}

type suite struct {
	h  Harness
	rt runtime.Runtime
}

// name returns a name unique to this run, so parallel runs and leftovers
// of a crashed run never collide.
func name(t *testing.T) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "berth-conformance-" + hex.EncodeToString(b[:])
}

// create makes a container and registers its forced removal.
func (s *suite) create(t *testing.T, n string, labels map[string]string) string {
	t.Helper()
	cfg := s.h.Config(n)
	cfg.Labels = labels
	id, err := s.rt.Create(t.Context(), cfg)
	if err != nil {
		t.Fatalf("create %s: %v", n, err)
	}
	t.Cleanup(func() {
		// t.Context is already cancelled when cleanups run.
		err := s.rt.Remove(context.Background(), id, runtime.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("cleanup: remove %s: %v", id, err)
		}
	})
	return id
}

func (s *suite) find(t *testing.T, id string) (runtime.Container, bool) {
	t.Helper()
	cs, err := s.rt.List(t.Context())
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	i := slices.IndexFunc(cs, func(c runtime.Container) bool { return c.ID == id })
	if i < 0 {
		return runtime.Container{}, false
	}
	return cs[i], true
}

func (s *suite) status(t *testing.T, id string) runtime.Status {
	t.Helper()
	c, ok := s.find(t, id)
	if !ok {
		t.Fatalf("container %s not listed", id)
	}
	return c.Status
}

var shortStop = func() *time.Duration { d := time.Second; return &d }()

func testCreateThenList(t *testing.T, s *suite) {
	n := name(t)
	labels := map[string]string{"io.berth.stack": "conformance", "x": "y"}
	id := s.create(t, n, labels)
	if id == "" {
		t.Fatal("create returned an empty ID")
	}
	c, ok := s.find(t, id)
	if !ok {
		t.Fatalf("created container %s not listed", id)
	}
	if c.Name != n {
		t.Errorf("name = %q, want %q", c.Name, n)
	}
	if c.Status != runtime.StatusCreated {
		t.Errorf("status = %q, want %q", c.Status, runtime.StatusCreated)
	}
	for k, v := range labels {
		if c.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
		}
	}
	if c.Config.Name != n || c.Config.Image != s.h.Config(n).Image {
		t.Errorf("config not kept: name %q image %q", c.Config.Name, c.Config.Image)
	}
}

func testNameTaken(t *testing.T, s *suite) {
	n := name(t)
	s.create(t, n, nil)
	_, err := s.rt.Create(t.Context(), s.h.Config(n))
	if !errdefs.IsAlreadyExists(err) {
		t.Fatalf("second create of %s: err = %v, want ErrAlreadyExists", n, err)
	}
}

func testStartStopIdempotent(t *testing.T, s *suite) {
	ctx := t.Context()
	id := s.create(t, name(t), nil)
	for range 2 {
		if err := s.rt.Start(ctx, id); err != nil {
			t.Fatalf("start: %v", err)
		}
		if st := s.status(t, id); st != runtime.StatusRunning {
			t.Fatalf("after start: status %q, want running", st)
		}
	}
	for range 2 {
		if err := s.rt.Stop(ctx, id, shortStop); err != nil {
			t.Fatalf("stop: %v", err)
		}
		if st := s.status(t, id); st != runtime.StatusExited {
			t.Fatalf("after stop: status %q, want exited", st)
		}
	}
	if err := s.rt.Start(ctx, id); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if st := s.status(t, id); st != runtime.StatusRunning {
		t.Fatalf("after restart: status %q, want running", st)
	}
}

func testRemoveRunningNeedsForce(t *testing.T, s *suite) {
	ctx := t.Context()
	id := s.create(t, name(t), nil)
	if err := s.rt.Start(ctx, id); err != nil {
		t.Fatalf("start: %v", err)
	}
	err := s.rt.Remove(ctx, id, runtime.RemoveOptions{})
	if !errdefs.IsFailedPrecondition(err) {
		t.Fatalf("remove running without force: err = %v, want ErrFailedPrecondition", err)
	}
	if st := s.status(t, id); st != runtime.StatusRunning {
		t.Fatalf("refused remove changed status to %q", st)
	}
	if err := s.rt.Remove(ctx, id, runtime.RemoveOptions{Force: true}); err != nil {
		t.Fatalf("forced remove: %v", err)
	}
	if _, ok := s.find(t, id); ok {
		t.Fatal("removed container still listed")
	}
}

func testUnknownIsNotFound(t *testing.T, s *suite) {
	ctx := t.Context()
	const id = "berth-conformance-no-such-container"
	errs := map[string]error{
		"start":  s.rt.Start(ctx, id),
		"stop":   s.rt.Stop(ctx, id, shortStop),
		"remove": s.rt.Remove(ctx, id, runtime.RemoveOptions{Force: true}),
	}
	for call, err := range errs {
		if !errdefs.IsNotFound(err) {
			t.Errorf("%s unknown: err = %v, want ErrNotFound", call, err)
		}
	}
}

func testNameReusableAfterRemove(t *testing.T, s *suite) {
	ctx := t.Context()
	n := name(t)
	id := s.create(t, n, nil)
	if err := s.rt.Remove(ctx, id, runtime.RemoveOptions{}); err != nil {
		t.Fatalf("remove created: %v", err)
	}
	id2 := s.create(t, n, nil)
	if id2 == id {
		t.Errorf("new container reused ID %s", id)
	}
	if err := s.rt.Remove(ctx, "", runtime.RemoveOptions{}); err == nil {
		t.Error("remove of empty ID succeeded")
	} else if !errdefs.IsNotFound(err) && !errdefs.IsInvalidArgument(err) {
		t.Errorf("remove empty ID: err = %v, want ErrNotFound or ErrInvalidArgument", err)
	}
}
