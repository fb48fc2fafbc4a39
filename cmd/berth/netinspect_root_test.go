package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// TestRootNetworkInspectContainers checks network inspect's Containers
// against Docker's shape and against the container's own inspect: Name
// without the slash, the same 64-hex EndpointID, MacAddress, addresses
// with their prefix length; a stopped container is not listed.
func TestRootNetworkInspectContainers(t *testing.T) {
	c := netCLI(t)
	netName := unique("ni")
	c.must("network", "create", "--ipv6", netName)
	id := strings.TrimSpace(c.must("run", "-d", "--name", "box", "--network", netName, "busybox", "sleep", "60"))

	type endpoint struct{ Name, EndpointID, MacAddress, IPv4Address, IPv6Address string }
	containers := func() map[string]endpoint {
		t.Helper()
		var docs []struct{ Containers map[string]endpoint }
		if err := json.Unmarshal([]byte(c.must("network", "inspect", netName)), &docs); err != nil || len(docs) != 1 {
			t.Fatalf("network inspect: %v", err)
		}
		return docs[0].Containers
	}
	var ins []struct {
		NetworkSettings struct {
			Networks map[string]struct {
				EndpointID, MacAddress, IPAddress, GlobalIPv6Address string
				IPPrefixLen, GlobalIPv6PrefixLen                     int
			}
		}
	}
	if err := json.Unmarshal([]byte(c.must("inspect", "box")), &ins); err != nil || len(ins) != 1 {
		t.Fatalf("inspect: %v", err)
	}
	own := ins[0].NetworkSettings.Networks[netName]
	got, ok := containers()[id]
	if !ok {
		t.Fatalf("network inspect has no container %s: %v", id, containers())
	}
	want := endpoint{
		Name: "box", EndpointID: own.EndpointID, MacAddress: own.MacAddress,
		IPv4Address: fmt.Sprintf("%s/%d", own.IPAddress, own.IPPrefixLen),
		IPv6Address: fmt.Sprintf("%s/%d", own.GlobalIPv6Address, own.GlobalIPv6PrefixLen),
	}
	if got != want {
		t.Errorf("network inspect Containers[%s] = %+v, want %+v", id, got, want)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(got.EndpointID) {
		t.Errorf("EndpointID %q is not Docker's 64 hex digits", got.EndpointID)
	}
	if !regexp.MustCompile(`^([0-9a-f]{2}:){5}[0-9a-f]{2}$`).MatchString(got.MacAddress) {
		t.Errorf("MacAddress %q", got.MacAddress)
	}
	if own.IPAddress == "" || own.GlobalIPv6Address == "" {
		t.Errorf("container inspect lacks addresses: %+v", own)
	}
	c.must("kill", "box")
	c.must("wait", "box")
	if left := containers(); len(left) != 0 {
		t.Errorf("stopped container still listed: %v", left)
	}
}
