package gitops

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/atomicfile"
)

// Status is the record of one followed repository, kept in
// <state dir>/status.json so that it survives restarts of berth gitops.
type Status struct {
	Repo   string        `json:"repo"`
	Ref    string        `json:"ref,omitempty"`
	Paths  []string      `json:"paths,omitempty"`
	Commit string        `json:"commit,omitempty"` // the commit checked out
	Synced time.Time     `json:"synced,omitzero"`  // the last sync
	Error  string        `json:"error,omitempty"`  // the last fetch's, when it failed
	Stacks []StackStatus `json:"stacks"`
}

// StackStatus is one stack of a followed repository.
type StackStatus struct {
	Path    string    `json:"path"`            // the stack's folder in the repository
	Stack   string    `json:"stack,omitempty"` // its name, once loaded
	Commit  string    `json:"commit,omitempty"`
	Applied time.Time `json:"applied,omitzero"` // when Commit was applied, or drift last repaired
	Checked time.Time `json:"checked,omitzero"` // when it was last planned
	Plan    string    `json:"plan,omitempty"`   // the last plan's summary
	// Error is the last sync's error for this stack, with ErrorCommit the
	// commit it was found at; the stack runs Commit meanwhile.
	Error       string `json:"error,omitempty"`
	ErrorCommit string `json:"error_commit,omitempty"`
	// RolledBack is the commit whose apply failed (with Syncer.Rollback)
	// and was rolled back: the stack's folder holds Commit's files again
	// and the stack runs them until a newer commit than RolledBack.
	RolledBack string `json:"rolled_back,omitempty"`
	// Removed is set when the folder left the repository and the stack was
	// kept (no --prune).
	Removed bool `json:"removed,omitempty"`
}

const statusFile = "status.json"

// ReadStatus reads the status record in a repository's state directory; a
// missing one is an empty record and no error.
func ReadStatus(dir string) (*Status, error) {
	data, err := os.ReadFile(filepath.Join(dir, statusFile))
	if errors.Is(err, fs.ErrNotExist) {
		return &Status{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read gitops status: %w", err)
	}
	var st Status
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("read gitops status %s: %w", filepath.Join(dir, statusFile), err)
	}
	return &st, nil
}

// writeStatus replaces the record atomically.
func writeStatus(dir string, st *Status) error {
	slices.SortFunc(st.Stacks, func(a, b StackStatus) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Stack, b.Stack)
	})
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write gitops status: %w", err)
	}
	return atomicfile.WriteJSON(filepath.Join(dir, statusFile), st, 0o600)
}

// ListStatus reads the records of every repository followed under base
// (<root>/gitops), sorted by repository URL.
func ListStatus(base string) ([]*Status, error) {
	entries, err := os.ReadDir(base)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list gitops status: %w", err)
	}
	var out []*Status
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(base, e.Name(), statusFile)); err != nil {
			continue
		}
		st, err := ReadStatus(filepath.Join(base, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b *Status) int { return strings.Compare(a.Repo+" "+a.Ref, b.Repo+" "+b.Ref) })
	return out, nil
}
