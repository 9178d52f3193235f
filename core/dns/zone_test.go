package dns_test

import (
	"testing"

	"github.com/miekg/dns"
)

const soaConsul = "consul. 0 IN SOA ns.consul. hostmaster.consul. 0 3600 600 86400 0"

// zoneCases run against the fixture with Domain "consul." and AltDomain
// "alt.example.", node meta TXT on, no recursors.
var zoneCases = []zoneCase{
	// Services: only healthy instances (web-3 critical, web-4 in node
	// maintenance), warning included.
	{Qname: "web.service.consul.", Qtype: dns.TypeA, Answer: []string{
		"web.service.consul. 0 IN A 10.0.0.1",
		"web.service.consul. 0 IN A 10.0.0.2",
	}},
	{Qname: "web.service.dc1.consul.", Qtype: dns.TypeA, Answer: []string{
		"web.service.dc1.consul. 0 IN A 10.0.0.1",
		"web.service.dc1.consul. 0 IN A 10.0.0.2",
	}},
	{Qname: "WEB.Service.Consul.", Qtype: dns.TypeA, Answer: []string{
		"WEB.Service.Consul. 0 IN A 10.0.0.1",
		"WEB.Service.Consul. 0 IN A 10.0.0.2",
	}},
	{Qname: "rails.web.service.consul.", Qtype: dns.TypeA, Answer: []string{
		"rails.web.service.consul. 0 IN A 10.0.0.1",
	}},
	{Qname: "canary.web.service.dc1.consul.", Qtype: dns.TypeA, Answer: []string{
		"canary.web.service.dc1.consul. 0 IN A 10.0.0.2",
	}},
	{Qname: "web.service.consul.", Qtype: dns.TypeSRV,
		Answer: []string{
			"web.service.consul. 0 IN SRV 1 1 80 web-1.node.dc1.consul.",
			"web.service.consul. 0 IN SRV 1 1 80 web-2.node.dc1.consul.",
		},
		Extra: []string{
			"web-1.node.dc1.consul. 0 IN A 10.0.0.1",
			`web-1.node.dc1.consul. 0 IN TXT "rack=r1"`,
			"web-2.node.dc1.consul. 0 IN A 10.0.0.2",
		}},
	{Qname: "_web._tcp.service.consul.", Qtype: dns.TypeSRV,
		Answer: []string{
			"_web._tcp.service.consul. 0 IN SRV 1 1 80 web-1.node.dc1.consul.",
			"_web._tcp.service.consul. 0 IN SRV 1 1 80 web-2.node.dc1.consul.",
		},
		Extra: []string{
			"web-1.node.dc1.consul. 0 IN A 10.0.0.1",
			`web-1.node.dc1.consul. 0 IN TXT "rack=r1"`,
			"web-2.node.dc1.consul. 0 IN A 10.0.0.2",
		}},
	{Qname: "_web._rails.service.consul.", Qtype: dns.TypeSRV,
		Answer: []string{"_web._rails.service.consul. 0 IN SRV 1 1 80 web-1.node.dc1.consul."},
		Extra: []string{
			"web-1.node.dc1.consul. 0 IN A 10.0.0.1",
			`web-1.node.dc1.consul. 0 IN TXT "rack=r1"`,
		}},
	{Qname: "_web._canary.dc1.consul.", Qtype: dns.TypeSRV,
		Answer: []string{"_web._canary.dc1.consul. 0 IN SRV 1 1 80 web-2.node.dc1.consul."},
		Extra:  []string{"web-2.node.dc1.consul. 0 IN A 10.0.0.2"}},
	{Qname: "web.service.consul.", Qtype: dns.TypeTXT, Answer: []string{
		`web.service.consul. 0 IN TXT "rack=r1"`,
	}},
	{Qname: "web.service.consul.", Qtype: dns.TypeANY, Answer: []string{
		"web.service.consul. 0 IN A 10.0.0.1",
		"web.service.consul. 0 IN A 10.0.0.2",
		`web.service.consul. 0 IN TXT "rack=r1"`,
	}},
	{Qname: "web.service.consul.", Qtype: dns.TypeMX, Ns: []string{soaConsul}},
	{Qname: "web.service.consul.", Qtype: dns.TypeAAAA, Ns: []string{soaConsul}},

	// A service address wins over the node's; its SRV target is its
	// .addr. name.
	{Qname: "api.service.consul.", Qtype: dns.TypeA, Answer: []string{
		"api.service.consul. 0 IN A 10.1.0.1",
	}},
	{Qname: "api.service.consul.", Qtype: dns.TypeSRV,
		Answer: []string{"api.service.consul. 0 IN SRV 1 1 9000 0a010001.addr.dc1.consul."},
		Extra:  []string{"0a010001.addr.dc1.consul. 0 IN A 10.1.0.1"}},
	{Qname: "0a010001.addr.dc1.consul.", Qtype: dns.TypeA, Answer: []string{
		"0a010001.addr.dc1.consul. 0 IN A 10.1.0.1",
	}},
	{Qname: "fd000000000000000000000000000001.addr.dc1.consul.", Qtype: dns.TypeAAAA, Answer: []string{
		"fd000000000000000000000000000001.addr.dc1.consul. 0 IN AAAA fd00::1",
	}},
	{Qname: "0a01.addr.dc1.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []string{soaConsul}},

	// Two nodes at one address:port are two instances: an SRV record
	// each, one A record for the address.
	{Qname: "twin.service.consul.", Qtype: dns.TypeSRV,
		Answer: []string{
			"twin.service.consul. 0 IN SRV 1 1 7000 twin-1.node.dc1.consul.",
			"twin.service.consul. 0 IN SRV 1 1 7000 twin-2.node.dc1.consul.",
		},
		Extra: []string{
			"twin-1.node.dc1.consul. 0 IN A 10.2.0.1",
			"twin-2.node.dc1.consul. 0 IN A 10.2.0.1",
		}},
	{Qname: "twin.service.consul.", Qtype: dns.TypeA, Answer: []string{
		"twin.service.consul. 0 IN A 10.2.0.1",
	}},

	// IPv6 and host name addresses.
	{Qname: "db.service.consul.", Qtype: dns.TypeAAAA, Answer: []string{
		"db.service.consul. 0 IN AAAA fd00::1",
	}},
	{Qname: "db.service.consul.", Qtype: dns.TypeA, Ns: []string{soaConsul}},
	{Qname: "db.service.consul.", Qtype: dns.TypeSRV,
		Answer: []string{"db.service.consul. 0 IN SRV 1 1 5432 db-1.node.dc1.consul."},
		Extra:  []string{"db-1.node.dc1.consul. 0 IN AAAA fd00::1"}},
	{Qname: "ext.service.consul.", Qtype: dns.TypeA, Answer: []string{
		"ext.service.consul. 0 IN CNAME example.com.",
	}},
	{Qname: "ext.service.consul.", Qtype: dns.TypeSRV, Answer: []string{
		"ext.service.consul. 0 IN SRV 1 1 443 example.com.",
	}},

	// Nodes: address, and meta as TXT.
	{Qname: "master.node.consul.", Qtype: dns.TypeA,
		Answer: []string{"master.node.consul. 0 IN A 192.168.1.15"},
		Extra:  []string{`master.node.consul. 0 IN TXT "consul-network-segment="`}},
	{Qname: "master.node.dc1.consul.", Qtype: dns.TypeA,
		Answer: []string{"master.node.dc1.consul. 0 IN A 192.168.1.15"},
		Extra:  []string{`master.node.dc1.consul. 0 IN TXT "consul-network-segment="`}},
	{Qname: "master.node.consul.", Qtype: dns.TypeTXT, Answer: []string{
		`master.node.consul. 0 IN TXT "consul-network-segment="`,
	}},
	{Qname: "master.node.consul.", Qtype: dns.TypeANY, Answer: []string{
		"master.node.consul. 0 IN A 192.168.1.15",
		`master.node.consul. 0 IN TXT "consul-network-segment="`,
	}},
	{Qname: "master.node.consul.", Qtype: dns.TypeAAAA, Ns: []string{soaConsul}},
	{Qname: "web-3.node.consul.", Qtype: dns.TypeA, Answer: []string{
		"web-3.node.consul. 0 IN A 10.0.0.3", // a node answers whatever its checks say
	}},

	// Names that name nothing.
	{Qname: "nosuch.node.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []string{soaConsul}},
	{Qname: "nosuch.service.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []string{soaConsul}},
	{Qname: "down.service.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []string{soaConsul}},
	{Qname: "nosuch.web.service.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []string{soaConsul}},
	{Qname: "service.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []string{soaConsul}},
	{Qname: "foo.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []string{soaConsul}},
	{Qname: "a.b.c.d.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []string{soaConsul}},
	{Qname: "web.service.dc1.dc1.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []string{soaConsul}},
	{Qname: "x.addr.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []string{soaConsul}},

	// Another datacenter: not reachable yet.
	{Qname: "web.service.dc2.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
	{Qname: "master.node.dc2.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},

	// The domain itself.
	{Qname: "consul.", Qtype: dns.TypeSOA,
		Answer: []string{soaConsul},
		Ns:     []string{"consul. 0 IN NS {agent}.node.dc1.consul."},
		Extra:  []string{"{agent}.node.dc1.consul. 0 IN A 127.0.0.1"}},
	{Qname: "consul.", Qtype: dns.TypeNS,
		Answer: []string{"consul. 0 IN NS {agent}.node.dc1.consul."},
		Extra:  []string{"{agent}.node.dc1.consul. 0 IN A 127.0.0.1"}},
	{Qname: "consul.", Qtype: dns.TypeA, Ns: []string{soaConsul}},
	{Qname: "consul.", Qtype: dns.TypeAXFR, Rcode: dns.RcodeNotImplemented},

	// The alternative domain answers alike, with its own names.
	{Qname: "web.service.alt.example.", Qtype: dns.TypeSRV,
		Answer: []string{
			"web.service.alt.example. 0 IN SRV 1 1 80 web-1.node.dc1.alt.example.",
			"web.service.alt.example. 0 IN SRV 1 1 80 web-2.node.dc1.alt.example.",
		},
		Extra: []string{
			"web-1.node.dc1.alt.example. 0 IN A 10.0.0.1",
			`web-1.node.dc1.alt.example. 0 IN TXT "rack=r1"`,
			"web-2.node.dc1.alt.example. 0 IN A 10.0.0.2",
		}},
	{Qname: "nosuch.node.alt.example.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError,
		Ns: []string{"alt.example. 0 IN SOA ns.alt.example. hostmaster.alt.example. 0 3600 600 86400 0"}},

	// Reverse lookups of known addresses: nodes first, then services.
	{Qname: "1.0.0.10.in-addr.arpa.", Qtype: dns.TypePTR, Answer: []string{
		"1.0.0.10.in-addr.arpa. 0 IN PTR web-1.node.dc1.consul.",
	}},
	{Qname: "1.0.1.10.in-addr.arpa.", Qtype: dns.TypePTR, Answer: []string{
		"1.0.1.10.in-addr.arpa. 0 IN PTR api.service.dc1.consul.",
	}},
	{Qname: "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", Qtype: dns.TypePTR, Answer: []string{
		"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa. 0 IN PTR db-1.node.dc1.consul.",
	}},

	// Outside the domain, with no recursors: refused.
	{Qname: "9.9.9.9.in-addr.arpa.", Qtype: dns.TypePTR, Rcode: dns.RcodeRefused},
	{Qname: "example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeRefused},
	{Qname: "consul.example.org.", Qtype: dns.TypeA, Rcode: dns.RcodeRefused},
	{Qname: "xconsul.", Qtype: dns.TypeA, Rcode: dns.RcodeRefused},
}

func TestZone(t *testing.T) {
	f := newFixture(t)
	s, udp, tcp := serve(t, f.config())
	for _, zc := range zoneCases {
		t.Run(zc.Qname+"/"+dns.TypeToString[zc.Qtype], func(t *testing.T) {
			t.Run("memory", func(t *testing.T) {
				zc.check(t, f.node, ask(t, s, query(zc.Qname, zc.Qtype), false))
			})
			t.Run("udp", func(t *testing.T) {
				zc.check(t, f.node, exchange(t, udp, "udp", query(zc.Qname, zc.Qtype)))
			})
			t.Run("tcp", func(t *testing.T) {
				zc.check(t, f.node, exchange(t, tcp, "tcp", query(zc.Qname, zc.Qtype)))
			})
		})
	}
}

// TestZoneClusterLocal is seed 001's -domain=cluster.local.
func TestZoneClusterLocal(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	cfg.Domain, cfg.AltDomain = "cluster.local", ""
	s, udp, _ := serve(t, cfg)
	soa := "cluster.local. 0 IN SOA ns.cluster.local. hostmaster.cluster.local. 0 3600 600 86400 0"
	for _, zc := range []zoneCase{
		{Qname: "web.service.cluster.local.", Qtype: dns.TypeA, Answer: []string{
			"web.service.cluster.local. 0 IN A 10.0.0.1",
			"web.service.cluster.local. 0 IN A 10.0.0.2",
		}},
		{Qname: "rails.web.service.dc1.cluster.local.", Qtype: dns.TypeSRV,
			Answer: []string{"rails.web.service.dc1.cluster.local. 0 IN SRV 1 1 80 web-1.node.dc1.cluster.local."},
			Extra: []string{
				"web-1.node.dc1.cluster.local. 0 IN A 10.0.0.1",
				`web-1.node.dc1.cluster.local. 0 IN TXT "rack=r1"`,
			}},
		{Qname: "master.node.cluster.local.", Qtype: dns.TypeA,
			Answer: []string{"master.node.cluster.local. 0 IN A 192.168.1.15"},
			Extra:  []string{`master.node.cluster.local. 0 IN TXT "consul-network-segment="`}},
		{Qname: "nosuch.service.cluster.local.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []string{soa}},
		{Qname: "web.service.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeRefused},
		{Qname: "1.0.0.10.in-addr.arpa.", Qtype: dns.TypePTR, Answer: []string{
			"1.0.0.10.in-addr.arpa. 0 IN PTR web-1.node.dc1.cluster.local.",
		}},
	} {
		t.Run(zc.Qname+"/"+dns.TypeToString[zc.Qtype], func(t *testing.T) {
			zc.check(t, f.node, ask(t, s, query(zc.Qname, zc.Qtype), false))
			zc.check(t, f.node, exchange(t, udp, "udp", query(zc.Qname, zc.Qtype)))
		})
	}
}
