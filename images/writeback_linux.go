package images

import (
	"os"

	"golang.org/x/sys/unix"
)

// writebackChunk is how much a writebackFile lets pile up before it asks
// the kernel to start writing it out.
const writebackChunk = 4 << 20

// writebackFile writes to f and starts the kernel's writeback of every
// few MiB as they are written (sync_file_range SYNC_FILE_RANGE_WRITE, which
// does not wait). The fsync or syncfs that makes a blob or layer durable
// then waits for the tail only, instead of for everything at the end: the
// disk works while the next bytes are decompressed.
type writebackFile struct {
	f       *os.File
	off     int64
	started int64
}

func newWritebackFile(f *os.File) *writebackFile { return &writebackFile{f: f} }

func (w *writebackFile) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.started >= writebackChunk {
		// Advisory: an error only means the final sync does all the work.
		_ = unix.SyncFileRange(int(w.f.Fd()), w.started, w.off-w.started, unix.SYNC_FILE_RANGE_WRITE)
		w.started = w.off
	}
	return n, err
}

// start begins writeback of what is left; call it when writing is done.
func (w *writebackFile) start() {
	if w.off > w.started {
		_ = unix.SyncFileRange(int(w.f.Fd()), w.started, w.off-w.started, unix.SYNC_FILE_RANGE_WRITE)
		w.started = w.off
	}
}
