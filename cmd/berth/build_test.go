//go:build !lean

package main

import (
	"testing"

	"github.com/containerd/errdefs"
)

func TestParseBuildSecret(t *testing.T) {
	tests := []struct {
		in, id, src string
		wantErr     bool
	}{
		{in: "id=npm,src=/run/npmrc", id: "npm", src: "/run/npmrc"},
		{in: "type=file,id=a,source=f", id: "a", src: "f"},
		{in: "id=a", wantErr: true},
		{in: "src=f", wantErr: true},
		{in: "id=a,env=TOKEN", wantErr: true},
		{in: "id=a,src=f,mode=0400", wantErr: true},
	}
	for _, tt := range tests {
		id, src, err := parseBuildSecret(tt.in)
		if tt.wantErr {
			if !errdefs.IsInvalidArgument(err) {
				t.Errorf("%q: err = %v, want invalid argument", tt.in, err)
			}
			continue
		}
		if err != nil || id != tt.id || src != tt.src {
			t.Errorf("%q = %q, %q, %v; want %q, %q", tt.in, id, src, err, tt.id, tt.src)
		}
	}
}
