package dns_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"

	"github.com/beacon-sd/beacon/core/testagent"
)

// createQueries stores the prepared queries the query tests ask about and
// returns the ID of "web-q".
//
//	web-q         web, DNS TTL 10s           web-1 (passing), web-2 (warning)
//	web-passing   web, OnlyPassing           web-1
//	web-stable    web, tags !canary          web-1
//	web-all       web, ignores web-down      web-1, web-2, web-3 (critical: weight 0)
//	near-web-2    web, Near web-2            web-2 first, always
//	geo-          template, Regexp ^geo-(.+)$, Service ${match(1)}
//	(catch-all)   template "", Service ${name.full}
//	redis-q       redis, fails over to dc2   nothing here
func createQueries(t testing.TB, f *fixture) string {
	t.Helper()
	pq := f.Client.PreparedQuery()
	var webQ string
	for _, def := range []*api.PreparedQueryDefinition{
		{Name: "web-q", Service: api.ServiceQuery{Service: "web"}, DNS: api.QueryDNSOptions{TTL: "10s"}},
		{Name: "web-passing", Service: api.ServiceQuery{Service: "web", OnlyPassing: true}},
		{Name: "web-stable", Service: api.ServiceQuery{Service: "web", Tags: []string{"!canary"}}},
		{Name: "web-all", Service: api.ServiceQuery{Service: "web", IgnoreCheckIDs: []string{"web-down"}}},
		{Name: "near-web-2", Service: api.ServiceQuery{Service: "web", Near: "web-2"}},
		{Name: "geo-", Template: api.QueryTemplate{Type: "name_prefix_match", Regexp: "^geo-(.+)$"},
			Service: api.ServiceQuery{Service: "${match(1)}"}},
		{Name: "", Template: api.QueryTemplate{Type: "name_prefix_match"}, Service: api.ServiceQuery{Service: "${name.full}"}},
		{Name: "redis-q", Service: api.ServiceQuery{Service: "redis",
			Failover: api.QueryFailoverOptions{NearestN: 2, Datacenters: []string{"dc2"}}}},
	} {
		id, _, err := pq.Create(def, nil)
		if err != nil {
			t.Fatalf("create %q: %v", def.Name, err)
		}
		if def.Name == "web-q" {
			webQ = id
		}
	}
	return webQ
}

// TestPreparedQueryZone answers <query>.query.<domain> questions from the
// queries' results, with their DNS TTL.
func TestPreparedQueryZone(t *testing.T) {
	f := newFixture(t)
	id := createQueries(t, f)
	s, udp, tcp := serve(t, f.config())
	web := func(name string, ttl string) []string {
		return []string{name + " " + ttl + " IN A 10.0.0.1", name + " " + ttl + " IN A 10.0.0.2"}
	}
	for _, zc := range []zoneCase{
		{Qname: "web-q.query.consul.", Qtype: dns.TypeA, Answer: web("web-q.query.consul.", "10")},
		{Qname: "web-q.query.dc1.consul.", Qtype: dns.TypeA, Answer: web("web-q.query.dc1.consul.", "10")},
		{Qname: "WEB-Q.Query.Consul.", Qtype: dns.TypeA, Answer: web("WEB-Q.Query.Consul.", "10")},
		{Qname: id + ".query.consul.", Qtype: dns.TypeA, Answer: web(id+".query.consul.", "10")},
		{Qname: "web-q.query.alt.example.", Qtype: dns.TypeA, Answer: web("web-q.query.alt.example.", "10")},
		{Qname: "web-q.query.consul.", Qtype: dns.TypeSRV,
			Answer: []string{
				"web-q.query.consul. 10 IN SRV 1 1 80 web-1.node.dc1.consul.",
				"web-q.query.consul. 10 IN SRV 1 1 80 web-2.node.dc1.consul.",
			},
			Extra: []string{
				"web-1.node.dc1.consul. 10 IN A 10.0.0.1",
				`web-1.node.dc1.consul. 10 IN TXT "rack=r1"`,
				"web-2.node.dc1.consul. 10 IN A 10.0.0.2",
			}},
		{Qname: "_web-q._tcp.query.consul.", Qtype: dns.TypeSRV,
			Answer: []string{
				"_web-q._tcp.query.consul. 10 IN SRV 1 1 80 web-1.node.dc1.consul.",
				"_web-q._tcp.query.consul. 10 IN SRV 1 1 80 web-2.node.dc1.consul.",
			},
			Extra: []string{
				"web-1.node.dc1.consul. 10 IN A 10.0.0.1",
				`web-1.node.dc1.consul. 10 IN TXT "rack=r1"`,
				"web-2.node.dc1.consul. 10 IN A 10.0.0.2",
			}},
		{Qname: "web-passing.query.consul.", Qtype: dns.TypeA, Answer: []string{"web-passing.query.consul. 0 IN A 10.0.0.1"}},
		{Qname: "web-stable.query.consul.", Qtype: dns.TypeA, Answer: []string{"web-stable.query.consul. 0 IN A 10.0.0.1"}},
		// The critical instance the query ignores the check of is
		// answered, with weight 0.
		{Qname: "web-all.query.consul.", Qtype: dns.TypeSRV,
			Answer: []string{
				"web-all.query.consul. 0 IN SRV 1 1 80 web-1.node.dc1.consul.",
				"web-all.query.consul. 0 IN SRV 1 1 80 web-2.node.dc1.consul.",
				"web-all.query.consul. 0 IN SRV 1 0 8080 web-3.node.dc1.consul.",
			},
			Extra: []string{
				"web-1.node.dc1.consul. 0 IN A 10.0.0.1",
				`web-1.node.dc1.consul. 0 IN TXT "rack=r1"`,
				"web-2.node.dc1.consul. 0 IN A 10.0.0.2",
				"web-3.node.dc1.consul. 0 IN A 10.0.0.3",
			}},
		// Templates: the longest prefix, then the catch-all.
		{Qname: "geo-web.query.consul.", Qtype: dns.TypeA, Answer: web("geo-web.query.consul.", "0")},
		{Qname: "db.query.consul.", Qtype: dns.TypeAAAA, Answer: []string{"db.query.consul. 0 IN AAAA fd00::1"}},
		{Qname: "twin.query.consul.", Qtype: dns.TypeSRV,
			Answer: []string{
				"twin.query.consul. 0 IN SRV 1 1 7000 twin-1.node.dc1.consul.",
				"twin.query.consul. 0 IN SRV 1 1 7000 twin-2.node.dc1.consul.",
			},
			Extra: []string{"twin-1.node.dc1.consul. 0 IN A 10.2.0.1", "twin-2.node.dc1.consul. 0 IN A 10.2.0.1"}},
		// Nothing healthy here, and no other datacenter to fail over to.
		{Qname: "redis-q.query.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []string{soaConsul}},
		{Qname: "nosuch.query.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []string{soaConsul}},
		{Qname: "query.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []string{soaConsul}},
		{Qname: "web-q.query.dc2.consul.", Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
	} {
		t.Run(zc.Qname+"/"+dns.TypeToString[zc.Qtype], func(t *testing.T) {
			zc.check(t, f.node, ask(t, s, query(zc.Qname, zc.Qtype), false))
			zc.check(t, f.node, exchange(t, udp, "udp", query(zc.Qname, zc.Qtype)))
			zc.check(t, f.node, exchange(t, tcp, "tcp", query(zc.Qname, zc.Qtype)))
		})
	}
}

// TestPreparedQueryNearFirst: the node a query is near is the first
// answer every time, though the others are shuffled.
func TestPreparedQueryNearFirst(t *testing.T) {
	f := newFixture(t)
	createQueries(t, f)
	s, _, _ := serve(t, f.config())
	for i := 0; i < 20; i++ {
		for _, qt := range []uint16{dns.TypeA, dns.TypeSRV} {
			m := ask(t, s, query("near-web-2.query.consul.", qt), false)
			if len(m.Answer) != 2 {
				t.Fatalf("near-web-2 %s: %v", dns.TypeToString[qt], m)
			}
			switch rr := m.Answer[0].(type) {
			case *dns.A:
				if rr.A.String() != "10.0.0.2" {
					t.Fatalf("first A answer %v, want web-2's", rr)
				}
			case *dns.SRV:
				if rr.Target != "web-2.node.dc1.consul." {
					t.Fatalf("first SRV answer %v, want web-2", rr)
				}
			}
		}
	}
}

// TestPreparedQueryDig asks the real dig for a query's A and SRV records.
func TestPreparedQueryDig(t *testing.T) {
	if _, err := exec.LookPath("dig"); err != nil {
		t.Skip("dig is not installed (Debian: apt-get install dnsutils; .ci/deps does it)")
	}
	f := newFixture(t)
	createQueries(t, f)
	_, udp, _ := serve(t, f.config())
	for _, tc := range []struct {
		args          []string
		status        string
		answer, extra []string
	}{
		{args: []string{"web-q.query.consul"}, status: "NOERROR", answer: []string{
			"web-q.query.consul. 10 IN A 10.0.0.1",
			"web-q.query.consul. 10 IN A 10.0.0.2",
		}},
		{args: []string{"web-q.query.consul", "SRV"}, status: "NOERROR",
			answer: []string{
				"web-q.query.consul. 10 IN SRV 1 1 80 web-1.node.dc1.consul.",
				"web-q.query.consul. 10 IN SRV 1 1 80 web-2.node.dc1.consul.",
			},
			extra: []string{
				"web-1.node.dc1.consul. 10 IN A 10.0.0.1",
				`web-1.node.dc1.consul. 10 IN TXT "rack=r1"`,
				"web-2.node.dc1.consul. 10 IN A 10.0.0.2",
			}},
		{args: []string{"geo-web.query.dc1.consul"}, status: "NOERROR", answer: []string{
			"geo-web.query.dc1.consul. 0 IN A 10.0.0.1",
			"geo-web.query.dc1.consul. 0 IN A 10.0.0.2",
		}},
		{args: []string{"redis-q.query.consul"}, status: "NXDOMAIN"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := dig(t, udp, tc.args...)
			if r.status != tc.status {
				t.Errorf("status %q, want %q", r.status, tc.status)
			}
			compareSection(t, "answer", r.sections["ANSWER"], tc.answer)
			compareSection(t, "additional", r.sections["ADDITIONAL"], tc.extra)
		})
	}
}

// BenchmarkQueryHandler measures a question about a prepared query in
// memory, next to one about the service it selects: each query question
// executes the query on the server (a static query, and a template
// compiled and rendered for the name).
func BenchmarkQueryHandler(b *testing.B) {
	a := testagent.Start(b)
	f := &fixture{Agent: a, node: a.Agent.Node().Node}
	for i := 0; i < 3; i++ {
		f.register(b, fmt.Sprintf("benchdns-node-%d", i), fmt.Sprintf("127.2.0.%d", i+1), nil,
			&api.AgentService{ID: fmt.Sprintf("benchdns-%d", i), Service: "benchdns", Port: 21000 + i})
	}
	for _, def := range []*api.PreparedQueryDefinition{
		{Name: "benchq", Service: api.ServiceQuery{Service: "benchdns"}},
		{Name: "bench-", Template: api.QueryTemplate{Type: "name_prefix_match", Regexp: "^bench-(.+)$"},
			Service: api.ServiceQuery{Service: "${match(1)}"}},
	} {
		if _, _, err := a.Client.PreparedQuery().Create(def, nil); err != nil {
			b.Fatal(err)
		}
	}
	s, _, _ := serve(b, f.config())
	for _, name := range []string{"benchdns.service.consul.", "benchq.query.consul.", "bench-benchdns.query.consul."} {
		for _, qt := range []uint16{dns.TypeA, dns.TypeSRV} {
			b.Run(strings.TrimSuffix(name, ".consul.")+"/"+dns.TypeToString[qt], func(b *testing.B) {
				req := query(name, qt)
				w := &discard{}
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					s.ServeDNS(w, req)
				}
			})
		}
	}
}
