package monitor

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// File names in a container's run directory.
const (
	ConfigFile    = "monitor.json"
	AttachSocket  = "attach.sock"
	consoleSocket = "console.sock"
	pidFile       = "init.pid"
	runtimeLog    = "runtime.log"
)

// Config is what the CLI tells the monitor, written to RunDir/monitor.json
// before the monitor starts.
type Config struct {
	ID          string            `json:"id"`
	Runtime     string            `json:"runtime"`               // OCI runtime binary
	RuntimeRoot string            `json:"runtimeRoot,omitempty"` // its --root
	Bundle      string            `json:"bundle"`
	StateDir    string            `json:"stateDir"` // holds state.json
	RunDir      string            `json:"runDir"`
	Rootfs      string            `json:"rootfs"` // overlay mount point, unmounted at the final exit
	LogPath     string            `json:"logPath"`
	LogMaxSize  int64             `json:"logMaxSize"`
	LogMaxFiles int               `json:"logMaxFiles"`
	Tty         bool              `json:"tty,omitempty"`
	OpenStdin   bool              `json:"openStdin,omitempty"`
	StdinOnce   bool              `json:"stdinOnce,omitempty"`
	AttachWait  bool              `json:"attachWait,omitempty"` // hold start until the first client attaches
	Restart     RestartPolicy     `json:"restart"`
	Health      *Health           `json:"health,omitempty"`
	OOMFiles    []string          `json:"oomFiles,omitempty"`   // cgroup files with an oom_kill counter
	OnExit      []string          `json:"onExit,omitempty"`     // run detached after the final exit: rm (--rm) or the network's release
	AutoRemove  bool              `json:"autoRemove,omitempty"` // OnExit removes the container
	EventLog    string            `json:"eventLog,omitempty"`   // where start, die and health events go
	EventAttrs  map[string]string `json:"eventAttrs,omitempty"` // image, name and labels of the events
	// RemovedDir is where a remove moves StateDir (--rm). When the client
	// that removes the container after its exit (an attached run --rm) has
	// done so and ended, the monitor deletes that directory and RunDir: the
	// client need not wait for two trees of files to go.
	RemovedDir string `json:"removedDir,omitempty"`
}

// Health is a healthcheck with Docker's defaults already applied.
type Health struct {
	Test          []string      `json:"test"` // CMD args or CMD-SHELL
	Interval      time.Duration `json:"interval"`
	Timeout       time.Duration `json:"timeout"`
	StartPeriod   time.Duration `json:"startPeriod"`
	StartInterval time.Duration `json:"startInterval"`
	Retries       int           `json:"retries"`
}

// ReadConfig reads RunDir/monitor.json.
func ReadConfig(runDir string) (Config, error) {
	var c Config
	data, err := os.ReadFile(filepath.Join(runDir, ConfigFile))
	if err != nil {
		return c, fmt.Errorf("read monitor config: %w", err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("read monitor config: %w", err)
	}
	return c, nil
}

// runtimeArgs prefixes the OCI runtime's global flags.
func (c *Config) runtimeArgs(args ...string) []string {
	out := []string{"--log", filepath.Join(c.RunDir, runtimeLog), "--log-format", "json"}
	if c.RuntimeRoot != "" {
		out = append(out, "--root", c.RuntimeRoot)
	}
	return append(out, args...)
}
