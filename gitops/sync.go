package gitops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Labels every container of a stack deployed from a repository carries,
// so that berth knows which stacks a repository owns (prune never touches
// a stack without them). They are added to every service of the loaded
// project before planning, so they are part of the config hash: they must
// not change from one commit to the next (the commit is in the status
// record, not on the containers).
const (
	LabelRepo = "io.berth.gitops.repo"
	LabelRef  = "io.berth.gitops.ref"
	LabelPath = "io.berth.gitops.path"
)

// Target is one stack to converge.
type Target struct {
	Path   string            // its folder in the repository
	Dir    string            // the folder in the checked-out tree
	Files  []string          // its stack files (Found.Files)
	Commit string            // the commit checked out
	Labels map[string]string // to add to every service's containers
	// Found are the folders of every stack found at this commit: a stack
	// whose containers say they come from another of them is another
	// folder's stack of the same name, not this one's to converge.
	Found []string
}

// Result is what converging a stack did.
type Result struct {
	Stack   string // the stack's name as loaded ("" when it could not be)
	Summary string // the plan's summary line
	Changed bool   // the plan was not empty, and was applied
}

// Deployed is a stack on the host that carries gitops labels.
type Deployed struct {
	Stack  string
	Labels map[string]string
}

// Applier is the controller the Syncer drives; cmd/berth implements it
// with the code path of `berth up -d --remove-orphans` and `berth down`.
type Applier interface {
	// Apply loads the stack, plans it against what runs and applies the
	// plan. A stack that cannot be loaded, planned or given its images
	// changes nothing; the error says why (file:line for bad input).
	Apply(ctx context.Context, t Target) (Result, error)
	// Down takes a stack down by its labels, keeping its volumes.
	Down(ctx context.Context, stack string) error
	// Deployed lists the stacks whose containers carry LabelRepo.
	Deployed(ctx context.Context) ([]Deployed, error)
}

// Syncer follows one repository: each Sync fetches, checks out, converges
// every stack found and prunes those gone. Sync is safe to call from
// several goroutines; calls run one at a time.
type Syncer struct {
	Repo  *Repo
	Paths []string // followed folders; none means the whole repository
	Prune bool
	// Rollback: a stack whose new commit was applied (a plan not empty)
	// and then failed (a container that did not start, or with the
	// applier's --wait an unhealthy one) is put back as its last good
	// commit had it: its folder is checked out at that commit
	// (Repo.CheckoutPath) and applied again. It stays there, and the
	// failure stays its error, until a newer commit.
	Rollback bool
	Applier  Applier
	Log      io.Writer
	Now      func() time.Time

	mu     sync.Mutex
	status *Status
	noted  map[string]bool // removed stacks already reported as kept
}

// Status returns a copy of the current status record (read from the state
// directory before the first Sync).
func (s *Syncer) Status() (*Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadStatus(); err != nil {
		return nil, err
	}
	st := *s.status
	st.Stacks = append([]StackStatus(nil), s.status.Stacks...)
	return &st, nil
}

func (s *Syncer) loadStatus() error {
	if s.status != nil {
		return nil
	}
	st, err := ReadStatus(s.Repo.Dir)
	if err != nil {
		return err
	}
	s.status = st
	return nil
}

func (s *Syncer) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Syncer) logf(format string, args ...any) {
	if s.Log != nil {
		fmt.Fprintf(s.Log, format+"\n", args...)
	}
}

// Sync is one pass: fetch and check out the ref's commit, then converge
// every stack under the followed paths, one after the other, each on its
// own (a broken stack is recorded and the others go on), then prune. When
// the fetch fails, the stacks are still converged from the last checkout
// (drift repair goes on while the remote is away). The status record is
// written at the end. The error joins every failure of the pass.
func (s *Syncer) Sync(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadStatus(); err != nil {
		return err
	}
	st := s.status
	st.Repo, st.Ref, st.Paths = s.Repo.URL, s.Repo.Ref, s.Paths
	st.Synced = s.now()
	var errs []error
	commit, err := s.Repo.Update(ctx)
	switch {
	case err != nil && (st.Commit == "" || ctx.Err() != nil):
		st.Error = err.Error()
		s.logf("%v", err)
		return errors.Join(err, writeStatus(s.Repo.Dir, st))
	case err != nil:
		st.Error = err.Error()
		errs = append(errs, err)
		s.logf("%v; converging the stacks of commit %s", err, short(st.Commit))
		commit = st.Commit
	default:
		if commit != st.Commit {
			s.logf("%s %s: commit %s", s.Repo.URL, refName(s.Repo.Ref), short(commit))
		}
		st.Commit, st.Error = commit, ""
	}
	found, err := Discover(s.Repo.Tree(), s.Paths)
	if err != nil {
		return errors.Join(append(errs, err, writeStatus(s.Repo.Dir, st))...)
	}
	old := map[string]StackStatus{}
	for _, ss := range st.Stacks {
		old[ss.Path] = ss
	}
	var stacks []StackStatus
	loaded := map[string]string{} // path -> stack name, for the ones loaded
	present := map[string]bool{}
	var paths []string
	for _, f := range found {
		present[f.Path] = true
		paths = append(paths, f.Path)
	}
	for _, f := range found {
		ss := old[f.Path]
		ss.Path, ss.Removed = f.Path, false
		if ctx.Err() != nil {
			stacks = append(stacks, ss)
			continue
		}
		ss, err := s.syncStack(ctx, f, commit, paths, ss)
		stacks = append(stacks, ss)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		loaded[f.Path] = ss.Stack
	}
	kept, err := s.prune(ctx, present, loaded, old)
	stacks = append(stacks, kept...)
	if err != nil {
		errs = append(errs, err)
	}
	st.Stacks = stacks
	if err := writeStatus(s.Repo.Dir, st); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// syncStack converges one stack and updates its record.
func (s *Syncer) syncStack(ctx context.Context, f Found, commit string, paths []string, ss StackStatus) (StackStatus, error) {
	labels := map[string]string{LabelRepo: s.Repo.URL, LabelRef: s.Repo.Ref, LabelPath: f.Path}
	target := Target{Path: f.Path, Dir: f.Dir, Files: f.Files, Commit: commit, Labels: labels, Found: paths}
	if ss.RolledBack != "" && ss.RolledBack != commit {
		ss.RolledBack = "" // a newer commit: it is tried
	}
	rolledBack := ss.RolledBack != "" && ss.Commit != ""
	if rolledBack {
		// The commit was rolled back: keep converging the good one (drift
		// repair), from its files.
		if err := s.Repo.CheckoutPath(ss.Commit, f.Path); err != nil {
			return ss, fmt.Errorf("stack %s (%s): %w", ss.Stack, f.Path, err)
		}
		target.Commit = ss.Commit
	}
	res, err := s.Applier.Apply(ctx, target)
	now := s.now()
	ss.Checked = now
	if res.Stack != "" {
		ss.Stack = res.Stack
	}
	name := ss.Stack
	if name == "" {
		name = f.Path
	}
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), s.Repo.Tree()+"/", "")
		left := "the running stack is left as it was"
		switch {
		case ctx.Err() != nil:
			msg = "apply abandoned (berth gitops was stopped); the stack may be partly converged until the next sync: " + msg
		case rolledBack:
			msg = ss.Error // the rolled-back commit's error stays the stack's
			left = fmt.Sprintf("the stack of commit %s did not converge either: %v", short(ss.Commit), err)
		case s.Rollback && res.Changed && ss.Commit != "" && ss.Commit != commit:
			ss.RolledBack = commit
			left = s.rollback(ctx, target, ss.Commit)
		}
		if msg != ss.Error || commit != ss.ErrorCommit || rolledBack {
			s.logf("stack %s (%s) at commit %s: %s\n  %s", name, f.Path, short(commit), indent(msg), left)
		}
		ss.Error, ss.ErrorCommit = msg, commit
		return ss, fmt.Errorf("stack %s (%s) at commit %s: %s", name, f.Path, short(commit), msg)
	}
	if rolledBack {
		if res.Changed {
			s.logf("stack %s (%s): repaired drift of commit %s (commit %s was rolled back): %s", name, f.Path, short(ss.Commit), short(commit), res.Summary)
			ss.Applied = now
		}
		ss.Plan = res.Summary
		return ss, fmt.Errorf("stack %s (%s) at commit %s: %s (rolled back to commit %s)", name, f.Path, short(commit), ss.Error, short(ss.Commit))
	}
	switch {
	case res.Changed && ss.Commit == commit:
		s.logf("stack %s (%s): repaired drift: %s", name, f.Path, res.Summary)
		ss.Applied = now
	case res.Changed:
		s.logf("stack %s (%s): applied commit %s: %s", name, f.Path, short(commit), res.Summary)
		ss.Applied = now
	case ss.Commit != commit:
		s.logf("stack %s (%s): commit %s: %s", name, f.Path, short(commit), res.Summary)
		ss.Applied = now
	}
	if ss.Error != "" {
		s.logf("stack %s (%s): error cleared at commit %s", name, f.Path, short(commit))
	}
	ss.Commit, ss.Plan, ss.Error, ss.ErrorCommit = commit, res.Summary, "", ""
	return ss, nil
}

// rollback puts the stack back as commit good had it: its folder checked
// out at good and applied. It returns what to log about it.
func (s *Syncer) rollback(ctx context.Context, t Target, good string) string {
	if err := s.Repo.CheckoutPath(good, t.Path); err != nil {
		return fmt.Sprintf("rollback to commit %s failed: %v", short(good), err)
	}
	t.Commit = good
	res, err := s.Applier.Apply(ctx, t)
	if err != nil {
		return fmt.Sprintf("rolled back to commit %s, which did not converge either: %v", short(good), err)
	}
	return fmt.Sprintf("rolled back to commit %s (%s); it stays until a newer commit", short(good), res.Summary)
}

// prune takes down (with Prune) the stacks deployed from this repository,
// ref and followed paths whose folder is gone, or whose folder now loads
// as a stack of another name. A folder that is still there but failed to
// load keeps its stacks. Without Prune it reports each once and keeps it.
// It returns the records of the stacks kept.
func (s *Syncer) prune(ctx context.Context, present map[string]bool, loaded map[string]string, old map[string]StackStatus) ([]StackStatus, error) {
	deployed, err := s.Applier.Deployed(ctx)
	if err != nil {
		return nil, fmt.Errorf("list deployed stacks: %w", err)
	}
	if s.noted == nil {
		s.noted = map[string]bool{}
	}
	var kept []StackStatus
	var errs []error
	for _, d := range deployed {
		p := d.Labels[LabelPath]
		if d.Labels[LabelRepo] != s.Repo.URL || d.Labels[LabelRef] != s.Repo.Ref || !under(p, s.Paths) {
			continue
		}
		name, ok := loaded[p]
		if present[p] && (!ok || name == d.Stack) {
			continue
		}
		why := "its folder " + p + " is no longer in the repository"
		if present[p] {
			why = "folder " + p + " now holds stack " + name
		}
		if !s.Prune {
			if !s.noted[d.Stack] {
				s.logf("stack %s: %s; kept (--prune takes it down)", d.Stack, why)
				s.noted[d.Stack] = true
			}
			ss := old[p]
			if ss.Stack != d.Stack {
				ss = StackStatus{Path: p, Stack: d.Stack}
			}
			ss.Removed = true
			kept = append(kept, ss)
			continue
		}
		s.logf("stack %s: %s; pruning it (volumes are kept)", d.Stack, why)
		if err := s.Applier.Down(ctx, d.Stack); err != nil {
			errs = append(errs, fmt.Errorf("prune stack %s: %w", d.Stack, err))
			kept = append(kept, StackStatus{Path: p, Stack: d.Stack, Removed: true, Error: err.Error()})
			continue
		}
		delete(s.noted, d.Stack)
	}
	return kept, errors.Join(errs...)
}

// Run syncs at once, then after every interval and every trigger, until
// stop is closed (after the pass under way ends) or ctx ends (abandoning
// it). Triggers that arrive during a pass coalesce into one more pass. A
// pass's errors are logged by Sync, not returned.
func (s *Syncer) Run(ctx context.Context, interval time.Duration, trigger <-chan struct{}, stop <-chan struct{}) {
	for {
		s.Sync(ctx)
		timer := time.NewTimer(interval)
		select {
		case <-stop:
			timer.Stop()
			return
		case <-ctx.Done():
			timer.Stop()
			return
		case <-trigger:
			timer.Stop()
		case <-timer.C:
		}
		select {
		case <-stop:
			return
		default:
		}
	}
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

func refName(ref string) string {
	if ref == "" {
		return "HEAD"
	}
	return ref
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n  ") }
