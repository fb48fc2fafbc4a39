//go:build !lean

package main

import (
	"os"

	"github.com/spf13/cobra"
)

// This is berth-full: every command runs in this binary (see
// flavour_lean.go for the lean berth that hands some of them over).

// fullExecutable is the binary that has every command: this one.
func fullExecutable() (string, error) { return os.Executable() }

// gateFull lets every command run here.
func gateFull(*cobra.Command) error { return nil }
