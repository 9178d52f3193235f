package dns

import (
	"math/rand/v2"
	"sync/atomic"

	"github.com/miekg/dns"
)

// rrset is the records that answer one question name and type about a
// service. They are built once per value of the service's view and shared
// by every reply that uses them: a reply copies the slices and shuffles its
// copy, and packing only reads the records, so a query about a known
// service allocates no records at all. A new view value (the catalog
// changed) starts with no rrsets, which is what keeps them current.
type rrset struct {
	name  string
	qtype uint16

	addrs []dns.RR   // A/AAAA, or one CNAME
	txts  []dns.RR   // node meta
	srvs  []dns.RR   // one per serviceSet.srvs entry
	glue  [][]dns.RR // additional records of srvs[i]
}

// maxRRSets bounds the rrsets kept per view value: a few spellings of the
// name times the types asked for. Beyond that, records are built for each
// reply.
const maxRRSets = 8

type rrsetCache [maxRRSets]atomic.Pointer[rrset]

// records returns the rrset for name and qtype, built on first use.
func (s *Server) records(set *serviceSet, name string, qtype uint16, z zone) *rrset {
	for i := range set.rrsets {
		rs := set.rrsets[i].Load()
		if rs == nil {
			break
		}
		if rs.qtype == qtype && rs.name == name {
			return rs
		}
	}
	rs := s.buildRecords(set, name, qtype, z)
	for i := range set.rrsets {
		if set.rrsets[i].CompareAndSwap(nil, rs) {
			break
		}
	}
	return rs
}

func (s *Server) buildRecords(set *serviceSet, name string, qtype uint16, z zone) *rrset {
	rs := &rrset{name: name, qtype: qtype}
	switch qtype {
	case dns.TypeSRV:
		rs.srvs = make([]dns.RR, len(set.srvs))
		rs.glue = make([][]dns.RR, len(set.srvs))
		for i := range set.srvs {
			t := &set.srvs[i]
			target := t.target[z.idx]
			rs.srvs[i] = &dns.SRV{Hdr: hdr(name, dns.TypeSRV, set.ttl), Priority: 1, Weight: t.weight, Port: t.port, Target: target}
			if t.ip != nil {
				rs.glue[i] = appendTXT([]dns.RR{glueRR(target, set.ttl, t.ip)}, target, set.ttl, t.meta)
			}
		}
	case dns.TypeA, dns.TypeAAAA, dns.TypeANY:
		var cname dns.RR
		for _, h := range set.hosts {
			rr := addressRR(name, qtype, set.ttl, h)
			switch {
			case rr == nil:
			case h.ip == nil:
				if cname == nil {
					cname = rr
				}
			default:
				rs.addrs = append(rs.addrs, rr)
			}
		}
		// A name has one CNAME at most, and none beside addresses.
		if len(rs.addrs) == 0 && cname != nil {
			rs.addrs = []dns.RR{cname}
		}
	}
	if qtype == dns.TypeTXT || qtype == dns.TypeANY {
		rs.txts = appendTXT(nil, name, set.ttl, set.txts)
	}
	return rs
}

// serviceAnswer fills the answer with the records of r.set for a question
// of type A, AAAA, ANY or TXT: addresses shuffled, then node meta for TXT
// and ANY.
func (s *Server) serviceAnswer(r *reply, name string, qtype uint16) {
	rs := s.records(r.set, name, qtype, r.zone)
	m := r.m
	m.Answer = append(m.Answer, rs.addrs...)
	if !r.set.ordered {
		shuffle(m.Answer)
	}
	if n := s.cfg.ARecordLimit; n > 0 && len(m.Answer) > n {
		m.Answer = m.Answer[:n]
	}
	m.Answer = append(m.Answer, rs.txts...)
}

// srvAnswer fills the answer with the SRV records of r.set, shuffled,
// and the additional section with their targets' records.
func (s *Server) srvAnswer(r *reply, name string) {
	rs := s.records(r.set, name, dns.TypeSRV, r.zone)
	r.rs = rs
	r.perm = permutation(r.permBuf[:0], len(rs.srvs), !r.set.ordered)
	for _, i := range r.perm {
		r.m.Answer = append(r.m.Answer, rs.srvs[i])
	}
	s.srvExtra(r, len(r.perm))
}

// srvExtra sets the additional section to the records of the targets of
// the first n SRV answers, each target once; it runs again when answers
// are cut.
func (s *Server) srvExtra(r *reply, n int) {
	m := r.m
	m.Extra = m.Extra[:0]
	var seen map[string]bool
	if n > 16 {
		seen = make(map[string]bool, n)
	}
	for _, i := range r.perm[:n] {
		g := r.rs.glue[i]
		if len(g) == 0 {
			continue
		}
		target := g[0].Header().Name
		if seen != nil {
			if seen[target] {
				continue
			}
			seen[target] = true
		} else if hasGlue(m.Extra, target) {
			continue
		}
		m.Extra = append(m.Extra, g...)
	}
}

func hasGlue(rrs []dns.RR, name string) bool {
	for _, rr := range rrs {
		if h := rr.Header(); h.Name == name && h.Rrtype != dns.TypeTXT {
			return true
		}
	}
	return false
}

// permutation appends 0..n-1 to buf, in a random order when shuffled.
func permutation(buf []int, n int, shuffled bool) []int {
	for i := 0; i < n; i++ {
		buf = append(buf, i)
	}
	for i := n - 1; shuffled && i > 0; i-- {
		j := rand.IntN(i + 1)
		buf[i], buf[j] = buf[j], buf[i]
	}
	return buf
}

// shuffle puts rrs in a random order.
func shuffle(rrs []dns.RR) {
	for i := len(rrs) - 1; i > 0; i-- {
		j := rand.IntN(i + 1)
		rrs[i], rrs[j] = rrs[j], rrs[i]
	}
}
