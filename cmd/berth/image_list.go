package main

import (
	"context"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/images"
)

type imagesOptions struct {
	all     bool
	quiet   bool
	digests bool
	noTrunc bool
	filters []string
	format  string
}

func newImagesCmd(g *globals, use string) *cobra.Command {
	var o imagesOptions
	cmd := &cobra.Command{
		Use:   use + " [OPTIONS] [REPOSITORY[:TAG]]",
		Short: "List images",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.filters = append(o.filters, "reference="+args[0])
			}
			return runImages(cmd, g, o)
		},
	}
	if use == "ls" {
		cmd.Aliases = []string{"list"}
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "Show all images (berth keeps no intermediate images, so the same as without)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Only show image IDs")
	f.BoolVar(&o.digests, "digests", false, "Show digests")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "Don't truncate output")
	stringArrayVarP(f, &o.filters, "filter", "f", nil, "Filter output based on conditions provided (dangling=, reference=, label=, before=, since=)")
	f.StringVar(&o.format, "format", "", "Format output: table, json, 'table TEMPLATE' or a Go template")
	return cmd
}

// imageRow is one line of `images`, with the fields Docker's --format offers.
type imageRow struct {
	Containers   string
	CreatedAt    string
	CreatedSince string
	Digest       string
	ID           string
	Repository   string
	SharedSize   string
	Size         string
	Tag          string
	UniqueSize   string
	VirtualSize  string
}

var imageHeader = imageRow{
	Containers: "CONTAINERS", CreatedAt: "CREATED AT", CreatedSince: "CREATED", Digest: "DIGEST", ID: "IMAGE ID",
	Repository: "REPOSITORY", SharedSize: "SHARED SIZE", Size: "SIZE", Tag: "TAG", UniqueSize: "UNIQUE SIZE", VirtualSize: "VIRTUAL SIZE",
}

func runImages(cmd *cobra.Command, g *globals, o imagesOptions) error {
	s, err := openImageStore(g)
	if err != nil {
		return err
	}
	list, err := s.List(cmd.Context())
	if err != nil {
		return err
	}
	filter, err := parseImageFilters(cmd.Context(), o.filters, list, s)
	if err != nil {
		return err
	}
	now := time.Now()
	var rows []imageRow
	for _, im := range list {
		if !filter.match(im) {
			continue
		}
		for _, r := range imageRows(im, filter.refs, now) {
			if !o.noTrunc {
				r.ID = images.ShortID(r.ID)
			}
			rows = append(rows, r)
		}
	}
	format := o.format
	def := "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
	if o.digests {
		def = "{{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
	}
	if o.quiet {
		format = "{{.ID}}"
	}
	return renderImageRows(cmd.OutOrStdout(), format, def, imageHeader, rows)
}

// imageRows gives an image's rows: one per repository:tag, an untagged
// repository (known by digest only) with tag <none>, a dangling image as
// <none> <none>. With reference filters only matching names count.
func imageRows(im *images.Image, refs []string, now time.Time) []imageRow {
	base := imageRow{
		Containers:   "N/A",
		CreatedAt:    im.Config.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"),
		CreatedSince: units.HumanDuration(now.Sub(im.Config.Created.Time)) + " ago",
		ID:           im.ID,
		SharedSize:   "N/A",
		Size:         units.HumanSizeWithPrecision(float64(im.Size), 3),
		UniqueSize:   "N/A",
		VirtualSize:  units.HumanSizeWithPrecision(float64(im.Size), 3),
	}
	if im.Config.Created.IsZero() {
		base.CreatedSince = "N/A"
	}
	tags := map[string][]string{}
	digests := map[string]string{}
	for _, n := range im.Names {
		if len(refs) > 0 && !matchesAnyRef(n, refs) {
			continue
		}
		repo, tag, digest := images.SplitName(n)
		if tag != "" {
			tags[repo] = append(tags[repo], tag)
		} else if _, ok := tags[repo]; !ok {
			tags[repo] = nil
		}
		if digest != "" && digests[repo] == "" {
			digests[repo] = digest
		}
	}
	if len(tags) == 0 {
		r := base
		r.Repository, r.Tag, r.Digest = "<none>", "<none>", "<none>"
		return []imageRow{r}
	}
	repos := make([]string, 0, len(tags))
	for repo := range tags {
		repos = append(repos, repo)
	}
	sort.Strings(repos)
	var rows []imageRow
	for _, repo := range repos {
		ts := tags[repo]
		if len(ts) == 0 {
			ts = []string{"<none>"}
		}
		sort.Strings(ts)
		for _, tag := range ts {
			r := base
			r.Repository, r.Tag, r.Digest = repo, tag, digests[repo]
			if r.Digest == "" {
				r.Digest = "<none>"
			}
			rows = append(rows, r)
		}
	}
	return rows
}

// imageFilter is a parsed --filter set: values of one key are alternatives,
// different keys must all hold.
type imageFilter struct {
	dangling *bool
	refs     []string
	labels   []string
	before   []time.Time
	since    []time.Time
}

func parseImageFilters(ctx context.Context, args []string, list []*images.Image, s *images.Store) (*imageFilter, error) {
	f := &imageFilter{}
	createdOf := func(ref string) (time.Time, error) {
		id, err := s.Resolve(ctx, ref)
		if err != nil {
			return time.Time{}, err
		}
		for _, im := range list {
			if im.ID == id {
				return im.Config.Created.Time, nil
			}
		}
		return time.Time{}, errdefs.ErrNotFound.WithMessage("No such image: " + ref)
	}
	for _, a := range args {
		k, v, err := cutFilter(a)
		if err != nil {
			return nil, err
		}
		switch strings.ToLower(k) {
		case "dangling":
			b := strings.EqualFold(v, "true") || v == "1"
			if !b && !strings.EqualFold(v, "false") && v != "0" {
				return nil, invalidFilter("dangling=" + v)
			}
			f.dangling = &b
		case "reference":
			f.refs = append(f.refs, v)
		case "label":
			f.labels = append(f.labels, v)
		case "before", "since":
			t, err := createdOf(v)
			if err != nil {
				return nil, err
			}
			if k == "before" {
				f.before = append(f.before, t)
			} else {
				f.since = append(f.since, t)
			}
		default:
			return nil, invalidFilter(k)
		}
	}
	return f, nil
}

func (f *imageFilter) match(im *images.Image) bool {
	if f.dangling != nil && *f.dangling != im.Dangling() {
		return false
	}
	if len(f.refs) > 0 && !slices.ContainsFunc(im.Names, func(n string) bool { return matchesAnyRef(n, f.refs) }) {
		return false
	}
	if len(f.labels) > 0 && !slices.ContainsFunc(f.labels, func(l string) bool { return hasLabel(im.Config.Config.Labels, l) }) {
		return false
	}
	created := im.Config.Created.Time
	for _, b := range f.before {
		if !created.Before(b) {
			return false
		}
	}
	for _, s := range f.since {
		if !created.After(s) {
			return false
		}
	}
	return true
}

// matchesAnyRef matches a stored name against reference= patterns the way
// Docker does: a shell pattern on the familiar name, or name:tag.
func matchesAnyRef(name string, patterns []string) bool {
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return false
	}
	for _, p := range patterns {
		if ok, _ := reference.FamiliarMatch(p, named); ok {
			return true
		}
	}
	return false
}
