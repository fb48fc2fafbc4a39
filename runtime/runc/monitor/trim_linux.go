package monitor

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// trimMemory unmaps the pages of this binary's code and read-only data that
// starting the container brought in, since one monitor is paid per running
// container: the kernel's fault-around and read-ahead had mapped nearly all
// of them (2.4 MiB of RSS), while watching a running container uses a few
// hundred KiB of code. The mappings are read-only and backed by the file, so
// MADV_DONTNEED only drops page table entries of pages that stay in the page
// cache, and MADV_RANDOM makes a later fault map the one page it needs
// instead of its neighbours; a page used again is mapped again. (Returning
// freed heap with debug.FreeOSMemory was tried too: the collection it forces
// dirties more memory than it gives back.)
//
// The mappings are read once found: a trim after each health probe
// allocates nothing.
func trimMemory() {
	image.mu.Lock()
	defer image.mu.Unlock()
	if image.spans == nil {
		image.spans = imageSpans()
	}
	for _, s := range image.spans {
		// Raw madvise: these are ranges of our own image, not Go memory.
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, s.start, s.end-s.start, unix.MADV_RANDOM)
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, s.start, s.end-s.start, unix.MADV_DONTNEED)
	}
}

type span struct{ start, end uintptr }

// image holds the read-only mappings of this binary.
var image struct {
	mu    sync.Mutex
	spans []span
}

// imageSpans reads this binary's read-only mappings from /proc/self/smaps,
// leaving out any with anonymous pages: a read-only mapping written before
// it was made read-only (a PIE's relocated RELRO segment) holds copies
// that dropping would replace with the file's unrelocated bytes.
func imageSpans() []span {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return nil
	}
	defer f.Close()
	var spans []span
	ours := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if strings.HasSuffix(fields[0], ":") {
			// A field of the mapping above: "Anonymous: N kB".
			if ours && fields[0] == "Anonymous:" && len(fields) >= 2 && fields[1] != "0" {
				spans = spans[:len(spans)-1]
				ours = false
			}
			continue
		}
		// start-end perms offset dev inode path
		ours = false
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 == nil && err2 == nil && end > start {
			spans = append(spans, span{uintptr(start), uintptr(end)})
			ours = true
		}
	}
	return spans
}
