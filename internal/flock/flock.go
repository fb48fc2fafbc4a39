// Package flock serialises berth processes with advisory file locks
// (flock(2)). A lock is released when its holder closes it or dies, so a
// killed berth never leaves a stale lock behind.
package flock

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Lock is a held lock; Unlock releases it.
type Lock struct{ f *os.File }

// Acquire takes an exclusive lock on path, creating the file and its parent
// directory if needed, waiting until ctx is done.
func Acquire(ctx context.Context, path string) (*Lock, error) {
	return acquire(ctx, path, unix.LOCK_EX, false, true)
}

// AcquireIn takes an exclusive lock on path, a file in a directory that
// must exist: the file is created if missing, the directory never is. For
// the lock of an object its directory stands for (a container), which a
// holder may remove: the error wraps fs.ErrNotExist when the directory is
// gone, and also when it went while this call waited, which it tells by
// the file at path no longer being the one it locked.
func AcquireIn(ctx context.Context, path string) (*Lock, error) {
	l, err := acquire(ctx, path, unix.LOCK_EX, false, false)
	if err != nil {
		return nil, err
	}
	held, err1 := l.f.Stat()
	now, err2 := os.Stat(path)
	if err1 != nil || err2 != nil || !os.SameFile(held, now) {
		l.Unlock()
		return nil, fmt.Errorf("lock %s: removed while waiting: %w", path, fs.ErrNotExist)
	}
	return l, nil
}

// AcquireShared takes a shared lock on path: any number of shared holders
// at once, none while an exclusive lock is held. It creates and waits as
// Acquire does.
func AcquireShared(ctx context.Context, path string) (*Lock, error) {
	return acquire(ctx, path, unix.LOCK_SH, false, true)
}

// TryAcquire takes an exclusive lock on path if no one holds one, shared or
// exclusive, right now; otherwise it returns (nil, nil) without waiting.
func TryAcquire(path string) (*Lock, error) {
	return acquire(context.Background(), path, unix.LOCK_EX, true, true)
}

// acquire takes a lock of kind how (LOCK_EX or LOCK_SH), retrying with
// back-off until ctx is done, or with try set returning (nil, nil) at the
// first refusal.
func acquire(ctx context.Context, path string, how int, try, mkdir bool) (*Lock, error) {
	if mkdir {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	delay := time.Millisecond
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if err == nil {
			return &Lock{f: f}, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if try {
			f.Close()
			return nil, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-time.After(delay):
		}
		if delay < 50*time.Millisecond {
			delay *= 2
		}
	}
}

// Unlock releases the lock. It is safe to call more than once.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
