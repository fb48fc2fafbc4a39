package spec

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sirupsen/logrus"
)

// TestWarnings: compose-go's log warnings become Stack.Warnings and are not
// printed; the logger is left as it was.
func TestWarnings(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"compose.yaml": "version: \"3.8\"\nservices:\n  web:\n    image: nginx:${TAG}\n",
	})
	var printed bytes.Buffer
	std := logrus.StandardLogger()
	out := std.Out
	std.SetOutput(&printed)
	t.Cleanup(func() { std.SetOutput(out) })

	s, err := LoadStack(t.Context(), Options{WorkingDir: dir, Env: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		filepath.Join(dir, "compose.yaml") + ": the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion",
		`The "TAG" variable is not set. Defaulting to a blank string.`,
	}
	if diff := cmp.Diff(want, s.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	again, err := LoadStack(t.Context(), Options{WorkingDir: dir, Env: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, again.Warnings); diff != "" {
		t.Errorf("warnings of a second load (-want +got):\n%s", diff)
	}
	if printed.Len() > 0 {
		t.Errorf("logrus printed %q", printed.String())
	}
	logrus.Warn("after loading")
	if !strings.Contains(printed.String(), "after loading") {
		t.Errorf("logger not restored: printed %q", printed.String())
	}
	if n := len(std.Hooks[logrus.WarnLevel]); n != 0 {
		t.Errorf("%d hooks left on the logger", n)
	}
}

// TestWarningsConcurrent: concurrent loads each get their own warnings.
func TestWarningsConcurrent(t *testing.T) {
	dirs := make([]string, 4)
	for i := range dirs {
		dirs[i] = writeFiles(t, map[string]string{
			"compose.yaml": "services:\n  web:\n    image: nginx:${TAG" + strings.Repeat("X", i) + "}\n",
		})
	}
	errs := make(chan error, len(dirs))
	for i, dir := range dirs {
		go func() {
			s, err := LoadStack(t.Context(), Options{WorkingDir: dir, Env: map[string]string{}})
			if err == nil {
				want := []string{`The "TAG` + strings.Repeat("X", i) + `" variable is not set. Defaulting to a blank string.`}
				if diff := cmp.Diff(want, s.Warnings); diff != "" {
					err = errors.New(diff)
				}
			}
			errs <- err
		}()
	}
	for range dirs {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
