package monitor

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// imageRSS sums the resident KiB of this binary's read-only mappings.
func imageRSS(t *testing.T) int {
	t.Helper()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	total, ours := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":"):
			ours = len(fields) >= 6 && fields[5] == exe && !strings.Contains(fields[1], "w")
		case ours && len(fields) >= 2 && fields[0] == "Rss:":
			n, _ := strconv.Atoi(fields[1])
			total += n
		}
	}
	return total
}

func TestTrimMemoryUnmapsImage(t *testing.T) {
	before := imageRSS(t)
	trimMemory()
	after := imageRSS(t)
	t.Logf("image RSS %d KiB -> %d KiB", before, after)
	if after >= before {
		t.Errorf("image RSS %d KiB -> %d KiB; want less after trimMemory", before, after)
	}
	// The code still runs: the pages come back as they are used.
	if got := startErrorCode(os.ErrPermission); got != 126 {
		t.Errorf("startErrorCode after trim = %d", got)
	}
}

// The health loop trims after every probe: only the first trim may
// allocate (reading the mappings).
func TestTrimMemoryAllocatesNothingAgain(t *testing.T) {
	trimMemory()
	if n := testing.AllocsPerRun(10, trimMemory); n != 0 {
		t.Errorf("trimMemory allocates %v times a call; want 0", n)
	}
}
