package flock

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestAcquireSerialises(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks", "stack.lock")
	l1, err := Acquire(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := Acquire(ctx, path); err == nil {
		t.Fatal("second Acquire succeeded while the first holds the lock")
	}
	if err := l1.Unlock(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(t.Context(), path)
	if err != nil {
		t.Fatalf("Acquire after Unlock: %v", err)
	}
	l2.Unlock()
	l2.Unlock() // idempotent
}

func TestSharedAndTry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "content.lock")
	s1, err := AcquireShared(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := AcquireShared(t.Context(), path)
	if err != nil {
		t.Fatalf("second shared lock: %v", err)
	}
	if l, err := TryAcquire(path); l != nil || err != nil {
		t.Fatalf("TryAcquire while shared locks are held = %v, %v; want nil, nil", l, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := Acquire(ctx, path); err == nil {
		t.Fatal("Acquire succeeded while shared locks are held")
	}
	s1.Unlock()
	s2.Unlock()
	l, err := TryAcquire(path)
	if err != nil || l == nil {
		t.Fatalf("TryAcquire of a free lock = %v, %v", l, err)
	}
	ctx, cancel = context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := AcquireShared(ctx, path); err == nil {
		t.Fatal("AcquireShared succeeded while the exclusive lock is held")
	}
	l.Unlock()
}

func TestAcquireInLeavesRemovedDirectoriesGone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "obj")
	path := filepath.Join(dir, "op.lock")
	if _, err := AcquireIn(t.Context(), path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("AcquireIn in a missing directory: %v, want ErrNotExist", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("AcquireIn created the directory: %v", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	holder, err := AcquireIn(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		l, err := AcquireIn(t.Context(), path)
		l.Unlock()
		got <- err
	}()
	time.Sleep(20 * time.Millisecond) // the waiter has the file open
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	holder.Unlock()
	if err := <-got; !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a waiter whose directory was removed: %v, want ErrNotExist", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the removed directory came back: %v", err)
	}
}
