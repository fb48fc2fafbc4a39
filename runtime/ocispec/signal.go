package ocispec

import (
	"strconv"
	"strings"
	"syscall"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/runtime"
)

// Real-time signal bounds as Docker names them (glibc keeps 32 and 33).
const (
	sigRTMIN = 34
	sigRTMAX = 64
)

// ParseSignal parses a signal as Docker does (moby/sys/signal): a number
// ("15"), or a name with or without SIG, in any case ("SIGTERM", "term"),
// including RTMIN+N and RTMAX-N. Anything else, 0 and numbers past
// SIGRTMAX included, is errdefs.ErrInvalidArgument.
func ParseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > sigRTMAX {
			return 0, invalid("invalid signal: %s", s)
		}
		return syscall.Signal(n), nil
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if sig := unix.SignalNum("SIG" + name); sig != 0 {
		return sig, nil
	}
	base, off, sign := name, "", 0
	if b, o, ok := strings.Cut(name, "+"); ok {
		base, off, sign = b, o, 1
	} else if b, o, ok := strings.Cut(name, "-"); ok {
		base, off, sign = b, o, -1
	}
	n := 0
	if sign != 0 {
		var err error
		if n, err = strconv.Atoi(off); err != nil || n < 0 || strings.HasPrefix(off, "+") {
			return 0, invalid("invalid signal: %s", s)
		}
	}
	var sig int
	switch base {
	case "RTMIN":
		sig = sigRTMIN + sign*n
	case "RTMAX":
		sig = sigRTMAX + sign*n
	default:
		return 0, invalid("invalid signal: %s", s)
	}
	if sig < sigRTMIN || sig > sigRTMAX {
		return 0, invalid("invalid signal: %s", s)
	}
	return syscall.Signal(sig), nil
}

// StopSignal is the signal that stops the container: its --stop-signal,
// else the image's STOPSIGNAL, else SIGTERM.
func StopSignal(cfg runtime.Config, img v1.ImageConfig) (syscall.Signal, error) {
	s := cfg.StopSignal
	if s == "" {
		s = img.StopSignal
	}
	if s == "" {
		return syscall.SIGTERM, nil
	}
	return ParseSignal(s)
}
