package runc

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// isMounted reports whether target is a mount point, from mountinfo.
func isMounted(target string) bool {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	defer f.Close()
	target = filepath.Clean(target)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && unescapeMount(fields[4]) == target {
			return true
		}
	}
	return false
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// layerFS reads a file from the top-most layer that has it, without
// following symlinks out of a layer (each layer is opened with os.Root). It
// is enough to read /etc/passwd and /etc/group before the rootfs is mounted;
// it does not apply whiteouts.
type layerFS []string // bottom first

func (l layerFS) Open(name string) (fs.File, error) {
	for i := len(l) - 1; i >= 0; i-- {
		root, err := os.OpenRoot(l[i])
		if err != nil {
			continue
		}
		f, err := root.FS().Open(name)
		root.Close()
		if err == nil {
			return f, nil
		}
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}
