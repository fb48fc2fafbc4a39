package dns

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/miekg/dns"

	"github.com/berth-dev/berth/internal/atomicfile"
	"github.com/berth-dev/berth/internal/flock"
	"github.com/berth-dev/berth/internal/hostresolv"
	"github.com/berth-dev/berth/network/cni"
)

// Options configure a server.
type Options struct {
	Manager *cni.Manager
	// Dir holds the server's lock, pid and ready stamp (<run-root>/dns).
	Dir string
	// Upstreams are the resolvers other names go to ("ip:port"); default
	// the nameservers of the host's resolv.conf (internal/hostresolv).
	Upstreams []string
	Port      int           // default 53
	Poll      time.Duration // how often the records are checked; default 250ms
	Linger    time.Duration // exit after this long with no container; default 10s
	Log       io.Writer     // default stderr
}

// Serve runs the server until ctx ends or no network has had a container
// for Linger. Only one server runs per Dir: if another holds the lock,
// Serve returns nil at once. SIGHUP reloads at once (dnsctl.Ensure sends it).
func Serve(ctx context.Context, o Options) error {
	if o.Port == 0 {
		o.Port = 53
	}
	if o.Poll == 0 {
		o.Poll = 250 * time.Millisecond
	}
	if o.Linger == 0 {
		o.Linger = 10 * time.Second
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	if len(o.Upstreams) == 0 {
		o.Upstreams = hostResolvers(hostresolv.Path())
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	lk, err := tryLock(filepath.Join(o.Dir, "lock"))
	if err != nil {
		return nil // another server runs
	}
	defer lk.Unlock()
	if err := atomicfile.Write(filepath.Join(o.Dir, "pid"), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	defer os.Remove(filepath.Join(o.Dir, "pid"))

	s := &server{o: o, log: log.New(o.Log, "berth-dns: ", log.LstdFlags), listeners: map[string]*listener{}}
	s.table.Store(&Table{})
	defer s.stopAll()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	tick := time.NewTicker(o.Poll)
	defer tick.Stop()
	var version string
	idleSince := time.Now()
	for {
		force := false
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			force = true
		case <-tick.C:
		}
		v := s.version()
		if force || v != version {
			began := time.Now()
			if err := s.reload(); err != nil {
				s.log.Printf("reload: %v", err)
				continue
			}
			version = v
			// The stamp says which records were read: those written before
			// began. dnsctl.Ensure compares it with its own start.
			stamp := strconv.FormatInt(began.UnixNano(), 10)
			_ = atomicfile.Write(filepath.Join(o.Dir, "ready"), []byte(stamp), 0o600)
		} else {
			s.listen() // retry addresses not yet bindable (IPv6 DAD)
		}
		if (*s.table.Load()).Needed() {
			idleSince = time.Now()
		} else if time.Since(idleSince) > o.Linger {
			s.log.Printf("no container on a user network for %v: exiting", o.Linger)
			return nil
		}
	}
}

type server struct {
	o         Options
	log       *log.Logger
	table     atomic.Pointer[Table]
	peers     atomic.Pointer[map[netip.Addr][]string]
	mu        sync.Mutex
	listeners map[string]*listener // by "network/ip"
}

type listener struct {
	udp, tcp *dns.Server
}

// version is the modification times of the record directories.
func (s *server) version() string {
	var b strings.Builder
	for _, p := range s.o.Manager.WatchPaths() {
		if fi, err := os.Stat(p); err == nil {
			fmt.Fprintf(&b, "%d;", fi.ModTime().UnixNano())
		} else {
			b.WriteString("-;")
		}
	}
	return b.String()
}

func (s *server) reload() error {
	ctx := context.Background()
	recs, err := s.o.Manager.Records(ctx)
	if err != nil {
		return err
	}
	atts, err := s.o.Manager.Attachments(ctx)
	if err != nil {
		return err
	}
	t, peers := Build(recs, atts), Peers(atts)
	s.peers.Store(&peers)
	s.table.Store(&t)
	s.listen()
	return nil
}

// listen starts a listener on every gateway of the table and stops those
// of networks gone.
func (s *server) listen() {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := map[string]bool{}
	for _, z := range *s.table.Load() {
		for _, gw := range z.Gateways {
			key := z.Network + "/" + gw.String()
			want[key] = true
			if s.listeners[key] != nil {
				continue
			}
			l, err := s.start(z.Network, gw)
			if err != nil {
				continue // the address may not be usable yet; retried next tick
			}
			s.listeners[key] = l
		}
	}
	for key, l := range s.listeners {
		if !want[key] {
			l.stop()
			delete(s.listeners, key)
		}
	}
}

func (s *server) start(network string, gw netip.Addr) (*listener, error) {
	addr := net.JoinHostPort(gw.String(), strconv.Itoa(s.o.Port))
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		pc.Close()
		return nil, err
	}
	l := &listener{
		udp: &dns.Server{PacketConn: pc, Handler: s.handler(network, "udp")},
		tcp: &dns.Server{Listener: ln, Handler: s.handler(network, "tcp")},
	}
	go func() { _ = l.udp.ActivateAndServe() }()
	go func() { _ = l.tcp.ActivateAndServe() }()
	return l, nil
}

func (l *listener) stop() {
	_ = l.udp.Shutdown()
	_ = l.tcp.Shutdown()
}

func (s *server) stopAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, l := range s.listeners {
		l.stop()
		delete(s.listeners, k)
	}
}

// handler answers for one network: its own names first, then upstream.
func (s *server) handler(network, proto string) dns.HandlerFunc {
	return func(w dns.ResponseWriter, req *dns.Msg) {
		var from netip.Addr
		if ap, err := netip.ParseAddrPort(w.RemoteAddr().String()); err == nil {
			from = ap.Addr()
		}
		var peers map[netip.Addr][]string
		if p := s.peers.Load(); p != nil {
			peers = *p
		}
		resp, ok, internal := (*s.table.Load()).Lookup(peers, network, from, req)
		if ok {
			_ = w.WriteMsg(resp)
			return
		}
		if internal {
			resp := new(dns.Msg)
			resp.SetRcode(req, dns.RcodeNameError)
			_ = w.WriteMsg(resp)
			return
		}
		_ = w.WriteMsg(s.forward(req, proto))
	}
}

// forward asks the upstream resolvers in turn; SERVFAIL if none answers.
func (s *server) forward(req *dns.Msg, proto string) *dns.Msg {
	c := &dns.Client{Net: proto, Timeout: 2 * time.Second}
	for _, up := range s.o.Upstreams {
		resp, _, err := c.Exchange(req, up)
		if err == nil && resp != nil {
			return resp
		}
	}
	fail := new(dns.Msg)
	fail.SetRcode(req, dns.RcodeServerFailure)
	return fail
}

// hostResolvers reads the nameservers of a resolv.conf as "ip:53".
func hostResolvers(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "nameserver" {
			if a, err := netip.ParseAddr(fields[1]); err == nil {
				out = append(out, net.JoinHostPort(a.String(), "53"))
			}
		}
	}
	return out
}

// tryLock takes the lock at path or fails at once.
func tryLock(path string) (*flock.Lock, error) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	lk, err := flock.Acquire(ctx, path)
	if err != nil {
		return nil, errors.New("locked")
	}
	return lk, nil
}
