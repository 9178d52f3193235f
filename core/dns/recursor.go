package dns

import (
	"github.com/miekg/dns"
)

// recurse forwards a question outside the domain to the recursors in
// order and relays the first usable answer: one that says NOERROR or
// NXDOMAIN. A recursor that does not answer in RecursorTimeout, or answers
// SERVFAIL, REFUSED or the like, passes the question to the next; when none
// is left the client gets SERVFAIL. With no recursors the question is
// refused: this server is no open resolver.
//
// The question goes out over the transport it came in on, so a truncated
// UDP answer reaches the client with TC set and its retry comes over TCP.
func (s *Server) recurse(w dns.ResponseWriter, req *dns.Msg, tcp bool) {
	if len(s.recursors) == 0 {
		s.writeRcode(w, req, dns.RcodeRefused, false)
		return
	}
	c := &dns.Client{Net: "udp", Timeout: s.cfg.RecursorTimeout}
	if tcp {
		c.Net = "tcp"
	}
	q := req.Question[0]
	for _, addr := range s.recursors {
		resp, _, err := c.Exchange(req, addr)
		if err != nil {
			s.logger.Debug("recursor failed", "recursor", addr, "question", q.Name, "error", err)
			continue
		}
		if resp.Rcode != dns.RcodeSuccess && resp.Rcode != dns.RcodeNameError {
			s.logger.Debug("recursor failed", "recursor", addr, "question", q.Name, "rcode", dns.RcodeToString[resp.Rcode])
			continue
		}
		resp.Compress = !s.cfg.DisableCompression
		if err := w.WriteMsg(resp); err != nil {
			s.logger.Debug("write failed", "error", err)
		}
		return
	}
	s.logger.Warn("all recursors failed", "question", q.Name, "type", dns.TypeToString[q.Qtype])
	s.writeRcode(w, req, dns.RcodeServerFailure, true)
}

// writeRcode answers req with an empty reply carrying rcode.
func (s *Server) writeRcode(w dns.ResponseWriter, req *dns.Msg, rcode int, ra bool) {
	m := new(dns.Msg)
	m.SetRcode(req, rcode)
	m.RecursionAvailable = ra
	if opt := req.IsEdns0(); opt != nil {
		m.Extra = append(m.Extra, ednsReply(opt))
	}
	if err := w.WriteMsg(m); err != nil {
		s.logger.Debug("write failed", "error", err)
	}
}
