package main

import (
	"context"
	"io"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/spec"
)

// buildImages builds the images of the services that have a build:
// section: all of them with mode "always" (--build), the missing ones with
// "missing" (the default), none with "never" (--no-build). pull_policy
// build always builds.
func buildImages(ctx context.Context, w *stackWorld, p *types.Project, services []string, mode string, progress io.Writer, prog *progress) error {
	var todo []string
	for _, name := range services {
		s := p.Services[name]
		if s.Build == nil || mode == "never" {
			continue
		}
		if mode == "always" || s.PullPolicy == types.PullPolicyBuild {
			todo = append(todo, name)
			continue
		}
		if _, err := w.Images.Resolve(ctx, spec.ImageName(p, s)); errdefs.IsNotFound(err) {
			todo = append(todo, name)
		} else if err != nil {
			return err
		}
	}
	if len(todo) == 0 {
		return nil
	}
	return buildTodo(ctx, w, p, todo, progress, prog)
}
