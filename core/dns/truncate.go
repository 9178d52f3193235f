package dns

import "github.com/miekg/dns"

// limitAnswers keeps at most limit answers of a service lookup (Consul's
// udp_answer_limit, applied to UDP queries without EDNS, as Consul does);
// true when it cut any. The answers are already shuffled, so the ones
// kept are a random subset.
func (s *Server) limitAnswers(r *reply, limit int) bool {
	if limit <= 0 || len(r.m.Answer) <= limit {
		return false
	}
	s.cutAnswers(r, r.m.Answer, limit)
	return true
}

// cutAnswers keeps the first n of all as answers, and of the additional
// section what they still refer to.
func (s *Server) cutAnswers(r *reply, all []dns.RR, n int) {
	r.m.Answer = all[:n]
	if r.srv {
		s.srvExtra(r, n)
	}
}

// fit cuts the reply until it packs into size bytes; true when answers
// were cut, which the client is told with TC so that it retries over TCP.
// Additional records go first (they are not required, RFC 2181 §9), then
// the authority section, then answers from the end. One answer is always
// kept, even when it alone is too big; the client's resolver copes.
func (s *Server) fit(r *reply, size int) bool {
	m := r.m
	if fits(m, size) {
		return false
	}
	if r.srv {
		// Targets' addresses are worth more than SRV answers beyond the
		// first: a client that cannot resolve a target cannot use it.
		// Cut answers while extras still refer to them.
		all := m.Answer
		n := bestCount(len(all), func(n int) bool {
			s.cutAnswers(r, all, n)
			return fits(m, size)
		})
		s.cutAnswers(r, all, n)
		cut := n < len(all)
		if fits(m, size) {
			return cut
		}
		m.Extra = m.Extra[:0]
		return cut || !fits(m, size)
	}
	m.Extra = m.Extra[:0]
	if fits(m, size) {
		return false
	}
	m.Ns = m.Ns[:0]
	if fits(m, size) {
		return false
	}
	all := m.Answer
	n := bestCount(len(all), func(n int) bool {
		m.Answer = all[:n]
		return fits(m, size)
	})
	m.Answer = all[:n]
	return n < len(all)
}

// fits reports whether m packs into size bytes. The uncompressed length
// is an upper bound and cheap; only when it is too big is the compressed
// length worked out.
func fits(m *dns.Msg, size int) bool {
	compress := m.Compress
	m.Compress = false
	l := m.Len()
	m.Compress = compress
	if l <= size {
		return true
	}
	return compress && m.Len() <= size
}

// bestCount is the largest n in [1, total] for which ok(n) holds, found by
// binary search (ok is monotone); 1 when none does.
func bestCount(total int, ok func(int) bool) int {
	lo, hi := 1, total
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if ok(mid) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}
