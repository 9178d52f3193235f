package dns_test

import (
	"fmt"
	beacondns "github.com/beacon-sd/beacon/core/dns"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"
)

// registerMany registers n instances of svc, one per node, at
// 10.2.<i/250>.<i%250+1>, or at fd00::<i+1> when v6.
func (f *fixture) registerMany(t testing.TB, svc string, n int, v6 bool) {
	t.Helper()
	for i := 0; i < n; i++ {
		addr := fmt.Sprintf("10.2.%d.%d", i/250, i%250+1)
		if v6 {
			addr = fmt.Sprintf("fd00::%x", i+1)
		}
		f.register(t, fmt.Sprintf("%s-node-%d", svc, i), addr, nil,
			&api.AgentService{ID: svc, Service: svc, Port: 1000 + i})
	}
}

func TestUDPAnswerLimit(t *testing.T) {
	f := newFixture(t)
	f.registerMany(t, "big", 6, false)
	cfg := f.config()
	s, udp, tcp := serve(t, cfg)
	cfg.EnableTruncate = true
	st, udpT, _ := serve(t, cfg)

	for _, qt := range []uint16{dns.TypeA, dns.TypeSRV} {
		name := dns.TypeToString[qt]
		// No EDNS, UDP: cut to the default limit of 3, TC only with
		// EnableTruncate.
		for _, tc := range []struct {
			label string
			srv   *beacondns.Server
			addr  string
			trunc bool
		}{{"plain", s, udp, false}, {"enable_truncate", st, udpT, true}} {
			for _, m := range []*dns.Msg{ask(t, tc.srv, query("big.service.consul.", qt), false), exchange(t, tc.addr, "udp", query("big.service.consul.", qt))} {
				if len(m.Answer) != 3 || m.Truncated != tc.trunc {
					t.Errorf("%s %s: %d answers TC=%v, want 3 TC=%v", name, tc.label, len(m.Answer), m.Truncated, tc.trunc)
				}
				if qt == dns.TypeSRV {
					checkGlue(t, m)
				}
			}
		}
		// TCP and EDNS queries get them all.
		if m := exchange(t, tcp, "tcp", query("big.service.consul.", qt)); len(m.Answer) != 6 || m.Truncated {
			t.Errorf("%s tcp: %d answers TC=%v", name, len(m.Answer), m.Truncated)
		}
		q := query("big.service.consul.", qt)
		q.SetEdns0(1232, false)
		m := exchange(t, udp, "udp", q)
		if len(m.Answer) != 6 || m.Truncated {
			t.Errorf("%s edns: %d answers TC=%v", name, len(m.Answer), m.Truncated)
		}
		if opt := m.IsEdns0(); opt == nil || opt.UDPSize() != 1232 {
			t.Errorf("%s edns: reply OPT %v", name, opt)
		}
	}
}

// checkGlue checks that the additional section has an address record for
// each SRV target and nothing else.
func checkGlue(t testing.TB, m *dns.Msg) {
	t.Helper()
	targets := map[string]bool{}
	for _, rr := range m.Answer {
		targets[rr.(*dns.SRV).Target] = true
	}
	n := 0
	for _, rr := range m.Extra {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		n++
		if !targets[rr.Header().Name] {
			t.Errorf("additional record %v has no SRV answer", rr)
		}
	}
	if n != len(targets) {
		t.Errorf("%d additional records for %d targets", n, len(targets))
	}
}

// TestTruncateToSize checks that a reply too big for the client's buffer
// is cut with TC set, and that TCP gets the whole of it.
func TestTruncateToSize(t *testing.T) {
	f := newFixture(t)
	f.registerMany(t, "huge", 120, true)
	cfg := f.config()
	cfg.UDPAnswerLimit = -1
	s, udp, tcp := serve(t, cfg)
	for _, qt := range []uint16{dns.TypeAAAA, dns.TypeSRV} {
		for _, size := range []uint16{0, 1232, 4096} {
			q := query("huge.service.consul.", qt)
			limit := dns.MinMsgSize
			if size > 0 {
				q.SetEdns0(size, false)
				limit = int(size)
			}
			for _, m := range []*dns.Msg{ask(t, s, q.Copy(), false), exchange(t, udp, "udp", q.Copy())} {
				m.Compress = true // as it was sent
				b, _ := m.Pack()
				whole := len(m.Answer) == 120
				if len(b) > limit || m.Truncated == whole || (size < 4096 && whole) {
					t.Errorf("%s size %d: TC=%v answers=%d bytes=%d", dns.TypeToString[qt], size, m.Truncated, len(m.Answer), len(b))
				}
				if qt == dns.TypeSRV {
					checkGlue(t, m)
				}
			}
		}
		m := exchange(t, tcp, "tcp", query("huge.service.consul.", qt))
		if m.Truncated || len(m.Answer) != 120 {
			t.Errorf("%s tcp: TC=%v answers=%d", dns.TypeToString[qt], m.Truncated, len(m.Answer))
		}
	}
}

func TestShuffled(t *testing.T) {
	f := newFixture(t)
	f.registerMany(t, "big", 6, false)
	s, _ := beacondns.New(f.config())
	defer s.Shutdown()
	firsts := map[string]bool{}
	for i := 0; i < 50; i++ {
		m := ask(t, s, query("big.service.consul.", dns.TypeA), true)
		firsts[m.Answer[0].(*dns.A).A.String()] = true
	}
	if len(firsts) < 3 {
		t.Errorf("50 answers began with only %v", firsts)
	}
}

func TestEDNS(t *testing.T) {
	f := newFixture(t)
	s, _ := beacondns.New(f.config())
	defer s.Shutdown()

	q := query("web.service.consul.", dns.TypeA)
	q.SetEdns0(4096, false)
	o := q.IsEdns0()
	o.Option = append(o.Option, &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: net.IPv4(192, 0, 2, 0)})
	m := ask(t, s, q, false)
	opt := m.IsEdns0()
	if opt == nil || opt.UDPSize() != 4096 || opt.Version() != 0 {
		t.Fatalf("OPT %v", opt)
	}
	if len(opt.Option) != 1 || opt.Option[0].(*dns.EDNS0_SUBNET).SourceScope != 0 {
		t.Errorf("client subnet not echoed with scope 0: %v", opt.Option)
	}

	q = query("web.service.consul.", dns.TypeA)
	q.SetEdns0(1232, false)
	q.IsEdns0().SetVersion(1)
	if m := ask(t, s, q, false); m.Rcode != dns.RcodeBadVers || len(m.Answer) != 0 {
		t.Errorf("EDNS version 1: rcode %s", dns.RcodeToString[m.Rcode])
	}
}

func TestTTLs(t *testing.T) {
	f := newFixture(t)
	f.register(t, "web-1", "10.0.0.1", map[string]string{"rack": "r1"},
		&api.AgentService{ID: "admin", Service: "admin", Port: 1})
	cfg := f.config()
	cfg.NodeTTL = 10 * time.Second
	cfg.ServiceTTL = map[string]time.Duration{"Web": 30 * time.Second, "a*": 7 * time.Second, "ad*": 8 * time.Second, "*": 5 * time.Second}
	s, _ := beacondns.New(cfg)
	defer s.Shutdown()
	for _, zc := range []zoneCase{
		{Qname: "master.node.consul.", Qtype: dns.TypeA,
			Answer: []string{"master.node.consul. 10 IN A 192.168.1.15"},
			Extra:  []string{`master.node.consul. 10 IN TXT "consul-network-segment="`}},
		{Qname: "0a010001.addr.dc1.consul.", Qtype: dns.TypeA, Answer: []string{"0a010001.addr.dc1.consul. 10 IN A 10.1.0.1"}},
		{Qname: "rails.web.service.consul.", Qtype: dns.TypeA, Answer: []string{"rails.web.service.consul. 30 IN A 10.0.0.1"}},
		{Qname: "rails.web.service.consul.", Qtype: dns.TypeSRV,
			Answer: []string{"rails.web.service.consul. 30 IN SRV 1 1 80 web-1.node.dc1.consul."},
			Extra:  []string{"web-1.node.dc1.consul. 30 IN A 10.0.0.1", `web-1.node.dc1.consul. 30 IN TXT "rack=r1"`}},
		{Qname: "api.service.consul.", Qtype: dns.TypeA, Answer: []string{"api.service.consul. 7 IN A 10.1.0.1"}},
		{Qname: "admin.service.consul.", Qtype: dns.TypeA, Answer: []string{"admin.service.consul. 8 IN A 10.0.0.1"}},
		{Qname: "db.service.consul.", Qtype: dns.TypeAAAA, Answer: []string{"db.service.consul. 5 IN AAAA fd00::1"}},
	} {
		zc.check(t, f.node, ask(t, s, query(zc.Qname, zc.Qtype), false))
	}
}

func TestOnlyPassingAndWeights(t *testing.T) {
	f := newFixture(t)
	f.register(t, "web-5", "10.0.0.5", nil,
		&api.AgentService{ID: "web", Service: "web", Port: 80, Weights: api.AgentWeights{Passing: 10, Warning: 1}},
		&api.HealthCheck{CheckID: "web-ok", Name: "web", Status: api.HealthPassing, ServiceID: "web"})
	cfg := f.config()
	cfg.NodeMetaTXT = false
	s, _ := beacondns.New(cfg)
	defer s.Shutdown()
	(zoneCase{Qname: "web.service.consul.", Qtype: dns.TypeSRV,
		Answer: []string{
			"web.service.consul. 0 IN SRV 1 1 80 web-1.node.dc1.consul.",
			"web.service.consul. 0 IN SRV 1 1 80 web-2.node.dc1.consul.", // warning: weight 1
			"web.service.consul. 0 IN SRV 1 10 80 web-5.node.dc1.consul.",
		},
		Extra: []string{
			"web-1.node.dc1.consul. 0 IN A 10.0.0.1",
			"web-2.node.dc1.consul. 0 IN A 10.0.0.2",
			"web-5.node.dc1.consul. 0 IN A 10.0.0.5",
		}}).check(t, f.node, ask(t, s, query("web.service.consul.", dns.TypeSRV), false))
	(zoneCase{Qname: "master.node.consul.", Qtype: dns.TypeA,
		Answer: []string{"master.node.consul. 0 IN A 192.168.1.15"},
	}).check(t, f.node, ask(t, s, query("master.node.consul.", dns.TypeA), false))

	cfg.OnlyPassing = true
	sp, _ := beacondns.New(cfg)
	defer sp.Shutdown()
	(zoneCase{Qname: "web.service.consul.", Qtype: dns.TypeA, Answer: []string{
		"web.service.consul. 0 IN A 10.0.0.1",
		"web.service.consul. 0 IN A 10.0.0.5",
	}}).check(t, f.node, ask(t, sp, query("web.service.consul.", dns.TypeA), false))
}

func TestNodeMetaEncoding(t *testing.T) {
	f := newFixture(t)
	f.register(t, "meta", "10.9.0.1", map[string]string{"rfc1035-spf": "v=spf1 -all", "a=b": "c", "z": ""}, nil)
	s, _ := beacondns.New(f.config())
	defer s.Shutdown()
	(zoneCase{Qname: "meta.node.consul.", Qtype: dns.TypeTXT, Answer: []string{
		"meta.node.consul. 0 IN TXT \"a`=b=c\"",
		`meta.node.consul. 0 IN TXT "v=spf1 -all"`,
		`meta.node.consul. 0 IN TXT "z="`,
	}}).check(t, f.node, ask(t, s, query("meta.node.consul.", dns.TypeTXT), false))
}

// TestFollowsCatalog checks that answers follow the catalog: an instance
// registered, taken into maintenance through the agent, and back.
func TestFollowsCatalog(t *testing.T) {
	f := newFixture(t)
	_, udp, _ := serve(t, f.config())
	svc := &api.AgentServiceRegistration{ID: "web-local", Name: "web", Port: 8080}
	want := func(addrs ...string) {
		t.Helper()
		var got []string
		deadline := time.Now().Add(5 * time.Second)
		for {
			m := exchange(t, udp, "udp", query("web.service.consul.", dns.TypeA))
			got = got[:0]
			for _, rr := range m.Answer {
				got = append(got, rr.(*dns.A).A.String())
			}
			if sameSet(got, addrs) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("answers %v, want %v", got, addrs)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	want("10.0.0.1", "10.0.0.2") // the view of web now exists
	if err := f.Client.Agent().ServiceRegister(svc); err != nil {
		t.Fatal(err)
	}
	want("10.0.0.1", "10.0.0.2", "127.0.0.1")
	if err := f.Client.Agent().EnableServiceMaintenance("web-local", "deploy"); err != nil {
		t.Fatal(err)
	}
	want("10.0.0.1", "10.0.0.2")
	if err := f.Client.Agent().DisableServiceMaintenance("web-local"); err != nil {
		t.Fatal(err)
	}
	want("10.0.0.1", "10.0.0.2", "127.0.0.1")
	if err := f.Client.Agent().EnableNodeMaintenance("deploy"); err != nil {
		t.Fatal(err)
	}
	want("10.0.0.1", "10.0.0.2")
	if err := f.Client.Agent().DisableNodeMaintenance(); err != nil {
		t.Fatal(err)
	}
	want("10.0.0.1", "10.0.0.2", "127.0.0.1")
	if _, err := f.Client.Catalog().Deregister(&api.CatalogDeregistration{Node: "web-2", ServiceID: "web"}, nil); err != nil {
		t.Fatal(err)
	}
	want("10.0.0.1", "127.0.0.1")
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		if m[x] == 0 {
			return false
		}
		m[x]--
	}
	return true
}

// TestUnpackableNames checks that catalog names that are no DNS names (an
// empty label, a label over 63 bytes) get SERVFAIL where they would appear,
// and do not stop other answers.
func TestUnpackableNames(t *testing.T) {
	f := newFixture(t)
	long := strings.Repeat("n", 70)
	f.register(t, "bad..node", "10.7.0.1", nil, &api.AgentService{ID: "odd", Service: "odd", Port: 1})
	f.register(t, long, "10.7.0.2", nil, &api.AgentService{ID: "long", Service: "long", Port: 1})
	_, udp, _ := serve(t, f.config())
	for _, tc := range []struct {
		name  string
		qtype uint16
		rcode int
	}{
		{"odd.service.consul.", dns.TypeSRV, dns.RcodeServerFailure},
		{"odd.service.consul.", dns.TypeA, dns.RcodeSuccess},
		{"long.service.consul.", dns.TypeSRV, dns.RcodeServerFailure},
		{"long.service.consul.", dns.TypeA, dns.RcodeSuccess},
		{"rails.web.service.consul.", dns.TypeSRV, dns.RcodeSuccess},
	} {
		if m := exchange(t, udp, "udp", query(tc.name, tc.qtype)); m.Rcode != tc.rcode {
			t.Errorf("%s %s: %s, want %s", tc.name, dns.TypeToString[tc.qtype], dns.RcodeToString[m.Rcode], dns.RcodeToString[tc.rcode])
		}
	}
}
