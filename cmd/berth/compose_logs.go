package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/runtime"
)

// logColors are the prefix colours, one per container in turn, as Compose
// cycles them.
var logColors = []string{"36", "33", "32", "35", "34", "96", "93", "92", "95", "94"}

// logMux interleaves the log lines of several containers on one writer,
// each whole line prefixed with its container ("web-1  | ").
type logMux struct {
	mu    sync.Mutex
	w     io.Writer
	color bool
	width int
	next  int
}

// prefixWriter is one container's stream into a logMux; it holds a
// partial line until its end arrives.
type prefixWriter struct {
	m      *logMux
	prefix string
	buf    []byte
}

func (m *logMux) writer(name string, plain bool) *prefixWriter {
	m.mu.Lock()
	defer m.mu.Unlock()
	if plain {
		return &prefixWriter{m: m}
	}
	prefix := fmt.Sprintf("%-*s | ", m.width, name)
	if m.color {
		prefix = "\x1b[" + logColors[m.next%len(logColors)] + "m" + prefix + "\x1b[0m"
	}
	m.next++
	return &prefixWriter{m: m, prefix: prefix}
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		p.m.line(p.prefix, p.buf[:i+1])
		p.buf = p.buf[i+1:]
	}
}

// Close flushes a last line without its newline.
func (p *prefixWriter) Close() error {
	if len(p.buf) > 0 {
		p.m.line(p.prefix, append(p.buf, '\n'))
		p.buf = nil
	}
	return nil
}

func (m *logMux) line(prefix string, line []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	io.WriteString(m.w, prefix)
	m.w.Write(line)
}

// displayName is how logs and progress name a replica: "web-1" for
// demo-web-1, else the container's name.
func displayName(stack string, c runtime.Container) string {
	svc, n := serviceOf(c.Labels), c.Labels["io.berth.number"]
	if c.Name == stack+"-"+svc+"-"+n {
		return svc + "-" + n
	}
	return c.Name
}

// streamLogs follows (or reads) the logs of cs into out until ctx ends or
// every stream ends; it returns once all readers have returned.
func streamLogs(ctx context.Context, src logSource, stack string, cs []runtime.Container, out io.Writer, o logOptions, noPrefix, color bool) error {
	m := &logMux{w: out, color: color}
	for _, c := range cs {
		m.width = max(m.width, len(displayName(stack, c)))
	}
	var wg sync.WaitGroup
	errs := make([]error, len(cs))
	for i, c := range cs {
		pw := m.writer(displayName(stack, c), noPrefix)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer pw.Close()
			err := src.Logs(ctx, c.ID, o, pw, pw)
			if err != nil && ctx.Err() == nil {
				errs[i] = fmt.Errorf("logs of %s: %w", c.Name, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// foreground is up without -d: stream the attached services' logs until
// their containers exit, stop the stack on Ctrl-C (kill on a second one)
// and apply --abort-on-container-exit/-failure and --exit-code-from.
func foreground(cmd *cobra.Command, env *stackEnv, w *stackWorld, p *types.Project, o *upOptions, attach []string, timeout *time.Duration, prog *progress) error {
	ctx := cmd.Context()
	if w.Logs == nil {
		return errUnsupported("streaming logs in the foreground (use up -d)")
	}
	cs, err := stackContainers(ctx, w.Runtime, p.Name, attach, false)
	if err != nil {
		return err
	}
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	color := !o.noColor
	if f, ok := out.(*os.File); !ok || !isTerminal(f) {
		color = false
	}
	var names []string
	for _, c := range cs {
		names = append(names, displayName(p.Name, c))
	}
	fmt.Fprintf(errOut, "Attaching to %s\n", strings.Join(names, ", "))
	logCtx, stopLogs := context.WithCancel(ctx)
	defer stopLogs()
	logsDone := make(chan error, 1)
	go func() {
		logsDone <- streamLogs(logCtx, w.Logs, p.Name, cs, out, logOptions{Follow: true, Tail: -1, Timestamps: o.timestamps}, o.noLogPrefix, color)
	}()

	sigs := env.signals
	if sigs == nil {
		ch := make(chan os.Signal, 2)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(ch)
		sigs = ch
	}
	finish := func(err error) error {
		stopLogs()
		<-logsDone
		return err
	}
	stopped := make(chan error, 1)
	stopping := false
	stop := func(t *time.Duration) {
		stopping = true
		go func() { stopped <- stopStack(ctx, w.Runtime, p, nil, t, prog) }()
	}
	exitCode, interrupted := 0, false
	tick := time.NewTicker(env.pollInterval())
	defer tick.Stop()
	for {
		select {
		case <-sigs:
			if !stopping {
				fmt.Fprintln(errOut, "Gracefully stopping... (press Ctrl+C again to force)")
				interrupted = true
				stop(timeout)
				continue
			}
			zero := time.Duration(0)
			fmt.Fprintln(errOut, "Killing...")
			return finish(stopErr(stopStack(context.WithoutCancel(ctx), w.Runtime, p, nil, &zero, prog), 130))
		case err := <-stopped:
			code := exitCode
			if interrupted {
				code = 130
			}
			return finish(stopErr(err, code))
		case <-tick.C:
			if stopping {
				continue
			}
			now, err := stackContainers(ctx, w.Runtime, p.Name, attach, false)
			if err != nil {
				return finish(stopErr(err, 1))
			}
			first, all := exitedContainer(now, o)
			if first != nil {
				fmt.Fprintf(errOut, "%s exited with code %d\n", first.Name, first.ExitCode)
				if o.exitCodeFrom == "" || serviceOf(first.Labels) == o.exitCodeFrom {
					exitCode = first.ExitCode
				}
				if o.exitCodeFrom != "" && serviceOf(first.Labels) != o.exitCodeFrom {
					exitCode = exitCodeOf(now, o.exitCodeFrom)
				}
				fmt.Fprintln(errOut, "Aborting on container exit...")
				stop(timeout)
				continue
			}
			if all {
				if o.exitCodeFrom != "" {
					exitCode = exitCodeOf(now, o.exitCodeFrom)
				}
				return finish(stopErr(nil, exitCode))
			}
		}
	}
}

// exitedContainer returns the container that ends the foreground under
// --abort-on-container-exit (any exit) or -failure (a non-zero exit), and
// whether every attached container has exited.
func exitedContainer(cs []runtime.Container, o *upOptions) (*runtime.Container, bool) {
	all := true
	for i, c := range cs {
		exited := c.Status == runtime.StatusExited || c.Status == runtime.StatusDead
		all = all && exited
		if exited && (o.abortOnExit || (o.abortOnFailure && c.ExitCode != 0)) {
			return &cs[i], all
		}
	}
	return nil, all
}

func exitCodeOf(cs []runtime.Container, service string) int {
	for _, c := range cs {
		if serviceOf(c.Labels) == service {
			return c.ExitCode
		}
	}
	return 0
}

func stopErr(err error, code int) error {
	if err != nil {
		return &exitError{code: max(code, 1), err: err}
	}
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// logsCmdOptions are the flags of `compose logs`.
type logsCmdOptions struct {
	follow, timestamps, noPrefix, noColor bool
	tail, since                           string
	index                                 int
}

func newComposeLogsCmd(env *stackEnv, sf *stackFlags) *cobra.Command {
	o := &logsCmdOptions{}
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] [SERVICE...]",
		Short: "Show the logs of the stack's containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			p, name, err := projectOrName(ctx, sf)
			if err != nil {
				return err
			}
			if err := checkServices(p, args); err != nil {
				return err
			}
			w, err := env.open(env.g)
			if err != nil {
				return err
			}
			if w.Logs == nil {
				return errUnsupported("logs")
			}
			lo := logOptions{Follow: o.follow, Tail: -1, Timestamps: o.timestamps}
			if o.tail != "all" && o.tail != "" {
				if lo.Tail, err = strconv.Atoi(o.tail); err != nil {
					return fmt.Errorf("--tail %q: want a number or all", o.tail)
				}
			}
			if o.since != "" {
				if lo.Since, err = parseTimeArg(o.since, time.Now()); err != nil {
					return err
				}
			}
			cs, err := stackContainers(ctx, w.Runtime, name, args, false)
			if err != nil {
				return err
			}
			if o.index > 0 {
				var keep []runtime.Container
				for _, c := range cs {
					if c.Labels["io.berth.number"] == strconv.Itoa(o.index) {
						keep = append(keep, c)
					}
				}
				cs = keep
			}
			color := !o.noColor
			if f, ok := cmd.OutOrStdout().(*os.File); !ok || !isTerminal(f) {
				color = false
			}
			return streamLogs(ctx, w.Logs, name, cs, cmd.OutOrStdout(), lo, o.noPrefix, color)
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&o.follow, "follow", "f", false, "follow the log output")
	fs.BoolVarP(&o.timestamps, "timestamps", "t", false, "show timestamps")
	fs.BoolVar(&o.noPrefix, "no-log-prefix", false, "do not prefix lines with the container")
	fs.BoolVar(&o.noColor, "no-color", false, "monochrome output")
	fs.StringVarP(&o.tail, "tail", "n", "all", "number of lines from the end of each log, or all")
	fs.StringVar(&o.since, "since", "", "show logs since a timestamp or relative time (42m)")
	fs.IntVar(&o.index, "index", 0, "the replica, when a service has several")
	return cmd
}
