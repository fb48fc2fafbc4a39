//go:build !lean

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/containerd/errdefs"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/gitops"
	"github.com/berth-dev/berth/internal/flock"
	"github.com/berth-dev/berth/reconcile"
	"github.com/berth-dev/berth/spec"
)

// gitopsOptions are the flags of `berth gitops`.
type gitopsOptions struct {
	repo, ref         string
	paths             []string
	interval          time.Duration
	prune, once       bool
	authFile          string
	webhook           string
	webhookSecretFile string
	progress          string
	wait              bool
	waitTimeout       time.Duration
}

// newGitopsCmd is `berth gitops`: follow a repository of stacks.
func newGitopsCmd(env *stackEnv) *cobra.Command {
	o := &gitopsOptions{}
	cmd := &cobra.Command{
		Use:   "gitops --repo URL [OPTIONS]",
		Short: "Follow a Git repository of stacks: apply each commit, repair drift, prune",
		Long: `Fetch the repository (https, ssh or file URL), check out the commit --ref
names (a branch, tag or SHA; default the remote's HEAD) and apply every stack
found under the --path folders (a folder with a compose file or stack.hcl) as
"berth up -d --remove-orphans" would, labelling its containers with the
repository, ref and path. Every --interval it fetches again and re-plans every
stack, so a new commit is applied and drift (a container removed or changed by
hand) is repaired. A stack that fails (a bad file, a missing image) keeps
running as it was and the error is recorded with the commit; the others go on.
A stack whose folder left the repository is taken down only with --prune.

Credentials come from --auth-file (key=value lines: username, password, token,
ssh_key_file, ssh_key_passphrase, known_hosts), never from the command line.
--webhook ADDR serves push webhooks (GitHub, GitLab, Gitea) that trigger a sync
at once, verified with the secret in --webhook-secret-file.

SIGTERM or Ctrl-C stops after the sync under way; a second one abandons it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGitops(cmd, env, o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.repo, "repo", "", "repository URL (https://, ssh://, user@host:path, file://)")
	fs.StringVar(&o.ref, "ref", "", "branch, tag or commit SHA to follow (default: the remote's HEAD)")
	stringArrayVar(fs, &o.paths, "path", nil, "folder of the repository to find stacks under; repeatable (default: all)")
	fs.DurationVar(&o.interval, "interval", time.Minute, "how often to fetch and re-plan every stack")
	fs.BoolVar(&o.prune, "prune", false, "take down the stacks whose folder left the repository")
	fs.BoolVar(&o.once, "once", false, "sync once and exit: 0 when every stack applied, 1 otherwise")
	fs.StringVar(&o.authFile, "auth-file", "", "file with the repository's credentials (key=value lines)")
	fs.StringVar(&o.webhook, "webhook", "", "serve push webhooks on this address (host:port)")
	fs.StringVar(&o.webhookSecretFile, "webhook-secret-file", "", "file holding the webhooks' secret")
	fs.StringVar(&o.progress, "progress", "plain", "progress output of the applies: plain, json or quiet")
	fs.BoolVar(&o.wait, "wait", false, "after applying a stack, wait for its services to be running or healthy; one that is not is an error of the commit")
	fs.DurationVar(&o.waitTimeout, "wait-timeout", 5*time.Minute, "how long --wait waits for a stack")
	cmd.AddCommand(newGitopsStatusCmd(env))
	return cmd
}

func (o *gitopsOptions) check() error {
	inval := func(format string, args ...any) error {
		return fmt.Errorf(format+": %w", append(args, errdefs.ErrInvalidArgument)...)
	}
	switch {
	case o.repo == "":
		return inval("--repo is required")
	case o.interval <= 0:
		return inval("--interval %s: want a positive duration", o.interval)
	case o.webhook != "" && o.webhookSecretFile == "":
		return inval("--webhook needs --webhook-secret-file: unsigned webhooks are never accepted")
	case o.wait && o.waitTimeout <= 0:
		return inval("--wait-timeout %s: want a positive duration", o.waitTimeout)
	case o.webhook != "" && o.once:
		return inval("--webhook and --once are incompatible")
	}
	for _, p := range o.paths {
		if filepath.IsAbs(p) || p == ".." || strings.HasPrefix(filepath.Clean(p), "../") {
			return inval("--path %q: want a folder inside the repository", p)
		}
	}
	return nil
}

// gitopsSyncer builds the Syncer for the flags, with the up code path as
// its Applier.
func gitopsSyncer(cmd *cobra.Command, env *stackEnv, o *gitopsOptions, errOut io.Writer) (*gitops.Syncer, error) {
	auth, err := gitops.ReadAuth(o.authFile, o.repo)
	if err != nil {
		return nil, err
	}
	if o.authFile != "" {
		if fi, err := os.Stat(o.authFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
			fmt.Fprintf(errOut, "berth: warning: %s is readable by others (mode %o); make it 0600\n", o.authFile, fi.Mode().Perm())
		}
	}
	if _, err := newProgress(o.progress, errOut); err != nil {
		return nil, err
	}
	w, err := env.open(env.g)
	if err != nil {
		return nil, err
	}
	paths := slices.Clone(o.paths)
	slices.Sort(paths)
	key := strings.Join(append([]string{o.repo, o.ref}, paths...), "\x00")
	repo := &gitops.Repo{URL: o.repo, Ref: o.ref, Dir: gitops.StateDir(filepath.Join(env.g.root, "gitops"), key), Auth: auth}
	ap := &gitopsApplier{env: env, w: w, out: cmd.OutOrStdout(), errOut: errOut, progress: o.progress}
	if o.wait {
		ap.waitTimeout = o.waitTimeout
	}
	// With --wait a commit that does not become ready is rolled back:
	// "ready" is what makes a commit good.
	return &gitops.Syncer{Repo: repo, Paths: o.paths, Prune: o.prune, Rollback: o.wait, Applier: ap, Log: errOut}, nil
}

func runGitops(cmd *cobra.Command, env *stackEnv, o *gitopsOptions) error {
	if err := o.check(); err != nil {
		return err
	}
	var secret []byte
	if o.webhook != "" {
		data, err := os.ReadFile(o.webhookSecretFile)
		if err != nil {
			return fmt.Errorf("webhook secret: %w", err)
		}
		if secret = bytes.TrimSpace(data); len(secret) == 0 {
			return fmt.Errorf("webhook secret file %s is empty: %w", o.webhookSecretFile, errdefs.ErrInvalidArgument)
		}
	}
	// The sync, the webhook and the signal handler all log: one writer,
	// one line at a time.
	errOut := &lockedWriter{w: cmd.ErrOrStderr()}
	s, err := gitopsSyncer(cmd, env, o, errOut)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	lock, err := lockRepo(ctx, s.Repo, errOut)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	sigs := env.signals
	if sigs == nil {
		ch := make(chan os.Signal, 2)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(ch)
		sigs = ch
	}
	runCtx, abandon := context.WithCancel(ctx)
	defer abandon()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			fmt.Fprintln(errOut, "Stopping: finishing the sync under way (signal again to abandon it)")
			close(stop)
		case <-done:
			return
		}
		select {
		case <-sigs:
			fmt.Fprintln(errOut, "Abandoning the sync under way")
			abandon()
		case <-done:
		}
	}()
	if o.once {
		err := s.Sync(runCtx)
		close(done)
		if runCtx.Err() != nil {
			fmt.Fprintln(errOut, "Stopped; the sync was abandoned: its stack may be partly converged until the next sync (see berth gitops status)")
		}
		if err != nil {
			return &exitError{code: 1, err: fmt.Errorf("gitops: sync of %s failed", o.repo)}
		}
		return nil
	}

	trigger := make(chan struct{}, 1)
	if o.webhook != "" {
		ln, err := net.Listen("tcp", o.webhook)
		if err != nil {
			return fmt.Errorf("webhook: %w", err)
		}
		hook := &gitops.Webhook{Secret: secret, Log: errOut, Trigger: func() {
			select {
			case trigger <- struct{}{}:
			default: // a sync is already queued: they coalesce
			}
		}}
		srv := &http.Server{Handler: hook, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		fmt.Fprintf(errOut, "Webhook listening on http://%s/\n", ln.Addr())
	}

	fmt.Fprintf(errOut, "Following %s %s every %s\n", o.repo, refOrHead(o.ref), o.interval)
	s.Run(runCtx, o.interval, trigger, stop)
	close(done)
	if runCtx.Err() != nil {
		fmt.Fprintln(errOut, "Stopped; the sync under way was abandoned: its stack may be partly converged until the next sync (see berth gitops status)")
		return nil
	}
	fmt.Fprintln(errOut, "Stopped; every stack is as the last sync left it")
	return nil
}

// lockRepo makes one berth gitops at a time follow a repository (and ref
// and paths): a second one waits, saying so.
func lockRepo(ctx context.Context, r *gitops.Repo, errOut io.Writer) (*flock.Lock, error) {
	path := filepath.Join(r.Dir, "lock")
	tctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	lock, err := flock.Acquire(tctx, path)
	cancel()
	if err == nil {
		return lock, nil
	}
	fmt.Fprintf(errOut, "Waiting for the other berth gitops following %s\n", r.URL)
	return flock.Acquire(ctx, path)
}

func refOrHead(ref string) string {
	if ref == "" {
		return "HEAD"
	}
	return ref
}

// gitopsApplier is gitops.Applier on the up code path: converge, as
// `berth up -d --remove-orphans` runs it, and a down by labels.
type gitopsApplier struct {
	env         *stackEnv
	w           *stackWorld
	out, errOut io.Writer
	progress    string
	waitTimeout time.Duration // > 0: wait for the stack as up --wait does
}

// gitopsEnv is the environment stacks from a repository are loaded in:
// the process's, without the COMPOSE_* variables that would pick other
// files or another name for every stack.
func gitopsEnv() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "COMPOSE_FILE", "COMPOSE_PROJECT_NAME", "COMPOSE_PROFILES", "COMPOSE_PATH_SEPARATOR":
			continue
		}
		env[k] = v
	}
	return env
}

// Apply loads the stack, adds the gitops labels to every service (so
// reconcile writes them on every container, and they are in the config
// hash: they never change between commits), and converges it. The plan is
// printed only when it is not empty: a quiet interval says nothing.
func (a *gitopsApplier) Apply(ctx context.Context, t gitops.Target) (gitops.Result, error) {
	sf := &stackFlags{files: t.Files, projectDir: t.Dir, g: a.env.g}
	st, err := sf.loadStack(ctx, func(o *spec.Options) { o.Env = gitopsEnv() })
	if err != nil {
		var ps spec.Problems
		if errors.As(err, &ps) {
			return gitops.Result{}, fmt.Errorf("invalid stack:\n%w", ps)
		}
		return gitops.Result{}, err
	}
	p := st.Project
	if err := a.checkOwner(ctx, p.Name, t); err != nil {
		return gitops.Result{Stack: p.Name}, err
	}
	for name, s := range p.Services {
		labels := maps.Clone(s.Labels)
		if labels == nil {
			labels = map[string]string{}
		}
		maps.Copy(labels, t.Labels)
		s.Labels = labels
		p.Services[name] = s
	}
	prog, err := newProgress(a.progress, a.errOut)
	if err != nil {
		return gitops.Result{}, err
	}
	var plan *reconcile.Plan
	var text bytes.Buffer
	c := &cobra.Command{}
	c.SetOut(&text)
	ip := imagePolicy{build: "missing", out: a.errOut, onPlan: func(pl *reconcile.Plan) { plan = pl }}
	lock, err := converge(ctx, c, a.env, a.w, p, reconcile.Options{RemoveOrphans: true}, ip, prog)
	res := gitops.Result{Stack: p.Name}
	if plan != nil {
		res.Summary, res.Changed = plan.Summary(), !plan.Empty()
	}
	if res.Changed {
		printWarnings(a.errOut, st.Warnings)
		fmt.Fprintf(a.out, "Stack %s (%s) at %.12s:\n", p.Name, t.Path, t.Commit)
		a.out.Write(text.Bytes())
	}
	if err != nil {
		return res, err
	}
	defer lock.Unlock()
	// For berth boot, as up records it.
	if err := saveGitopsBootRecord(a.env.g, p, t.Labels); err != nil {
		return res, err
	}
	if a.waitTimeout > 0 {
		// Like up --wait, under the stack's lock, on every sync (so a
		// stack that stays unhealthy stays in error): one that does not
		// become ready is an error of this commit, which the Syncer rolls
		// back to the stack's last good commit (Syncer.Rollback).
		wctx, cancel := context.WithTimeout(ctx, a.waitTimeout)
		defer cancel()
		if err := waitReady(wctx, a.env, a.w.Runtime, p.Name, p.ServiceNames(), prog); err != nil {
			return res, err
		}
	}
	return res, lock.Unlock()
}

// checkOwner refuses a stack whose containers were deployed from another
// repository or ref, or from another folder of this commit that loads with
// the same name: converging it would take it over. A stack brought up by
// hand (no gitops labels), or whose folder moved, is taken over.
func (a *gitopsApplier) checkOwner(ctx context.Context, name string, t gitops.Target) error {
	cs, err := stackContainers(ctx, a.w.Runtime, name, nil, false)
	if err != nil {
		return err
	}
	for _, c := range cs {
		repo, ref, path := c.Labels[gitops.LabelRepo], c.Labels[gitops.LabelRef], c.Labels[gitops.LabelPath]
		switch {
		case repo == "":
		case repo != t.Labels[gitops.LabelRepo] || ref != t.Labels[gitops.LabelRef]:
			return fmt.Errorf("stack %s is deployed from %s (ref %s); leaving it alone: %w", name, repo, refOrHead(ref), errdefs.ErrAlreadyExists)
		case path != t.Path && slices.Contains(t.Found, path):
			return fmt.Errorf("stack name %s is taken by folder %s of this repository; leaving it alone: %w", name, path, errdefs.ErrAlreadyExists)
		}
	}
	return nil
}

// Down takes the stack down by its labels, as `berth down -p NAME
// --remove-orphans` without a stack file does: containers dependents first,
// then networks; volumes are kept.
func (a *gitopsApplier) Down(ctx context.Context, name string) error {
	lock, err := lockStack(ctx, a.env.g, name)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	obs, err := reconcile.Observe(ctx, name, nil, a.w.Deps)
	if err != nil {
		return err
	}
	plan, err := reconcile.MakeDownPlan(name, nil, obs, reconcile.DownOptions{RemoveOrphans: true})
	if err != nil {
		return err
	}
	if err := plan.WriteText(a.out); err != nil {
		return err
	}
	if plan.Empty() {
		return nil
	}
	prog, err := newProgress(a.progress, a.errOut)
	if err != nil {
		return err
	}
	files, err := stackFilesDir(a.env.g, name)
	if err != nil {
		return err
	}
	if err := reconcile.Apply(ctx, plan, a.w.Deps, reconcile.ApplyOptions{Progress: prog.event, Parallel: max(8, len(plan.Ops)), FilesDir: files}); err != nil {
		return err
	}
	os.Remove(files)
	forgetGitopsBootRecord(a.env.g, name)
	os.Remove(filepath.Dir(files)) // once empty
	return nil
}

// Deployed lists the stacks whose containers carry the gitops labels.
func (a *gitopsApplier) Deployed(ctx context.Context) ([]gitops.Deployed, error) {
	cs, err := a.w.Runtime.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	seen := map[string]gitops.Deployed{}
	for _, c := range cs {
		name := stackOf(c.Labels)
		if c.Labels[gitops.LabelRepo] == "" || name == "" {
			continue
		}
		if _, ok := seen[name]; !ok {
			seen[name] = gitops.Deployed{Stack: name, Labels: map[string]string{
				gitops.LabelRepo: c.Labels[gitops.LabelRepo],
				gitops.LabelRef:  c.Labels[gitops.LabelRef],
				gitops.LabelPath: c.Labels[gitops.LabelPath],
			}}
		}
	}
	var out []gitops.Deployed
	for _, k := range slices.Sorted(maps.Keys(seen)) {
		out = append(out, seen[k])
	}
	return out, nil
}

// newGitopsStatusCmd is `berth gitops status`.
func newGitopsStatusCmd(env *stackEnv) *cobra.Command {
	var repo, format string
	cmd := &cobra.Command{
		Use:   "status [--repo URL] [--format table|json]",
		Short: "Show each followed stack's applied commit, time, last plan and last error",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			all, err := gitops.ListStatus(filepath.Join(env.g.root, "gitops"))
			if err != nil {
				return err
			}
			var sts []*gitops.Status
			for _, st := range all {
				if repo == "" || st.Repo == repo {
					sts = append(sts, st)
				}
			}
			return writeGitopsStatus(cmd.OutOrStdout(), sts, format, time.Now())
		},
	}
	cmd.Flags().StringVar(&repo, "repo", "", "only this repository")
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}

func writeGitopsStatus(w io.Writer, sts []*gitops.Status, format string, now time.Time) error {
	switch format {
	case "json":
		if sts == nil {
			sts = []*gitops.Status{}
		}
		data, err := json.MarshalIndent(sts, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", data)
		return err
	case "table", "":
	default:
		return fmt.Errorf("--format %q: want table or json: %w", format, errdefs.ErrInvalidArgument)
	}
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "REPOSITORY\tREF\tSTACK\tPATH\tCOMMIT\tAPPLIED\tPLAN\tERROR")
	for _, st := range sts {
		if st.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\t\t\t%.12s\t\t\tfetch: %s\n", st.Repo, refOrHead(st.Ref), st.Commit, errGist(st.Error))
		}
		for _, s := range st.Stacks {
			applied := ""
			if !s.Applied.IsZero() {
				applied = agoText(now.Sub(s.Applied)) + " ago"
			}
			plan := s.Plan
			if s.Removed {
				plan = "removed from the repository (kept without --prune)"
			}
			errText := ""
			if s.Error != "" {
				errText = fmt.Sprintf("at %.12s: %s", s.ErrorCommit, errGist(s.Error))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.12s\t%s\t%s\t%s\n", st.Repo, refOrHead(st.Ref), s.Stack, s.Path, s.Commit, applied, plan, errText)
		}
	}
	return tw.Flush()
}

// errGist is an error's gist for a table cell: its first line, or with
// an "invalid stack:" header its first problem.
func errGist(s string) string {
	lines := strings.Split(s, "\n")
	if len(lines) > 1 && strings.HasSuffix(lines[0], ":") {
		return lines[0] + " " + strings.TrimSpace(lines[1])
	}
	return lines[0]
}

func agoText(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d seconds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}
