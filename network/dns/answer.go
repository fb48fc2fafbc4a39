package dns

import (
	"github.com/miekg/dns"
)

// ttl of local answers: short, since containers come and go.
const ttl = 5

// Answer answers req from the zone, or reports that the question is not
// the zone's and must be forwarded. It is pure.
//
// A known name gets its A or AAAA records (an empty answer when it has
// none of the type asked); only A, AAAA and ANY are answered locally.
func Answer(z *Zone, req *dns.Msg) (*dns.Msg, bool) {
	if len(req.Question) != 1 {
		return nil, false
	}
	q := req.Question[0]
	if q.Qclass != dns.ClassINET {
		return nil, false
	}
	ips, ok := z.Names[fqdn(q.Name)]
	if !ok {
		return nil, false
	}
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.Authoritative = true
	resp.RecursionAvailable = true
	for _, ip := range ips {
		hdr := dns.RR_Header{Name: q.Name, Class: dns.ClassINET, Ttl: ttl}
		switch {
		case ip.Is4() && (q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY):
			hdr.Rrtype = dns.TypeA
			resp.Answer = append(resp.Answer, &dns.A{Hdr: hdr, A: ip.AsSlice()})
		case ip.Is6() && (q.Qtype == dns.TypeAAAA || q.Qtype == dns.TypeANY):
			hdr.Rrtype = dns.TypeAAAA
			resp.Answer = append(resp.Answer, &dns.AAAA{Hdr: hdr, AAAA: ip.AsSlice()})
		}
	}
	return resp, true
}
