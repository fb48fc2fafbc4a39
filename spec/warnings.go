package spec

import (
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"
	"go.yaml.in/yaml/v4"
)

// compose-go reports warnings (an obsolete `version:`, an unset variable
// defaulting to a blank string, `external.name`) through logrus's standard
// logger, which prints `time=... level=warning msg=...` lines on stderr.
// Loading turns them into Stack.Warnings instead, for the caller to show
// in its own words.
//
// The standard logger is global, and logrus cannot tell which goroutine
// logged, so the compose-go part of loads is serialised by warningsMu:
// while one runs, its hook is the only collector and the logger's output is
// discarded (anything else logged through logrus in that window is lost,
// warnings and errors being collected). compose-go's loading is CPU-bound,
// so serialising it costs little on a small machine.
var warningsMu sync.Mutex

// warningHook collects the messages of warnings and errors.
type warningHook struct{ msgs []string }

func (h *warningHook) Levels() []logrus.Level {
	return []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel, logrus.WarnLevel}
}

func (h *warningHook) Fire(e *logrus.Entry) error {
	if !slices.Contains(h.msgs, e.Message) {
		h.msgs = append(h.msgs, e.Message)
	}
	return nil
}

// collectWarnings runs fn with what compose-go logs collected, not printed,
// and returns the messages, each once, in the order first logged.
func collectWarnings(fn func()) []string {
	warningsMu.Lock()
	defer warningsMu.Unlock()
	std := logrus.StandardLogger()
	hook := &warningHook{}
	old := std.ReplaceHooks(logrus.LevelHooks{})
	hooks := logrus.LevelHooks{}
	for level, hs := range old {
		hooks[level] = slices.Clone(hs)
	}
	hooks.Add(hook)
	std.ReplaceHooks(hooks)
	out, level := std.Out, std.GetLevel()
	std.SetOutput(io.Discard)
	if level < logrus.WarnLevel {
		std.SetLevel(logrus.WarnLevel)
	}
	defer func() {
		std.ReplaceHooks(old)
		std.SetOutput(out)
		std.SetLevel(level)
	}()
	fn()
	return hook.msgs
}

// versionObsolete ends compose-go's warning about a top-level `version:`.
const versionObsolete = ": the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion"

// withVersionWarnings returns warnings with compose-go's warning about an
// obsolete `version:` made for every YAML file among files that has one.
// compose-go warns once per file in a process's lifetime, so a second load
// of the same stack (a watcher, or a cache filled by it) would otherwise
// lack the warning the first one had.
func withVersionWarnings(warnings []string, files []inputFile) []string {
	var out []string
	for _, f := range files {
		var doc map[string]any
		if f.hcl || yaml.Unmarshal(f.src, &doc) != nil {
			continue
		}
		if _, ok := doc["version"]; ok {
			out = append(out, f.path+versionObsolete)
		}
	}
	for _, w := range warnings {
		if !strings.HasSuffix(w, versionObsolete) {
			out = append(out, w)
		}
	}
	return out
}
