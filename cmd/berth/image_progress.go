//go:build !lean

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/docker/go-units"

	"github.com/berth-dev/berth/images"
)

// progressMode is --progress: auto picks tty on a terminal, plain otherwise.
type progressMode string

func parseProgress(mode string, quiet bool, out io.Writer) (progressMode, error) {
	if quiet {
		return "quiet", nil
	}
	switch mode {
	case "", "auto":
		if f, ok := out.(*os.File); ok && isTerminal(f) {
			return "tty", nil
		}
		return "plain", nil
	case "tty", "plain", "json", "quiet":
		return progressMode(mode), nil
	}
	return "", errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("invalid --progress %q: want auto, tty, plain, json or quiet", mode))
}

// progressPrinter renders transfer progress: per-layer bars redrawn in
// place on a terminal, one line per change of status in plain mode
// (downloads and uploads every 10%), Docker-style JSON lines in json mode.
type progressPrinter struct {
	out   io.Writer
	mode  progressMode
	order []string                   // layer IDs as first seen
	state map[string]images.Progress // latest per layer
	lines int                        // lines drawn by the last tty frame
	shown map[string]int64           // plain: last tenth reported
}

func newProgressPrinter(out io.Writer, mode progressMode) *progressPrinter {
	return &progressPrinter{out: out, mode: mode, state: map[string]images.Progress{}, shown: map[string]int64{}}
}

// Update is an images.PullOptions.Progress function.
func (p *progressPrinter) Update(ev images.Progress) {
	switch p.mode {
	case "quiet":
	case "json":
		data, _ := json.Marshal(ev)
		fmt.Fprintf(p.out, "%s\n", data)
	case "plain":
		p.plain(ev)
	case "tty":
		p.tty(ev)
	}
}

func (p *progressPrinter) plain(ev images.Progress) {
	if ev.Status == images.StatusDownloading || ev.Status == images.StatusPushing {
		if ev.Total <= 0 {
			return
		}
		tenth := ev.Current * 10 / ev.Total
		key := ev.ID + ev.Status
		if last, ok := p.shown[key]; ok && tenth <= last {
			return
		}
		p.shown[key] = tenth
		fmt.Fprintf(p.out, "%s%s %s/%s\n", prefix(ev.ID), ev.Status, units.HumanSize(float64(ev.Current)), units.HumanSize(float64(ev.Total)))
		return
	}
	if ev.ID == "" {
		if ev.Status == images.StatusResolving {
			fmt.Fprintln(p.out, pullingFrom(ev.Ref))
			return
		}
		fmt.Fprintln(p.out, ev.Status)
		return
	}
	fmt.Fprintf(p.out, "%s%s\n", prefix(ev.ID), ev.Status)
}

func prefix(id string) string {
	if id == "" {
		return ""
	}
	return id + ": "
}

func (p *progressPrinter) tty(ev images.Progress) {
	if ev.ID == "" {
		if ev.Status == images.StatusResolving { // a new image (pull -a, a mirror failing over)
			p.lines, p.order, p.state = 0, nil, map[string]images.Progress{}
			fmt.Fprintln(p.out, pullingFrom(ev.Ref))
		} else {
			p.redraw()
			p.lines = 0
			fmt.Fprintln(p.out, ev.Status)
		}
		return
	}
	if _, ok := p.state[ev.ID]; !ok {
		p.order = append(p.order, ev.ID)
	}
	p.state[ev.ID] = ev
	p.redraw()
}

func (p *progressPrinter) redraw() {
	var b strings.Builder
	if p.lines > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.lines)
	}
	for _, id := range p.order {
		ev := p.state[id]
		line := prefix(id) + ev.Status
		if (ev.Status == images.StatusDownloading || ev.Status == images.StatusPushing) && ev.Total > 0 {
			line += " " + bar(ev.Current, ev.Total) + " " + units.HumanSize(float64(ev.Current)) + "/" + units.HumanSize(float64(ev.Total))
		}
		b.WriteString("\x1b[2K" + line + "\n")
	}
	p.lines = len(p.order)
	io.WriteString(p.out, b.String())
}

func bar(cur, total int64) string {
	const width = 40
	n := int(cur * width / total)
	n = min(max(n, 0), width)
	if n == width {
		return "[" + strings.Repeat("=", width) + "]"
	}
	return "[" + strings.Repeat("=", n) + ">" + strings.Repeat(" ", width-n-1) + "]"
}

// pullingFrom is Docker's first line of a pull: "latest: Pulling from
// library/busybox".
func pullingFrom(ref string) string {
	full, err := images.Normalize(ref)
	if err != nil {
		return "Pulling from " + ref
	}
	repo, tag, digest := images.SplitName(full)
	if tag == "" {
		tag = digest
	}
	if !strings.Contains(repo, "/") {
		repo = "library/" + repo
	}
	return tag + ": Pulling from " + repo
}
