package spec

import (
	"io"
	"slices"
	"sync"

	"github.com/sirupsen/logrus"
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
