package flock

import (
	"context"
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
