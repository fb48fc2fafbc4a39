package dns_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	mdns "github.com/miekg/dns"

	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/network/cni"
	"github.com/berth-dev/berth/network/dns"
	"github.com/berth-dev/berth/network/netns"
	"github.com/berth-dev/berth/runtime"
)

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// fakeUpstream answers example.test. with 192.0.2.99 and NXDOMAIN for the
// rest, on loopback: the test never sends a query off the host.
func fakeUpstream(t *testing.T) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		resp := new(mdns.Msg)
		resp.SetReply(r)
		if r.Question[0].Name == "example.test." {
			resp.Answer = append(resp.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: "example.test.", Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 60}, A: net.ParseIP("192.0.2.99")})
		} else {
			resp.Rcode = mdns.RcodeNameError
		}
		_ = w.WriteMsg(resp)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

// lookup asks the server at gw:53 from inside the namespace.
func lookup(t *testing.T, nsPath, gw, name string) ([]string, int) {
	t.Helper()
	var resp *mdns.Msg
	err := netns.Do(nsPath, func() (err error) {
		q := new(mdns.Msg)
		q.SetQuestion(mdns.Fqdn(name), mdns.TypeA)
		c := &mdns.Client{Timeout: time.Second}
		resp, _, err = c.Exchange(q, net.JoinHostPort(gw, "53"))
		return err
	})
	if err != nil {
		return nil, -1
	}
	var ips []string
	for _, rr := range resp.Answer {
		if a, ok := rr.(*mdns.A); ok {
			ips = append(ips, a.A.String())
		}
	}
	slices.Sort(ips)
	return ips, resp.Rcode
}

func TestRootNamesFollowAttachAndDetach(t *testing.T) {
	if os.Getenv("BERTH_TEST_ROOT") != "1" {
		t.Skip("root test: set BERTH_TEST_ROOT=1")
	}
	run := t.TempDir()
	nsDir := filepath.Join(run, "netns")
	m := cni.New(cni.Options{Root: t.TempDir(), RunRoot: run})
	bg := context.Background()
	n, err := m.Create(t.Context(), network.Config{Name: "dns" + randHex(3)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Remove(bg, n.Name); err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("cleanup: %v", err)
		}
	})
	gw := n.Config.Subnets[0].Gateway

	ctx, cancel := context.WithCancel(bg)
	done := make(chan error, 1)
	go func() {
		done <- dns.Serve(ctx, dns.Options{Manager: m, Dir: filepath.Join(run, "dns"),
			Upstreams: []string{fakeUpstream(t)}, Poll: 50 * time.Millisecond, Linger: time.Hour})
	}()
	t.Cleanup(func() { cancel(); <-done })

	attach := func(name string, aliases ...string) (string, string, netip.Addr) {
		id := "dt" + randHex(8)
		path, err := netns.New(nsDir, id)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := m.Detach(bg, id, path); err != nil {
				t.Errorf("cleanup: %v", err)
			}
			_ = netns.Remove(path)
		})
		res, err := m.Attach(t.Context(), cni.AttachRequest{ContainerID: id, Name: name, NetNSPath: path,
			Networks: []runtime.NetworkAttachment{{Network: n.Name, Aliases: aliases}}})
		if err != nil {
			t.Fatal(err)
		}
		return id, path, res.Interfaces[0].IPs[0].Addr()
	}
	_, _, ip1 := attach("web-1", "web")
	id2, ns2, ip2 := attach("web-2", "web")
	_, client, _ := attach("client")

	// Wait for the server to listen and load all three.
	want := []string{ip1.String(), ip2.String()}
	slices.Sort(want)
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := lookup(t, client, gw, "web")
		if slices.Equal(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("web = %v, want %v", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got, _ := lookup(t, client, gw, "WEB-1"); !slices.Equal(got, []string{ip1.String()}) {
		t.Errorf("web-1 = %v, want %s", got, ip1)
	}
	if got, rc := lookup(t, client, gw, "example.test"); !slices.Equal(got, []string{"192.0.2.99"}) {
		t.Errorf("forwarded example.test = %v (rcode %d)", got, rc)
	}

	// Detach web-2: within a second it is gone.
	if err := m.Detach(t.Context(), id2, ns2); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for {
		got, _ := lookup(t, client, gw, "web")
		_, rc := lookup(t, client, gw, "web-2")
		if slices.Equal(got, []string{ip1.String()}) && rc == mdns.RcodeNameError {
			break
		}
		if time.Since(start) > time.Second {
			t.Fatalf("a second after detach: web = %v, web-2 rcode %d", got, rc)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A container on another network connected with an alias is found
	// within a second, and gone within a second of its disconnect.
	other, err := m.Create(t.Context(), network.Config{Name: "dns" + randHex(3)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Remove(bg, other.Name) })
	id4 := "dt" + randHex(8)
	ns4, err := netns.New(nsDir, id4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Detach(bg, id4, ns4); _ = netns.Remove(ns4) })
	if _, err := m.Attach(t.Context(), cni.AttachRequest{ContainerID: id4, Name: "late", NetNSPath: ns4,
		Networks: []runtime.NetworkAttachment{{Network: other.Name}}}); err != nil {
		t.Fatal(err)
	}
	if _, rc := lookup(t, client, gw, "late"); rc != mdns.RcodeNameError {
		t.Errorf("late, on another network, rcode %d: want NXDOMAIN", rc)
	}
	iface, err := m.Connect(t.Context(), id4, runtime.NetworkAttachment{Network: n.Name, Aliases: []string{"db"}})
	if err != nil {
		t.Fatal(err)
	}
	ip4 := iface.IPs[0].Addr().String()
	within := func(what string, ok func() bool) {
		t.Helper()
		start := time.Now()
		for !ok() {
			if time.Since(start) > time.Second {
				t.Fatalf("not within a second: %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	within("db found after connect", func() bool {
		got, _ := lookup(t, client, gw, "db")
		return slices.Equal(got, []string{ip4})
	})
	if err := m.Disconnect(t.Context(), id4, n.Name); err != nil {
		t.Fatal(err)
	}
	within("db gone after disconnect", func() bool {
		_, rc := lookup(t, client, gw, "db")
		return rc == mdns.RcodeNameError
	})
}
