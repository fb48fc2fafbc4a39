package images

import (
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestApplyChanges(t *testing.T) {
	base := func() v1.Config {
		return v1.Config{Cmd: []string{"inherited"}, Env: []string{"PATH=/bin", "A=old"}, WorkingDir: "/srv"}
	}
	tests := []struct {
		name    string
		changes []string
		want    func(*v1.Config)
	}{
		{"cmd json", []string{`CMD ["a", "b c"]`}, func(c *v1.Config) { c.Cmd = []string{"a", "b c"} }},
		{"cmd shell", []string{`CMD echo "hi there"`}, func(c *v1.Config) { c.Cmd = []string{"/bin/sh", "-c", `echo "hi there"`} }},
		{"cmd malformed json is shell form", []string{`CMD [oops`}, func(c *v1.Config) { c.Cmd = []string{"/bin/sh", "-c", "[oops"} }},
		{"lower-case keyword", []string{`cmd x`}, func(c *v1.Config) { c.Cmd = []string{"/bin/sh", "-c", "x"} }},
		{"entrypoint clears an inherited cmd", []string{`ENTRYPOINT ["/init"]`}, func(c *v1.Config) { c.Entrypoint, c.Cmd = []string{"/init"}, nil }},
		{"cmd then entrypoint keeps cmd", []string{`CMD ["x"]`, `ENTRYPOINT ["/init"]`}, func(c *v1.Config) { c.Entrypoint, c.Cmd = []string{"/init"}, []string{"x"} }},
		{"shell changes the shell form", []string{`SHELL ["/bin/ash", "-eo"]`, `CMD run`}, func(c *v1.Config) {
			c.Shell, c.Cmd = []string{"/bin/ash", "-eo"}, []string{"/bin/ash", "-eo", "run"}
		}},
		{"env pairs replace", []string{`ENV A=new B='x y' C=a\ b`}, func(c *v1.Config) { c.Env = []string{"PATH=/bin", "A=new", "B=x y", "C=a b"} }},
		{"env legacy", []string{`ENV LONG some value here`}, func(c *v1.Config) { c.Env = append(c.Env, "LONG=some value here") }},
		{"workdir relative", []string{`WORKDIR app`, `WORKDIR ../x`}, func(c *v1.Config) { c.WorkingDir = "/srv/x" }},
		{"workdir absolute", []string{`WORKDIR /w`}, func(c *v1.Config) { c.WorkingDir = "/w" }},
		{"user", []string{`USER 1000:1000`}, func(c *v1.Config) { c.User = "1000:1000" }},
		{"expose", []string{`EXPOSE 80 53/UDP 8000-8001`}, func(c *v1.Config) {
			c.ExposedPorts = map[string]struct{}{"80/tcp": {}, "53/udp": {}, "8000/tcp": {}, "8001/tcp": {}}
		}},
		{"label", []string{`LABEL a=1 "b c"="d e"`, `LABEL a=2`}, func(c *v1.Config) { c.Labels = map[string]string{"a": "2", "b c": "d e"} }},
		{"volume forms", []string{`VOLUME ["/a", "/b"]`, `VOLUME /c /d`}, func(c *v1.Config) {
			c.Volumes = map[string]struct{}{"/a": {}, "/b": {}, "/c": {}, "/d": {}}
		}},
		{"stopsignal", []string{`STOPSIGNAL SIGQUIT`}, func(c *v1.Config) { c.StopSignal = "SIGQUIT" }},
		{"healthcheck", []string{`HEALTHCHECK --interval=5s --retries=3 CMD ["curl", "-f", "x"]`}, func(c *v1.Config) {
			c.Healthcheck = &v1.HealthConfig{Test: []string{"CMD", "curl", "-f", "x"}, Interval: 5 * time.Second, Retries: 3}
		}},
		{"healthcheck none", []string{`HEALTHCHECK NONE`}, func(c *v1.Config) { c.Healthcheck = &v1.HealthConfig{Test: []string{"NONE"}} }},
		{"onbuild", []string{`ONBUILD RUN make`}, func(c *v1.Config) { c.OnBuild = []string{"RUN make"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, want := base(), base()
			tt.want(&want)
			if err := ApplyChanges(&got, tt.changes); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestApplyChangesErrors(t *testing.T) {
	for _, changes := range [][]string{
		{"RUN make"}, {"FROM x"}, {"CMD"}, {"EXPOSE 80/foo"}, {"EXPOSE 70000"}, {"EXPOSE 9-1"},
		{"ENV =x"}, {`LABEL "unterminated=1`}, {"USER a b"}, {"SHELL sh"}, {"HEALTHCHECK --bogus=1 CMD x"},
		{"HEALTHCHECK --interval=5s"}, {`VOLUME [""]`},
	} {
		cfg := v1.Config{}
		if err := ApplyChanges(&cfg, changes); !errdefs.IsInvalidArgument(err) {
			t.Errorf("ApplyChanges(%q) = %v, want invalid argument", changes, err)
		}
	}
	// Every bad change is reported at once.
	err := ApplyChanges(&v1.Config{}, []string{"RUN a", "FROM b"})
	if err == nil || !strings.Contains(err.Error(), "RUN") || !strings.Contains(err.Error(), "FROM") {
		t.Errorf("two bad changes: %v", err)
	}
}
