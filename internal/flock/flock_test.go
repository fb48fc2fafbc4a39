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
