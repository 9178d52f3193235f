package dns

import (
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// SOA timers, as Consul has them; the minimum (negative caching) TTL is 0
// so that a name that appears is seen at once.
const (
	soaRefresh = 3600
	soaRetry   = 600
	soaExpire  = 86400
	soaMinTTL  = 0
)

func newSOA(zone string) *dns.SOA {
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: soaMinTTL},
		Ns:      "ns." + zone,
		Mbox:    "hostmaster." + zone,
		Refresh: soaRefresh, Retry: soaRetry, Expire: soaExpire, Minttl: soaMinTTL,
	}
}

// soa is the zone's SOA with a serial of the current time, as Consul has it.
func (z zone) soaRR() dns.RR {
	soa := *z.soa
	soa.Serial = uint32(time.Now().Unix())
	return &soa
}

// ttls are the TTLs of node and service answers, in seconds.
type ttls struct {
	node     uint32
	exact    map[string]uint32
	prefixes []ttlPrefix // longest first
}

type ttlPrefix struct {
	prefix string
	ttl    uint32
}

func newTTLs(node time.Duration, service map[string]time.Duration) (ttls, error) {
	t := ttls{node: seconds(node), exact: map[string]uint32{}}
	for k, d := range service {
		if d < 0 {
			return t, fmt.Errorf("dns: negative service_ttl for %q", k)
		}
		k = strings.ToLower(k)
		if p, ok := strings.CutSuffix(k, "*"); ok {
			t.prefixes = append(t.prefixes, ttlPrefix{p, seconds(d)})
		} else {
			t.exact[k] = seconds(d)
		}
	}
	sort.Slice(t.prefixes, func(i, j int) bool { return len(t.prefixes[i].prefix) > len(t.prefixes[j].prefix) })
	return t, nil
}

func (t ttls) service(name string) uint32 {
	if ttl, ok := t.exact[name]; ok {
		return ttl
	}
	for _, p := range t.prefixes {
		if strings.HasPrefix(name, p.prefix) {
			return p.ttl
		}
	}
	return 0
}

func seconds(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	return uint32(min(d/time.Second, 1<<31-1))
}

func hdr(name string, t uint16, ttl uint32) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
}

// addressRR answers a question of type qtype about name with h: A or AAAA
// as the address and qtype allow, CNAME for a host name; nil when none fits.
func addressRR(name string, qtype uint16, ttl uint32, h host) dns.RR {
	switch {
	case h.ip == nil:
		if h.name == "" || qtype == dns.TypeTXT {
			return nil
		}
		return &dns.CNAME{Hdr: hdr(name, dns.TypeCNAME, ttl), Target: h.name}
	case len(h.ip) == net.IPv4len:
		if qtype == dns.TypeA || qtype == dns.TypeANY {
			return &dns.A{Hdr: hdr(name, dns.TypeA, ttl), A: h.ip}
		}
	default:
		if qtype == dns.TypeAAAA || qtype == dns.TypeANY {
			return &dns.AAAA{Hdr: hdr(name, dns.TypeAAAA, ttl), AAAA: h.ip}
		}
	}
	return nil
}

// glueRR is the additional record of an SRV target: A or AAAA.
func glueRR(name string, ttl uint32, ip net.IP) dns.RR {
	if len(ip) == net.IPv4len {
		return &dns.A{Hdr: hdr(name, dns.TypeA, ttl), A: ip}
	}
	return &dns.AAAA{Hdr: hdr(name, dns.TypeAAAA, ttl), AAAA: ip}
}

func appendTXT(rrs []dns.RR, name string, ttl uint32, txts [][]string) []dns.RR {
	for _, t := range txts {
		rrs = append(rrs, &dns.TXT{Hdr: hdr(name, dns.TypeTXT, ttl), Txt: t})
	}
	return rrs
}

// nodeAnswer fills m with the answer about a node to a question of type
// qtype: its address, and its meta as TXT (in the answer for TXT and ANY,
// in the additional section otherwise when NodeMetaTXT).
func (s *Server) nodeAnswer(m *dns.Msg, name string, qtype uint16, n *nodeRecord) {
	switch qtype {
	case dns.TypeA, dns.TypeAAAA, dns.TypeANY:
		if rr := addressRR(name, qtype, s.ttl.node, n.addr); rr != nil {
			m.Answer = append(m.Answer, rr)
		}
	case dns.TypeTXT:
	default:
		return
	}
	switch {
	case qtype == dns.TypeTXT || qtype == dns.TypeANY:
		m.Answer = appendTXT(m.Answer, name, s.ttl.node, n.meta)
	case s.cfg.NodeMetaTXT && len(m.Answer) > 0:
		m.Extra = appendTXT(m.Extra, name, s.ttl.node, n.meta)
	}
}

// addrAnswer answers an .addr. name with the address it spells.
func (s *Server) addrAnswer(m *dns.Msg, name string, qtype uint16, ip net.IP) {
	if v4 := ip.To4(); v4 != nil {
		ip = v4
	}
	if rr := addressRR(name, qtype, s.ttl.node, host{ip: ip}); rr != nil {
		m.Answer = append(m.Answer, rr)
	}
}

// nsAnswer is the NS records of a zone (the servers of the datacenter, as
// <node>.node.<dc>.<zone>, found as the instances of the "consul" service)
// and their addresses.
func (s *Server) nsAnswer(z zone) (ns, glue []dns.RR) {
	set, err := s.lookupService("consul", "")
	if err == nil {
		for i := range set.srvs {
			t := &set.srvs[i]
			if t.ip == nil || !strings.HasSuffix(t.target[z.idx], ".node."+s.cfg.Datacenter+"."+z.name) {
				continue
			}
			ns = append(ns, &dns.NS{Hdr: hdr(z.name, dns.TypeNS, set.ttl), Ns: t.target[z.idx]})
			glue = append(glue, glueRR(t.target[z.idx], set.ttl, t.ip))
		}
	}
	if len(ns) == 0 {
		// No server is listed (or none is healthy): name this agent, which
		// answers for the domain all the same.
		target := z.ns
		if s.cfg.NodeName != "" {
			target = s.cfg.NodeName + ".node." + s.cfg.Datacenter + "." + z.name
		}
		ns = append(ns, &dns.NS{Hdr: hdr(z.name, dns.TypeNS, 0), Ns: target})
	}
	return ns, glue
}
