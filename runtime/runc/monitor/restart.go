package monitor

import "time"

// RestartPolicy is Docker's: "no" (or ""), "always", "on-failure" with an
// optional maximum retry count, "unless-stopped".
type RestartPolicy struct {
	Name              string `json:"name"`
	MaximumRetryCount int    `json:"maximumRetryCount,omitempty"`
}

// ShouldRestart decides, like Docker's restart manager, whether a container
// that exited with code after restarts previous restarts is started again.
// A container stopped by the user is never restarted.
func ShouldRestart(p RestartPolicy, code, restarts int, stoppedByUser bool) bool {
	if stoppedByUser {
		return false
	}
	switch p.Name {
	case "always", "unless-stopped":
		return true
	case "on-failure":
		return code != 0 && (p.MaximumRetryCount <= 0 || restarts < p.MaximumRetryCount)
	}
	return false
}

// Back-off of Docker's restart manager: 100ms doubling per restart, capped
// at a minute, back to the start once the container ran for 10 seconds.
const (
	backoffStart = 100 * time.Millisecond
	backoffMax   = time.Minute
	backoffReset = 10 * time.Second
)

// NextBackoff returns the delay before the next restart given the previous
// delay (0 at first) and how long the container ran this time.
func NextBackoff(prev, ran time.Duration) time.Duration {
	if prev == 0 || ran >= backoffReset {
		return backoffStart
	}
	next := prev * 2
	if next > backoffMax {
		next = backoffMax
	}
	return next
}
