package spec

import (
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/containerd/errdefs"
)

// Render writes the normalised model the way `docker compose config` does:
// format "yaml" (or "") or "json". The output depends only on the model, so
// a stack renders the same whichever format (YAML or HCL) it was loaded
// from.
func Render(p *types.Project, format string) ([]byte, error) {
	switch format {
	case "", "yaml":
		return p.MarshalYAML()
	case "json":
		b, err := p.MarshalJSON()
		if err != nil {
			return nil, err
		}
		return append(b, '\n'), nil
	}
	return nil, classed(errdefs.ErrInvalidArgument, "unknown format %q (want yaml or json)", format)
}

// Images lists the image of each active service, sorted by service name.
// A service with only a build section gets the name berth gives the image
// it builds, PROJECT-SERVICE, as Compose does.
func Images(p *types.Project) []string {
	var out []string
	for _, name := range p.ServiceNames() {
		out = append(out, ImageName(p, p.Services[name]))
	}
	return out
}

// ImageName is the image a service runs: its image:, or PROJECT-SERVICE
// for a service that is only built.
func ImageName(p *types.Project, s types.ServiceConfig) string {
	if s.Image != "" {
		return s.Image
	}
	return p.Name + "-" + s.Name
}

// Profiles lists every profile named by any service, active or not,
// sorted.
func Profiles(p *types.Project) []string {
	var out []string
	for _, ss := range []types.Services{p.Services, p.DisabledServices} {
		for _, s := range ss {
			out = append(out, s.Profiles...)
		}
	}
	return sortUnique(out)
}

// Hashes returns "SERVICE HASH" lines, like `docker compose config --hash`,
// for the services named in the comma-separated list sel, or every active
// service for "*". The image ID is not known when only the stack is
// loaded, so these are the hashes for an unresolved image.
func Hashes(p *types.Project, sel string) ([]string, error) {
	names := p.ServiceNames()
	if sel != "*" {
		names = nil
		for _, n := range strings.Split(sel, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
	}
	var out []string
	for _, n := range names {
		if _, ok := p.Services[n]; !ok {
			if slices.Contains(p.DisabledServiceNames(), n) {
				return nil, classed(errdefs.ErrInvalidArgument, "service %q is disabled by its profiles", n)
			}
			return nil, classed(errdefs.ErrNotFound, "no such service: %s", n)
		}
		h, err := ServiceHash(p, n, "")
		if err != nil {
			return nil, err
		}
		out = append(out, n+" "+h)
	}
	return out, nil
}
