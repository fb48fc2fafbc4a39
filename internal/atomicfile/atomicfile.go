// Package atomicfile writes files so that a reader sees either the old
// content or the new, never a torn mix, even across a crash: write a temp
// file in the same directory, fsync it, rename it over the target, fsync the
// directory. Every record berth keeps as state is written through here.
// Replace and ReplaceJSON skip the two fsyncs, for files a crash may lose
// but must never tear: what lives under the run root (gone at a reboot
// anyway) and run state that is rewritten at every change.
package atomicfile

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces path with data, atomically and durably.
func Write(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, true)
}

// Replace replaces path with data atomically, without waiting for the disk:
// after a crash path holds the old content or the new one (ext4, xfs and
// btrfs flush a file renamed over another before the rename), and any
// reader before one sees one or the other whole.
func Replace(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, false)
}

// ReplaceJSON is Replace with v encoded as compact JSON.
func ReplaceJSON(path string, v any, perm os.FileMode) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return Replace(path, append(data, '\n'), perm)
}

func write(path string, data []byte, perm os.FileMode, durable bool) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if durable {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	ok = true
	if !durable {
		return nil
	}
	return SyncDir(dir)
}

// WriteJSON replaces path with v encoded as indented JSON.
func WriteJSON(path string, v any, perm os.FileMode) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return Write(path, append(data, '\n'), perm)
}

// SyncDir fsyncs the directory dir, so that a rename into it, or a file
// created in it, survives a crash. For callers that move whole files or
// trees into place themselves (Write already does it).
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
