package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/reconcile"
)

// stackRecord says how a stack that is up was loaded, so that `berth boot`
// can bring it back after a reboot: <root>/stacks/<name>/stack.json,
// written by up and removed by down.
type stackRecord struct {
	Name       string    `json:"name"`
	Files      []string  `json:"files"`
	ProjectDir string    `json:"project_dir"`
	EnvFiles   []string  `json:"env_files,omitempty"`
	Profiles   []string  `json:"profiles,omitempty"`
	Vars       []string  `json:"vars,omitempty"`
	VarFiles   []string  `json:"var_files,omitempty"`
	Updated    time.Time `json:"updated"`
}

func stackRecordPath(g *globals, name string) string {
	return filepath.Join(g.root, "stacks", name, "stack.json")
}

// saveStackRecord records that a stack is up, with its inputs made
// absolute.
func saveStackRecord(g *globals, sf *stackFlags, p *types.Project) error {
	abs := func(paths []string) []string {
		var out []string
		for _, f := range paths {
			if a, err := filepath.Abs(f); err == nil {
				f = a
			}
			out = append(out, f)
		}
		return out
	}
	varFiles := abs(sf.varFiles)
	rec := stackRecord{
		Name: p.Name, Files: p.ComposeFiles, ProjectDir: p.WorkingDir, EnvFiles: abs(sf.envFiles),
		Profiles: splitProfiles(sf.profiles), Vars: sf.vars, VarFiles: varFiles, Updated: time.Now().UTC(),
	}
	path := stackRecordPath(g, p.Name)
	if sameStackRecord(path, rec) {
		return nil // a no-op up writes (and fsyncs) nothing
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteJSON(path, rec, 0o600)
}

// sameStackRecord reports whether the record at path says what rec does,
// apart from its Updated time, which is when the inputs last changed.
func sameStackRecord(path string, rec stackRecord) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var old stackRecord
	if json.Unmarshal(data, &old) != nil {
		return false
	}
	old.Updated = rec.Updated
	a, errA := json.Marshal(old)
	b, errB := json.Marshal(rec)
	return errA == nil && errB == nil && bytes.Equal(a, b)
}

// removeStackRecord forgets a stack that was taken down.
func removeStackRecord(g *globals, name string) error {
	err := os.Remove(stackRecordPath(g, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// stackRecords reads the records of every stack that is up, by name.
func stackRecords(g *globals) ([]stackRecord, error) {
	paths, err := filepath.Glob(filepath.Join(g.root, "stacks", "*", "stack.json"))
	if err != nil {
		return nil, err
	}
	slices.Sort(paths)
	var out []stackRecord
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var rec stackRecord
		if err := json.Unmarshal(data, &rec); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

func (r stackRecord) flags() *stackFlags {
	return &stackFlags{
		files: r.Files, project: r.Name, projectDir: r.ProjectDir, envFiles: r.EnvFiles,
		profiles: r.Profiles, vars: r.Vars, varFiles: r.VarFiles,
	}
}

func newBootCmd(env *stackEnv) *cobra.Command {
	var progressMode string
	cmd := &cobra.Command{
		Use:   "boot",
		Short: "Bring back every stack that was up (for a unit started at boot)",
		Long: `Start every stack that was up when the machine went down: each is loaded from
the files it was last brought up from and converged as up -d does, so its
containers start in depends_on order, waiting for service_healthy and
service_completed_successfully where the stack asks. A stack that fails is
reported and the others go on; the exit status is then 1.

berth systemd install writes a systemd unit that runs it at boot.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			prog, err := newProgress(progressMode, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			recs, err := stackRecords(env.g)
			if err != nil {
				return err
			}
			w, err := env.open(env.g)
			if err != nil {
				return err
			}
			failed := false
			for _, rec := range recs {
				err := func() error {
					p, err := loadProject(cmd.Context(), rec.flags())
					if err != nil {
						return err
					}
					lock, err := converge(cmd.Context(), cmd, env, w, p, reconcile.Options{}, imagePolicy{build: "missing", out: cmd.ErrOrStderr()}, prog)
					if err != nil {
						return err
					}
					return lock.Unlock()
				}()
				if err != nil {
					failed = true
					fmt.Fprintf(cmd.ErrOrStderr(), "berth: boot stack %s: %v\n", rec.Name, err)
				}
			}
			if failed {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&progressMode, "progress", "plain", "progress output: auto, tty, plain, json or quiet")
	return cmd
}

// systemdUnit is the unit that runs `berth boot` once at start-up.
func systemdUnit(exe string, g *globals) string {
	return fmt.Sprintf(`[Unit]
Description=berth: bring back the stacks that were up
Documentation=file://%s
Wants=network-online.target
After=network-online.target local-fs.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=%s --root %s --run-root %s --runtime %s boot --progress plain
TimeoutStartSec=0

[Install]
WantedBy=multi-user.target
`, "/usr/share/doc/berth", exe, g.root, g.runRoot, g.runtime)
}

func newSystemdCmd(env *stackEnv) *cobra.Command {
	group := &cobra.Command{Use: "systemd", Short: "Integrate berth with systemd"}
	var unitDir string
	var dryRun, noEnable bool
	install := &cobra.Command{
		Use:   "install",
		Short: "Install and enable berth.service, which runs berth boot at start-up",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			unit := systemdUnit(exe, env.g)
			if dryRun {
				_, err := fmt.Fprint(cmd.OutOrStdout(), unit)
				return err
			}
			path := filepath.Join(unitDir, "berth.service")
			if err := atomicfile.Write(path, []byte(unit), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", path)
			if noEnable {
				return nil
			}
			for _, args := range [][]string{{"daemon-reload"}, {"enable", "berth.service"}} {
				out, err := exec.CommandContext(cmd.Context(), "systemctl", args...).CombinedOutput()
				if err != nil {
					return fmt.Errorf("systemctl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
				}
			}
			fmt.Fprintln(cmd.OutOrStdout(), "enabled berth.service")
			return nil
		},
	}
	install.Flags().StringVar(&unitDir, "unit-dir", "/etc/systemd/system", "where to write berth.service")
	install.Flags().BoolVar(&dryRun, "dry-run", false, "print the unit instead of installing it")
	install.Flags().BoolVar(&noEnable, "no-enable", false, "write the unit but do not run systemctl")
	group.AddCommand(install)
	return group
}
