package reconcile

import (
	"context"
	"fmt"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/spec"
)

// waitFor polls the runtime until every condition holds, a condition can
// no longer hold (an error), or ctx ends.
func (a *applier) waitFor(ctx context.Context, waits []Wait) error {
	for {
		cs, err := a.d.Runtime.List(ctx)
		if err != nil {
			return fmt.Errorf("wait for dependencies: %w", err)
		}
		ok := true
		for _, w := range waits {
			met, err := conditionMet(a.plan.Stack, w, cs)
			if err != nil {
				return err
			}
			ok = ok && met
		}
		if ok {
			return nil
		}
		select {
		case <-a.o.Clock.After(a.o.PollInterval):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// conditionMet evaluates one condition against the containers: every
// replica of the service must meet it. It returns an error, classified as
// errdefs.ErrFailedPrecondition, when the condition cannot be met any more
// (unhealthy, no healthcheck, exited with a non-zero code).
func conditionMet(stack string, w Wait, cs []runtime.Container) (bool, error) {
	met := true
	for _, c := range cs {
		if c.Labels[spec.LabelStack] != stack || c.Labels[spec.LabelService] != w.Service ||
			c.Labels[spec.LabelOneoff] == "True" {
			continue
		}
		switch w.Condition {
		case types.ServiceConditionHealthy:
			switch {
			case c.Status == runtime.StatusExited || c.Status == runtime.StatusDead:
				return false, fmt.Errorf("dependency %s: container %s exited (%d) before it was healthy: %w", w.Service, c.Name, c.ExitCode, errdefs.ErrFailedPrecondition)
			case c.Health == "unhealthy":
				return false, fmt.Errorf("dependency %s: container %s is unhealthy%s: %w", w.Service, c.Name, LastProbe(c), errdefs.ErrFailedPrecondition)
			case c.Status == runtime.StatusRunning && c.Health == "":
				return false, fmt.Errorf("dependency %s: container %s has no healthcheck: %w", w.Service, c.Name, errdefs.ErrFailedPrecondition)
			case c.Health != "healthy":
				met = false
			}
		case types.ServiceConditionCompletedSuccessfully:
			switch {
			case c.Status == runtime.StatusExited && c.ExitCode != 0:
				return false, fmt.Errorf("dependency %s: container %s exited with code %d: %w", w.Service, c.Name, c.ExitCode, errdefs.ErrFailedPrecondition)
			case c.Status != runtime.StatusExited:
				met = false
			}
		}
	}
	return met, nil
}

// LastProbe is what an unhealthy container's error adds: its last probe's
// output, trimmed, as Compose users look for in `docker inspect`.
func LastProbe(c runtime.Container) string {
	out := strings.TrimSpace(c.HealthOutput)
	if out == "" {
		return ""
	}
	if r := []rune(out); len(r) > 200 {
		out = string(r[:200]) + "…"
	}
	return fmt.Sprintf(" (last probe: %q)", out)
}
