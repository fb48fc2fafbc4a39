package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testimage"
)

// portView is the part of inspect's document about ports.
type portView struct {
	HostConfig struct {
		PortBindings    json.RawMessage
		PublishAllPorts bool
	}
	NetworkSettings struct{ Ports json.RawMessage }
	Config          struct{ ExposedPorts map[string]struct{} }
}

func (c *cli) portView(ref string) portView {
	c.t.Helper()
	var v []portView
	if err := json.Unmarshal([]byte(c.must("inspect", ref)), &v); err != nil || len(v) != 1 {
		c.t.Fatalf("inspect %s: %v", ref, err)
	}
	return v[0]
}

// freePair finds two consecutive free TCP ports on 127.0.0.1.
func freePair(t *testing.T) int {
	t.Helper()
	for range 50 {
		a, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := a.Addr().(*net.TCPAddr).Port
		b, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1))
		a.Close()
		if err == nil {
			b.Close()
			return p
		}
	}
	t.Fatal("no two consecutive free ports")
	return 0
}

// TestRootPortInspect checks HostConfig.PortBindings (what was asked),
// NetworkSettings.Ports (what is bound now) and `port` against Docker's
// shapes for -p with an address and ranges, -p with any port, and -P,
// across create, start and stop.
func TestRootPortInspect(t *testing.T) {
	c := netCLI(t)
	p := freePair(t)

	c.must("create", "--name", "rng", "-p", fmt.Sprintf("127.0.0.1:%d-%d:80-81", p, p+1), "busybox", "sleep", "60")
	asked := fmt.Sprintf(`{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"%d"}],"81/tcp":[{"HostIp":"127.0.0.1","HostPort":"%d"}]}`, p, p+1)
	check := func(ref, state, bindings, ports string, all bool) {
		t.Helper()
		v := c.portView(ref)
		if got := compactJSON(t, v.HostConfig.PortBindings); got != bindings {
			t.Errorf("%s %s: PortBindings = %s, want %s", ref, state, got, bindings)
		}
		if got := compactJSON(t, v.NetworkSettings.Ports); got != ports {
			t.Errorf("%s %s: NetworkSettings.Ports = %s, want %s", ref, state, got, ports)
		}
		if v.HostConfig.PublishAllPorts != all {
			t.Errorf("%s %s: PublishAllPorts = %v, want %v", ref, state, v.HostConfig.PublishAllPorts, all)
		}
	}
	check("rng", "created", asked, `{}`, false)
	if out := strings.TrimSpace(c.must("inspect", "-f", "{{json .HostConfig.PortBindings}}", "rng")); out != asked {
		t.Errorf("inspect -f '{{json .HostConfig.PortBindings}}' = %s, want %s", out, asked)
	}
	if out := c.must("port", "rng"); out != "" {
		t.Errorf("port of a created container: %q", out)
	}
	c.must("start", "rng")
	check("rng", "running", asked, asked, false)
	if out, want := c.must("port", "rng"), fmt.Sprintf("80/tcp -> 127.0.0.1:%d\n81/tcp -> 127.0.0.1:%d\n", p, p+1); out != want {
		t.Errorf("port rng = %q, want %q", out, want)
	}
	if out, want := c.must("port", "rng", "81/tcp"), fmt.Sprintf("127.0.0.1:%d\n", p+1); out != want {
		t.Errorf("port rng 81/tcp = %q, want %q", out, want)
	}
	if _, errs, code := c.run("port", "rng", "82"); code != 1 || !strings.Contains(errs, "no public port '82' published for rng") {
		t.Errorf("port rng 82: exit %d, %q", code, errs)
	}
	c.must("kill", "rng")
	c.must("wait", "rng")
	check("rng", "stopped", asked, `{}`, false)

	c.must("run", "-d", "--name", "any", "-p", "80", "busybox", "sleep", "60")
	v := c.portView("any")
	if got, want := compactJSON(t, v.HostConfig.PortBindings), `{"80/tcp":[{"HostIp":"","HostPort":""}]}`; got != want {
		t.Errorf("-p 80: PortBindings = %s, want %s", got, want)
	}
	var live map[string][]struct{ HostIp, HostPort string }
	if err := json.Unmarshal(v.NetworkSettings.Ports, &live); err != nil {
		t.Fatal(err)
	}
	b := live["80/tcp"]
	if n, err := strconv.Atoi(b[0].HostPort); len(b) == 0 || b[0].HostIp != "0.0.0.0" || err != nil || n == 0 {
		t.Fatalf("-p 80: NetworkSettings.Ports = %s", v.NetworkSettings.Ports)
	}
	if out, want := c.must("port", "any", "80"), "0.0.0.0:"+b[0].HostPort+"\n"; out != want {
		t.Errorf("port any 80 = %q, want %q", out, want)
	}

	// On a dual-stack network the port is forwarded in both families:
	// Docker's two bindings, and two lines of port.
	v6net := unique("pv6")
	c.must("network", "create", "--ipv6", v6net)
	c.must("run", "-d", "--name", "dual", "--network", v6net, "-p", "80", "busybox", "sleep", "60")
	live = nil
	if err := json.Unmarshal(c.portView("dual").NetworkSettings.Ports, &live); err != nil {
		t.Fatal(err)
	}
	if b := live["80/tcp"]; len(b) != 2 || b[0].HostIp != "0.0.0.0" || b[1].HostIp != "::" || b[0].HostPort != b[1].HostPort {
		t.Errorf("dual stack -p 80: NetworkSettings.Ports = %v", live)
	} else if out, want := c.must("port", "dual"), fmt.Sprintf("80/tcp -> 0.0.0.0:%s\n80/tcp -> [::]:%s\n", b[0].HostPort, b[0].HostPort); out != want {
		t.Errorf("port dual = %q, want %q", out, want)
	}

	cmd := c.cmd("import", "--change", "EXPOSE 80 53/udp", "-", "exposing")
	cmd.Stdin = bytes.NewReader(testimage.Tar(t))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	c.must("run", "-d", "--name", "all", "-P", "exposing", "sleep", "60")
	v = c.portView("all")
	if got := compactJSON(t, v.HostConfig.PortBindings); got != `{}` || !v.HostConfig.PublishAllPorts {
		t.Errorf("-P: PortBindings = %s, PublishAllPorts = %v; want {} and true", got, v.HostConfig.PublishAllPorts)
	}
	live = nil
	if err := json.Unmarshal(v.NetworkSettings.Ports, &live); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"80/tcp", "53/udp"} {
		if len(live[k]) == 0 || live[k][0].HostPort == "" {
			t.Errorf("-P: %s not bound: %s", k, v.NetworkSettings.Ports)
		}
	}
	if len(v.Config.ExposedPorts) != 2 {
		t.Errorf("-P: Config.ExposedPorts = %v", v.Config.ExposedPorts)
	}
}

func compactJSON(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return b.String()
}
