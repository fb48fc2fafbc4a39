//go:build !amd64

package ocispec

// probeX32: x32 exists only beside amd64.
func probeX32() bool { return false }
