package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"

	"github.com/berth-dev/berth/reconcile"
)

// progress shows what the stack commands do, as Compose does: a live
// status per object on a terminal (tty), one line per change otherwise
// (plain: "Container demo-web-1  Started"), JSON lines for tools (json),
// or nothing (quiet). It is safe for concurrent use.
type progress struct {
	mode string // tty, plain, json or quiet
	w    io.Writer
	now  func() time.Time

	mu     sync.Mutex
	order  []string          // tty: objects in the order first seen
	status map[string]string // tty: object -> its last status
	drawn  int               // tty: lines drawn last time
}

// progressModes are the values of --progress.
var progressModes = []string{"auto", "tty", "plain", "json", "quiet"}

// newProgress resolves auto to tty when w is a terminal, else plain.
func newProgress(mode string, w io.Writer) (*progress, error) {
	switch mode {
	case "auto", "":
		mode = "plain"
		if f, ok := w.(*os.File); ok && isTerminal(f) {
			mode = "tty"
		}
	case "tty", "plain", "json", "quiet":
	default:
		return nil, fmt.Errorf("--progress %q: want one of %s: %w", mode, strings.Join(progressModes, ", "), errdefs.ErrInvalidArgument)
	}
	return &progress{mode: mode, w: w, now: time.Now, status: map[string]string{}}, nil
}

// event shows one event of reconcile.Apply.
func (p *progress) event(e reconcile.Event) {
	id := objectID(e.Op.Resource, e.Op.Name)
	for _, s := range eventStatus(e) {
		p.show(id, e.Op.Service, s, e.Err)
	}
}

// objectID is how Compose names an object in its progress: "Container
// demo-web-1", "Network demo_default".
func objectID(r reconcile.Resource, name string) string {
	s := string(r)
	return strings.ToUpper(s[:1]) + s[1:] + " " + name
}

// eventStatus is Compose's wording for an event: one or more statuses.
func eventStatus(e reconcile.Event) []string {
	op := e.Op
	switch e.State {
	case reconcile.StateWaiting:
		return []string{"Waiting"}
	case reconcile.StateFailed:
		return []string{"Error"}
	case reconcile.StateSkipped:
		return []string{"Resource is still in use"}
	case reconcile.StateStarted:
		switch op.Kind {
		case reconcile.KindCreate:
			return []string{"Creating"}
		case reconcile.KindRecreate:
			return []string{"Recreate"}
		case reconcile.KindRestart:
			return []string{"Restarting"}
		case reconcile.KindStart:
			return []string{"Starting"}
		case reconcile.KindRemove:
			if op.Resource == reconcile.ResourceContainer {
				return []string{"Stopping"}
			}
			return []string{"Removing"}
		}
	case reconcile.StateDone:
		switch op.Kind {
		case reconcile.KindCreate, reconcile.KindRecreate:
			done := "Created"
			if op.Kind == reconcile.KindRecreate {
				done = "Recreated"
			}
			if op.Resource == reconcile.ResourceContainer && op.Start {
				return []string{done, "Started"}
			}
			return []string{done}
		case reconcile.KindRestart, reconcile.KindStart:
			return []string{"Started"}
		case reconcile.KindRemove:
			if op.Resource == reconcile.ResourceContainer {
				return []string{"Stopped", "Removed"}
			}
			return []string{"Removed"}
		}
	}
	return nil
}

// show records and draws one object's new status.
func (p *progress) show(id, service, status string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.mode {
	case "quiet":
	case "json":
		line := map[string]any{"time": p.now().UTC().Format(time.RFC3339Nano), "id": id, "status": status}
		if service != "" {
			line["service"] = service
		}
		if err != nil {
			line["error"] = err.Error()
		}
		data, _ := json.Marshal(line)
		fmt.Fprintf(p.w, "%s\n", data)
	case "plain":
		if err != nil {
			fmt.Fprintf(p.w, "%s  %s: %v\n", id, status, err)
			return
		}
		fmt.Fprintf(p.w, "%s  %s\n", id, status)
	case "tty":
		if _, seen := p.status[id]; !seen {
			p.order = append(p.order, id)
		}
		if err != nil {
			status += ": " + err.Error()
		}
		p.status[id] = status
		p.redraw()
	}
}

// redraw rewrites the tty block in place: cursor up over the last drawing,
// then one cleared line per object.
func (p *progress) redraw() {
	var sb strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&sb, "\x1b[%dA", p.drawn)
	}
	for _, id := range p.order {
		mark := " "
		switch s := p.status[id]; {
		case strings.HasPrefix(s, "Error"):
			mark = "\x1b[31m✘\x1b[0m"
		case s == "Started" || s == "Created" || s == "Removed" || s == "Stopped" || s == "Healthy" || s == "Running" || s == "Exited":
			mark = "\x1b[32m✔\x1b[0m"
		}
		fmt.Fprintf(&sb, "\x1b[2K %s %s  %s\n", mark, id, p.status[id])
	}
	p.drawn = len(p.order)
	io.WriteString(p.w, sb.String())
}
