package watch

import (
	"context"
	"fmt"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/spec"
)

type fakeOps struct {
	cs    []runtime.Container
	calls []string
}

func (f *fakeOps) List(context.Context) ([]runtime.Container, error) { return f.cs, nil }
func (f *fakeOps) Sync(_ context.Context, id string, copies []Copy) error {
	for _, c := range copies {
		if c.Delete {
			f.calls = append(f.calls, fmt.Sprintf("rm %s %s", id, c.ContainerPath))
		} else {
			f.calls = append(f.calls, fmt.Sprintf("copy %s %s -> %s", id, c.HostPath, c.ContainerPath))
		}
	}
	return nil
}
func (f *fakeOps) Exec(_ context.Context, id string, h types.ServiceHook) error {
	f.calls = append(f.calls, fmt.Sprintf("exec %s %v", id, h.Command))
	return nil
}
func (f *fakeOps) Restart(_ context.Context, id string) error {
	f.calls = append(f.calls, "restart "+id)
	return nil
}

func TestStackExecutor(t *testing.T) {
	c := func(id, name, stack, svc string, st runtime.Status, oneoff bool) runtime.Container {
		l := map[string]string{spec.LabelStack: stack, spec.LabelService: svc}
		if oneoff {
			l[spec.LabelOneoff] = "True"
		}
		return runtime.Container{ID: id, Name: name, Status: st, Labels: l}
	}
	ops := &fakeOps{cs: []runtime.Container{
		c("w2", "demo-web-2", "demo", "web", runtime.StatusRunning, false),
		c("w1", "demo-web-1", "demo", "web", runtime.StatusRunning, false),
		c("w3", "demo-web-3", "demo", "web", runtime.StatusExited, false),
		c("r1", "demo-web-run-1", "demo", "web", runtime.StatusRunning, true),
		c("o1", "other-web-1", "other", "web", runtime.StatusRunning, false),
	}}
	e := &StackExecutor{Stack: "demo", Ops: ops}
	ctx := t.Context()
	if err := e.Sync(ctx, "web", []Copy{{HostPath: "/src/a", ContainerPath: "/app/a"}, {ContainerPath: "/app/b", Delete: true}}); err != nil {
		t.Fatal(err)
	}
	if err := e.Exec(ctx, "web", types.ServiceHook{Command: []string{"true"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.Restart(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"copy w1 /src/a -> /app/a", "rm w1 /app/b", "copy w2 /src/a -> /app/a", "rm w2 /app/b",
		"exec w1 [true]", "exec w2 [true]", "restart w1", "restart w2",
	}
	if diff := cmp.Diff(want, ops.calls); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if err := e.Sync(ctx, "db", nil); !errdefs.IsNotFound(err) {
		t.Errorf("no running container: %v, want not found", err)
	}
	if err := e.Rebuild(ctx, "web"); !errdefs.IsNotImplemented(err) {
		t.Errorf("rebuild without RebuildService: %v", err)
	}
}
