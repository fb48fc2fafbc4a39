package ocispec

import (
	"testing"

	"github.com/containerd/errdefs"
)

// checkErr stops a subtest on the wrong error: with wantErr, err must be of
// the invalid-argument class; without, it must be nil. It reports whether
// the subtest goes on to check what the call returned (only when no error
// was wanted).
func checkErr(t *testing.T, err error, wantErr bool) bool {
	t.Helper()
	if wantErr {
		if !errdefs.IsInvalidArgument(err) {
			t.Fatalf("err = %v, want invalid argument", err)
		}
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}
