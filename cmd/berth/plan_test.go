package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"

	"github.com/berth-dev/berth/reconcile"
)

func TestPlanOptions(t *testing.T) {
	tests := []struct {
		name    string
		o       planOptions
		want    reconcile.Options
		wantErr bool
	}{
		{name: "defaults", o: planOptions{format: "text"}, want: reconcile.Options{Services: []string{"web"}}},
		{
			name: "everything",
			o: planOptions{format: "json", removeOrphans: true, forceRecreate: true, noDeps: true,
				scale: []string{"web=3", "db=0"}},
			want: reconcile.Options{Services: []string{"web"}, RemoveOrphans: true, ForceRecreate: true, NoDeps: true,
				Scale: map[string]int{"web": 3, "db": 0}},
		},
		{name: "bad format", o: planOptions{format: "yaml"}, wantErr: true},
		{name: "force and no recreate", o: planOptions{format: "text", forceRecreate: true, noRecreate: true}, wantErr: true},
		{name: "deps and no recreate", o: planOptions{format: "text", alwaysRecreateDeps: true, noRecreate: true}, wantErr: true},
		{name: "bad scale", o: planOptions{format: "text", scale: []string{"web"}}, wantErr: true},
		{name: "negative scale", o: planOptions{format: "text", scale: []string{"web=-1"}}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.o.options([]string{"web"})
			if tc.wantErr {
				if !errdefs.IsInvalidArgument(err) {
					t.Fatalf("err = %v, want ErrInvalidArgument", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanCommand(t *testing.T) {
	s := newTestStack(t, "name: demo\nservices:\n  web:\n    image: nginx:1.27\n")
	for _, tc := range []struct {
		format, want string
	}{
		{"text", "+ web-1 (create): new service\n"},
		{"json", `"cause": "new service"`},
	} {
		t.Run(tc.format, func(t *testing.T) {
			out, _, err := s.run(t, "plan", "-f", s.file(), "--format", tc.format)
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != 2 || ee.err != nil {
				t.Fatalf("err = %v, want exit status 2 without a message", err)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out)
			}
		})
	}
}
