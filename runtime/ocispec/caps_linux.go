package ocispec

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// HostCapabilities are the capabilities in this process's bounding set,
// the ones a container it starts can get (Options.Capabilities). Docker
// asks the same question; it matters when berth itself runs with fewer
// than all, as in some sandboxes. It reads /proc/self/status.
func HostCapabilities() ([]string, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return nil, fmt.Errorf("read own capabilities: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		hex, ok := strings.CutPrefix(sc.Text(), "CapBnd:")
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if err != nil {
			return nil, fmt.Errorf("read own capabilities: CapBnd %q: %w", hex, err)
		}
		return capsOfMask(mask), nil
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read own capabilities: %w", err)
	}
	return nil, errors.New("read own capabilities: no CapBnd in /proc/self/status")
}

// capsOfMask names the capabilities whose bits are set in mask.
func capsOfMask(mask uint64) []string {
	caps := []string{}
	for i, c := range allCapabilities {
		if mask&(1<<i) != 0 {
			caps = append(caps, c)
		}
	}
	return caps
}
