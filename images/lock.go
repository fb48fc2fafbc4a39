package images

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// gcLock is the store's content lock, a flock(2) that writers hold shared
// while they add blobs and layers and garbage collection holds exclusive
// while it deletes them: so collection never deletes what an unfinished
// import, commit or pull has written but not yet named in the index.
// internal/flock only offers exclusive locks, hence this small one.
type gcLock struct{ f *os.File }

// lockGC takes the content lock, shared or exclusive, waiting until ctx is
// done. With try set it returns (nil, nil) instead of waiting.
func lockGC(ctx context.Context, path string, exclusive, try bool) (*gcLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	delay := time.Millisecond
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if err == nil {
			return &gcLock{f: f}, nil
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

func (l *gcLock) unlock() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}
