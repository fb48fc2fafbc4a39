package images

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// partialBlob is a layer blob being downloaded, kept in tmp/ under its
// digest (partial-<hex>) instead of a random temp name, so that a pull
// killed or cut off midway finds what it had and asks the registry for the
// rest only (an HTTP Range request). It is the blob's temp file itself:
// WriteLayer appends to it and renames it into blobs/ when it is complete
// and verified, so resuming costs no second copy. An exclusive flock(2) on
// the file keeps two pulls of one layer from writing it at once; a
// partial file is only ever trusted after its digest is checked.
type partialBlob struct {
	f    *os.File
	path string
	n    int64 // bytes already in the file
}

// openPartial opens (creating) the partial download of digest, locked for
// this process; (nil, nil) when another process holds it, which then
// downloads on its own as if there were no partial.
func (s *Store) openPartial(digest v1.Hash) (*partialBlob, error) {
	path := filepath.Join(s.tmpDir(), "partial-"+digest.Hex)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("partial blob %s: %w", digest, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, nil
		}
		return nil, fmt.Errorf("partial blob %s: %w", digest, err)
	}
	// The file may have been renamed into blobs/ (or removed) between our
	// open and our lock: then it is not the partial any more.
	if !sameFile(f, path) {
		f.Close()
		return nil, nil
	}
	n, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("partial blob %s: %w", digest, err)
	}
	return &partialBlob{f: f, path: path, n: n}, nil
}

// sameFile reports whether path still names the open file f.
func sameFile(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}

// reset empties the file: its content is not a prefix of what comes next.
func (p *partialBlob) reset() error {
	if err := p.f.Truncate(0); err != nil {
		return err
	}
	p.n = 0
	_, err := p.f.Seek(0, io.SeekStart)
	return err
}

// remove deletes the partial (bad content), if the path is still ours.
func (p *partialBlob) remove() {
	if sameFile(p.f, p.path) {
		os.Remove(p.path)
	}
}

// Close releases the file and its lock, keeping it for the next pull.
func (p *partialBlob) Close() error { return p.f.Close() }
