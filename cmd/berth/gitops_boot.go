//go:build !lean

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v4"

	"github.com/berth-dev/berth/internal/atomicfile"
)

// gitopsLabelsFile is the override file that gives a gitops stack's
// services their gitops labels when berth boot loads it:
// <root>/stacks/<name>/gitops.yaml.
func gitopsLabelsFile(g *globals, name string) string {
	return filepath.Join(g.root, "stacks", name, "gitops.yaml")
}

// saveGitopsBootRecord records a stack gitops applied so that berth boot
// brings it back after a reboot, as it does for up: the stack record
// names the stack's files in the checkout plus an override file that adds
// the gitops labels to every service, so boot loads the very project
// gitops applied (same labels, same config hash: its containers are
// started, not recreated). HCL stacks are not recorded (a YAML override
// does not go with an HCL file); berth gitops brings them back when it
// runs.
func saveGitopsBootRecord(g *globals, p *types.Project, labels map[string]string) error {
	for _, f := range p.ComposeFiles {
		if ext := strings.ToLower(filepath.Ext(f)); ext != ".yaml" && ext != ".yml" {
			return nil
		}
	}
	services := map[string]any{}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range p.Services {
			if !yield(n) {
				return
			}
		}
	}) {
		services[name] = map[string]any{"labels": labels}
	}
	data, err := yaml.Marshal(map[string]any{"services": services})
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.WriteString("# Written by berth gitops for berth boot: the gitops labels of every service.\n")
	buf.Write(data)
	override := gitopsLabelsFile(g, p.Name)
	if err := os.MkdirAll(filepath.Dir(override), 0o700); err != nil {
		return err
	}
	if old, err := os.ReadFile(override); err != nil || !bytes.Equal(old, buf.Bytes()) {
		if err := atomicfile.Write(override, buf.Bytes(), 0o600); err != nil {
			return fmt.Errorf("record stack %s for boot: %w", p.Name, err)
		}
	}
	rec := *p
	rec.ComposeFiles = append(slices.Clone(p.ComposeFiles), override)
	if err := saveStackRecord(g, &stackFlags{}, &rec); err != nil {
		return fmt.Errorf("record stack %s for boot: %w", p.Name, err)
	}
	return nil
}

// forgetGitopsBootRecord removes what saveGitopsBootRecord wrote, when
// gitops takes the stack down.
func forgetGitopsBootRecord(g *globals, name string) {
	os.Remove(stackRecordPath(g, name))
	os.Remove(gitopsLabelsFile(g, name))
}
