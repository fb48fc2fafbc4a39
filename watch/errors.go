package watch

import "errors"

// permanent marks an error that retrying the same changes cannot cure: the
// exec command of a sync+exec rule exited non-zero, a rebuild's Dockerfile
// failed. The watcher reports it and waits for the next change instead of
// retrying (controller-runtime's terminal errors).
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent wraps err so that the watcher does not retry the action that
// returned it; nil stays nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err, or an error it wraps, was marked with
// Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}
