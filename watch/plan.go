package watch

import (
	"maps"
	"slices"

	"github.com/compose-spec/compose-go/v2/types"
)

// Change is one host path that changed; Removed when it is gone.
type Change struct {
	Path    string
	Removed bool
}

// Copy is one file to put into (or, Delete, to remove from) the service's
// containers.
type Copy struct {
	HostPath      string
	ContainerPath string
	Delete        bool
}

// Action is what one service needs after a batch of changes. Rebuild
// subsumes everything else (the service is rebuilt and recreated, so its
// new containers have every file). Otherwise Sync is copied first, then
// the Exec hooks run, then the service restarts when Restart.
type Action struct {
	Service string
	Rebuild bool
	Sync    []Copy
	Exec    []types.ServiceHook
	Restart bool
}

// Plan is the pure core of develop.watch: from the rules and a batch of
// changes, the actions per service, sorted by service. Every rule a change
// matches applies (a file under two sync rules is copied twice, as with
// Compose). A change no rule matches does nothing.
func Plan(rules []Rule, changes []Change) []Action {
	acts := map[string]*Action{}
	get := func(s string) *Action {
		if acts[s] == nil {
			acts[s] = &Action{Service: s}
		}
		return acts[s]
	}
	execs := map[string]map[int]bool{} // service -> rule index already queued
	for _, c := range changes {
		for i, r := range rules {
			if !r.Matches(c.Path) {
				continue
			}
			a := get(r.Service)
			switch r.Action {
			case types.WatchActionRebuild:
				a.Rebuild = true
			case types.WatchActionRestart:
				a.Restart = true
			case types.WatchActionSync, types.WatchActionSyncRestart, types.WatchActionSyncExec:
				a.Sync = append(a.Sync, Copy{HostPath: c.Path, ContainerPath: r.containerPath(c.Path), Delete: c.Removed})
				if r.Action == types.WatchActionSyncRestart {
					a.Restart = true
				}
				if r.Action == types.WatchActionSyncExec {
					if execs[r.Service] == nil {
						execs[r.Service] = map[int]bool{}
					}
					if !execs[r.Service][i] {
						execs[r.Service][i] = true
						a.Exec = append(a.Exec, r.Exec)
					}
				}
			}
		}
	}
	var out []Action
	for _, s := range slices.Sorted(maps.Keys(acts)) {
		a := *acts[s]
		if a.Rebuild {
			a = Action{Service: s, Rebuild: true}
		}
		out = append(out, a)
	}
	return out
}
