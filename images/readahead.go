package images

import (
	"io"
	"sync"
)

// readAhead reads its source in its own goroutine, a few chunks ahead of
// the consumer: a layer's download, hashing and decompression run on one
// core while the tar is unpacked on another.
type readAhead struct {
	full  chan []byte
	free  chan []byte
	stop  chan struct{}
	done  sync.WaitGroup
	buf   []byte // the chunk being read, returned to free when done
	cur   []byte // its unread rest
	err   error  // the source's error, valid once full is closed
	close sync.Once
}

const (
	readAheadChunk  = 256 << 10
	readAheadChunks = 8
)

func newReadAhead(r io.Reader) *readAhead {
	ra := &readAhead{
		full: make(chan []byte, readAheadChunks),
		free: make(chan []byte, readAheadChunks+1),
		stop: make(chan struct{}),
	}
	for range readAheadChunks + 1 {
		ra.free <- make([]byte, readAheadChunk)
	}
	ra.done.Add(1)
	go ra.fill(r)
	return ra
}

func (ra *readAhead) fill(r io.Reader) {
	defer ra.done.Done()
	defer close(ra.full)
	for {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.stop:
			return
		}
		n, err := io.ReadFull(r, buf[:cap(buf)])
		if n > 0 {
			select {
			case ra.full <- buf[:n]:
			case <-ra.stop:
				return
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return
		}
		if err != nil {
			ra.err = err
			return
		}
	}
}

func (ra *readAhead) Read(p []byte) (int, error) {
	if len(ra.cur) == 0 {
		if ra.buf != nil {
			ra.free <- ra.buf
			ra.buf = nil
		}
		buf, ok := <-ra.full
		if !ok {
			if ra.err != nil {
				return 0, ra.err
			}
			return 0, io.EOF
		}
		ra.buf, ra.cur = buf, buf
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// Close stops the reading goroutine and waits for it to end, so the source
// is no longer in use when Close returns.
func (ra *readAhead) Close() error {
	ra.close.Do(func() { close(ra.stop) })
	ra.done.Wait()
	return nil
}
