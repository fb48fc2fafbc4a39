package images

import (
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// PullOptions are `berth pull`'s options.
type PullOptions struct {
	// Platform is os/arch[/variant] to choose from a multi-platform image;
	// "" means this machine's.
	Platform string
	// Progress, when not nil, is told about each layer as it goes. It is
	// called from several goroutines, never at once.
	Progress func(Progress)
	// Jobs is how many layers are fetched at once; 0 means 4.
	Jobs int
}

// Progress is one step of a transfer, shaped like Docker's JSON progress
// messages: ID is a layer's short digest ("" for the image), Status one of
// the statuses below.
type Progress struct {
	Ref     string `json:"ref"`
	ID      string `json:"id,omitempty"`
	Status  string `json:"status"`
	Current int64  `json:"current,omitempty"`
	Total   int64  `json:"total,omitempty"`
}

// Statuses of Progress, Docker's words.
const (
	StatusResolving   = "Resolving"
	StatusWaiting     = "Waiting"
	StatusExists      = "Already exists"
	StatusDownloading = "Downloading"
	StatusComplete    = "Pull complete"
	StatusPreparing   = "Preparing"
	StatusPushing     = "Pushing"
	StatusPushed      = "Pushed"
	StatusLayerExists = "Layer already exists"
	StatusDigest      = "Digest"
	StatusDone        = "Done"
)

// splitFull splits a full reference into repository (with registry) and
// its tag; the tag is "" for a digest reference.
func splitFull(full string) (repo, tag, digest string) {
	if r, d, ok := strings.Cut(full, "@"); ok {
		return r, "", d
	}
	i := strings.LastIndex(full, ":")
	if i < 0 || strings.Contains(full[i:], "/") {
		return full, "", ""
	}
	return full[:i], full[i+1:], ""
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}
