// Command berth-shim is the per-container monitor berth starts for each
// running container (see runtime/runc/monitor), and the minimal init that
// `berth run --init` puts at PID 1. It is a separate binary with few imports
// so that its memory, paid once per container, stays small.
package main

import (
	"os"

	"github.com/berth-dev/berth/runtime/runc/monitor"
)

func main() { os.Exit(monitor.Main(os.Args)) }
