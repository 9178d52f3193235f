package dns

import (
	"errors"
	"net"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/beacon-sd/beacon/core/structs"
)

// reply is an answer being built, with what cutting it down needs.
// Replies are pooled: one is reused once its message has been packed.
type reply struct {
	m       *dns.Msg
	req     *dns.Msg
	zone    zone
	tcp     bool
	set     *serviceSet // a service lookup: the UDP answer limit applies
	srv     bool        // SRV answers, in the order of perm
	rs      *rrset      // the records of SRV answers
	perm    []int
	permBuf [16]int
	buf     []byte // packing buffer
	remote  net.Addr
}

var replies = sync.Pool{New: func() any { return &reply{m: new(dns.Msg), buf: make([]byte, 1024)} }}

func getReply(req *dns.Msg, tcp bool) *reply {
	r := replies.Get().(*reply)
	r.req, r.tcp = req, tcp
	m := r.m
	m.MsgHdr = dns.MsgHdr{Id: req.Id, Response: true, Opcode: req.Opcode}
	if req.Opcode == dns.OpcodeQuery {
		m.RecursionDesired, m.CheckingDisabled = req.RecursionDesired, req.CheckingDisabled
	}
	m.Compress = false
	m.Question = m.Question[:0]
	if len(req.Question) > 0 {
		m.Question = append(m.Question, req.Question[0])
	}
	return r
}

// putReply returns r to the pool; nothing may hold its message any more.
func putReply(r *reply) {
	m := r.m
	clear(m.Answer)
	clear(m.Ns)
	clear(m.Extra)
	m.Answer, m.Ns, m.Extra = m.Answer[:0], m.Ns[:0], m.Extra[:0]
	if cap(r.buf) > 4096 {
		r.buf = make([]byte, 1024)
	}
	*r = reply{m: m, buf: r.buf}
	replies.Put(r)
}

// ServeDNS answers one query.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	if req.Response {
		return // never answer an answer: that is how reflection loops start
	}
	r := getReply(req, isTCP(w))
	r.remote = w.RemoteAddr()
	defer putReply(r)
	m := r.m
	m.RecursionAvailable = len(s.recursors) > 0
	switch {
	case req.Opcode != dns.OpcodeQuery:
		m.Opcode = req.Opcode
		m.Rcode = dns.RcodeNotImplemented
	case len(req.Question) != 1:
		m.Rcode = dns.RcodeFormatError
	case badEDNS(req):
		m.Rcode = dns.RcodeBadVers
	case req.Question[0].Qclass != dns.ClassINET && req.Question[0].Qclass != dns.ClassANY:
		m.Rcode = dns.RcodeRefused
	default:
		if !s.answer(w, r) {
			return // forwarded
		}
	}
	s.write(w, r)
}

func isTCP(w dns.ResponseWriter) bool {
	_, ok := w.RemoteAddr().(*net.TCPAddr)
	return ok
}

// badEDNS reports an EDNS version we do not speak (RFC 6891 §6.1.3).
func badEDNS(req *dns.Msg) bool {
	opt := req.IsEdns0()
	return opt != nil && opt.Version() != 0
}

// answer fills r for a well-formed question; false when the query went to
// the recursors, which answered it.
func (s *Server) answer(w dns.ResponseWriter, r *reply) bool {
	q := r.req.Question[0]
	name := lowerASCII(q.Name)
	for _, z := range s.zones {
		if name == z.name {
			r.zone = z
			s.answerApex(r, q)
			return true
		}
		if n := len(name) - len(z.name); n > 1 && name[n-1] == '.' && name[n:] == z.name {
			r.zone = z
			s.answerName(r, q, name[:n-1])
			return true
		}
	}
	if q.Qtype == dns.TypePTR && s.answerPTR(r, q, name) {
		return true
	}
	s.recurse(w, r.req, r.tcp)
	return false
}

// answerApex answers a question about the domain itself: SOA and NS, and
// NODATA for other types.
func (s *Server) answerApex(r *reply, q dns.Question) {
	m := r.m
	m.Authoritative = true
	switch q.Qtype {
	case dns.TypeSOA:
		m.Answer = append(m.Answer, r.zone.soaRR())
		m.Ns, m.Extra = s.nsAnswer(r.zone)
	case dns.TypeNS:
		m.Answer, m.Extra = s.nsAnswer(r.zone)
	case dns.TypeAXFR, dns.TypeIXFR:
		m.Rcode = dns.RcodeNotImplemented
	default:
		m.Ns = append(m.Ns, r.zone.soaRR())
	}
}

// answerName answers a question about a name below the domain; rest is
// the name without the domain, in lower case.
func (s *Server) answerName(r *reply, q dns.Question, rest string) {
	m := r.m
	m.Authoritative = true
	if q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR {
		m.Rcode = dns.RcodeNotImplemented
		return
	}
	qn := parseName(rest, q.Qtype == dns.TypeSRV)
	if (qn.kind == kindNode || qn.kind == kindService || qn.kind == kindQuery) && qn.dc != "" && qn.dc != s.dc {
		// Other datacenters are reached through their servers, which this
		// agent does not know yet: answer that it cannot, not that the
		// name does not exist.
		m.Rcode = dns.RcodeServerFailure
		return
	}
	found := true
	switch qn.kind {
	case kindInvalid, kindApex:
		found = false
	case kindAddr:
		s.addrAnswer(m, q.Name, q.Qtype, qn.ip)
	case kindNode:
		n, err := s.lookupNode(qn.node)
		if err != nil {
			s.failed(r, q, err)
			return
		}
		if found = n != nil; found {
			s.nodeAnswer(m, q.Name, q.Qtype, n)
		}
	case kindService, kindQuery:
		var set *serviceSet
		var err error
		if qn.kind == kindQuery {
			set, err = s.lookupQuery(r, qn.query)
		} else {
			set, err = s.lookupService(qn.service, qn.tag)
		}
		if errors.Is(err, structs.ErrQueryNotFound) {
			found = false
			break
		}
		if err != nil {
			s.failed(r, q, err)
			return
		}
		if found = set != nil && len(set.srvs) > 0; !found {
			break
		}
		r.set = set
		switch q.Qtype {
		case dns.TypeSRV:
			r.srv = true
			s.srvAnswer(r, q.Name)
		case dns.TypeA, dns.TypeAAAA, dns.TypeANY, dns.TypeTXT:
			s.serviceAnswer(r, q.Name, q.Qtype)
		}
	}
	switch {
	case !found:
		m.Rcode = dns.RcodeNameError
		m.Ns = append(m.Ns, r.zone.soaRR())
	case len(m.Answer) == 0:
		m.Ns = append(m.Ns, r.zone.soaRR())
	}
}

func (s *Server) failed(r *reply, q dns.Question, err error) {
	s.logger.Warn("catalog read failed", "question", q.Name, "error", err)
	r.m.Rcode = dns.RcodeServerFailure
}

// answerPTR answers a reverse question about an address the catalog
// knows; false leaves it to the recursors.
func (s *Server) answerPTR(r *reply, q dns.Question, name string) bool {
	if !strings.HasSuffix(name, ".arpa.") {
		return false
	}
	ip := parseReverse(name)
	if ip == nil {
		return false
	}
	z := s.primaryZone()
	target, err := s.lookupPTR(s.ctx, ip, z)
	if err != nil {
		s.logger.Warn("catalog read failed", "question", q.Name, "error", err)
		return false
	}
	if target == "" {
		return false
	}
	r.m.Authoritative = true
	r.m.Answer = append(r.m.Answer, &dns.PTR{Hdr: hdr(q.Name, dns.TypePTR, 0), Ptr: target})
	return true
}

// primaryZone is Domain's zone.
func (s *Server) primaryZone() zone {
	for _, z := range s.zones {
		if z.idx == 0 {
			return z
		}
	}
	return s.zones[0]
}

// write cuts the reply to what the client can take, adds the EDNS record
// when the query had one, and sends it.
//
// A reply that fits 512 bytes uncompressed goes uncompressed (compression
// costs a map per reply and only matters for what must fit a buffer); a
// bigger one is compressed unless DisableCompression.
func (s *Server) write(w dns.ResponseWriter, r *reply) {
	m := r.m
	opt := r.req.IsEdns0()
	var respOpt *dns.OPT
	size := dns.MinMsgSize
	if opt != nil {
		respOpt = ednsReply(opt)
		size = max(int(opt.UDPSize()), dns.MinMsgSize)
	}
	if r.tcp {
		size = dns.MaxMsgSize
	} else if opt == nil && r.set != nil && s.limitAnswers(r, s.cfg.UDPAnswerLimit) && s.cfg.EnableTruncate {
		m.Truncated = true
	}
	optLen := 0
	if respOpt != nil {
		optLen = dns.Len(respOpt)
	}
	m.Compress = !s.cfg.DisableCompression && m.Len()+optLen > dns.MinMsgSize
	if s.fit(r, size-optLen) && !r.tcp {
		m.Truncated = true
	}
	if respOpt != nil {
		m.Extra = append(m.Extra, respOpt)
	}
	out, err := m.PackBuffer(r.buf[:cap(r.buf)])
	if err != nil {
		// The catalog holds something that is no DNS name.
		s.logger.Warn("reply does not pack", "question", m.Question, "error", err)
		s.writeRcode(w, r.req, dns.RcodeServerFailure, m.RecursionAvailable)
		return
	}
	r.buf = out
	if _, err := w.Write(out); err != nil {
		s.logger.Debug("write failed", "error", err)
	}
}

// ednsReply is the OPT record of a reply to a query with opt: the client's
// buffer size echoed, as Consul does, and its client subnet echoed with a
// scope of 0, since answers do not depend on where a query comes from.
func ednsReply(opt *dns.OPT) *dns.OPT {
	o := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
	o.SetUDPSize(max(opt.UDPSize(), dns.MinMsgSize))
	for _, e := range opt.Option {
		if sub, ok := e.(*dns.EDNS0_SUBNET); ok {
			o.Option = append(o.Option, &dns.EDNS0_SUBNET{
				Code: dns.EDNS0SUBNET, Family: sub.Family, SourceNetmask: sub.SourceNetmask,
				SourceScope: 0, Address: sub.Address,
			})
		}
	}
	return o
}
