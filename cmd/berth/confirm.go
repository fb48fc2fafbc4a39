package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// confirmed prints warning and Docker's "Are you sure you want to
// continue? [y/N] " prompt to w, reads one line from r and reports whether
// it was y or yes (any case). The prune commands ask through it unless -f.
func confirmed(w io.Writer, r io.Reader, warning string) bool {
	fmt.Fprintf(w, "%s\nAre you sure you want to continue? [y/N] ", warning)
	answer, _ := bufio.NewReader(r).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(answer))
	return a == "y" || a == "yes"
}
