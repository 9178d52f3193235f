package dns_test

import (
	beacondns "github.com/beacon-sd/beacon/core/dns"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"

	"github.com/beacon-sd/beacon/core/testagent"
)

// zoneCase is one question and the reply expected, written as zone file
// lines. Sections are compared as sets (answers are shuffled); SOA serials
// are ignored; the OPT record is left out of Extra. "{agent}" stands for
// the test agent's node name.
type zoneCase struct {
	Qname string
	Qtype uint16
	Rcode int
	TC    bool

	Answer, Ns, Extra []string
}

// fixture is a test agent whose catalog holds the nodes and services the
// zone tests ask about.
type fixture struct {
	*testagent.Agent
	node string // the agent's own node name
}

// newFixture starts an agent and registers:
//
//	master  192.168.1.15  meta consul-network-segment=""
//	web-1   10.0.0.1      meta rack=r1  web  :80   [rails]   passing
//	web-2   10.0.0.2                    web  :80   [canary]  warning (weights 10/1)
//	web-3   10.0.0.3                    web  :8080           critical
//	web-4   10.0.0.4                    web  :80   node in maintenance
//	web-1                               api  :9000 at 10.1.0.1
//	db-1    fd00::1                     db   :5432
//	web-1                               ext  :443  at example.com
//	web-3                               down :1    critical only
//	twin-1  10.2.0.1                    twin :7000
//	twin-2  10.2.0.1                    twin :7000 (another node, same address:port)
func newFixture(t testing.TB) *fixture {
	t.Helper()
	a := testagent.Start(t)
	f := &fixture{Agent: a, node: a.Agent.Node().Node}
	f.register(t, "master", "192.168.1.15", map[string]string{"consul-network-segment": ""}, nil)
	f.register(t, "web-1", "10.0.0.1", map[string]string{"rack": "r1"},
		&api.AgentService{ID: "web", Service: "web", Tags: []string{"rails"}, Port: 80},
		&api.HealthCheck{CheckID: "web-ok", Name: "web", Status: api.HealthPassing, ServiceID: "web"})
	f.register(t, "web-2", "10.0.0.2", nil,
		&api.AgentService{ID: "web", Service: "web", Tags: []string{"canary"}, Port: 80,
			Weights: api.AgentWeights{Passing: 10, Warning: 1}},
		&api.HealthCheck{CheckID: "web-slow", Name: "web", Status: api.HealthWarning, ServiceID: "web"})
	f.register(t, "web-3", "10.0.0.3", nil,
		&api.AgentService{ID: "web", Service: "web", Port: 8080},
		&api.HealthCheck{CheckID: "web-down", Name: "web", Status: api.HealthCritical, ServiceID: "web"})
	f.register(t, "web-4", "10.0.0.4", nil,
		&api.AgentService{ID: "web", Service: "web", Port: 80},
		&api.HealthCheck{CheckID: "_node_maintenance", Name: "Node Maintenance Mode", Status: api.HealthCritical})
	f.register(t, "web-1", "10.0.0.1", map[string]string{"rack": "r1"},
		&api.AgentService{ID: "api", Service: "api", Port: 9000, Address: "10.1.0.1"})
	f.register(t, "db-1", "fd00::1", nil, &api.AgentService{ID: "db", Service: "db", Port: 5432})
	f.register(t, "web-1", "10.0.0.1", map[string]string{"rack": "r1"},
		&api.AgentService{ID: "ext", Service: "ext", Port: 443, Address: "example.com"})
	f.register(t, "web-3", "10.0.0.3", nil,
		&api.AgentService{ID: "down", Service: "down", Port: 1},
		&api.HealthCheck{CheckID: "down", Name: "down", Status: api.HealthCritical, ServiceID: "down"})
	f.register(t, "twin-1", "10.2.0.1", nil, &api.AgentService{ID: "twin", Service: "twin", Port: 7000})
	f.register(t, "twin-2", "10.2.0.1", nil, &api.AgentService{ID: "twin", Service: "twin", Port: 7000})
	return f
}

func (f *fixture) register(t testing.TB, node, addr string, meta map[string]string, svc *api.AgentService, checks ...*api.HealthCheck) {
	t.Helper()
	for _, c := range checks {
		c.Node = node
	}
	reg := &api.CatalogRegistration{Node: node, Address: addr, NodeMeta: meta, Service: svc, Checks: checks}
	if _, err := f.Client.Catalog().Register(reg, nil); err != nil {
		t.Fatalf("register %s: %v", node, err)
	}
}

// config is the DNS config the zone tests use.
func (f *fixture) config() beacondns.Config {
	return beacondns.Config{
		Backend: f.Agent.Agent.Backend(), Datacenter: "dc1", NodeName: f.node,
		Domain: "consul.", AltDomain: "alt.example.", NodeMetaTXT: true,
	}
}

// serve starts a server for cfg on a free loopback port, UDP and TCP on
// the same port number as an agent has them, and returns both addresses.
func serve(t testing.TB, cfg beacondns.Config) (s *beacondns.Server, udp, tcp string) {
	t.Helper()
	s, err := beacondns.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pc, l := listenPair(t)
	s.Serve(pc, l)
	t.Cleanup(s.Shutdown)
	return s, pc.LocalAddr().String(), l.Addr().String()
}

// listenPair opens UDP and TCP sockets on one free loopback port.
func listenPair(t testing.TB) (net.PacketConn, net.Listener) {
	t.Helper()
	for try := 0; try < 20; try++ {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l
		}
		pc.Close()
	}
	t.Fatal("no free port for both UDP and TCP")
	return nil, nil
}

// recorder is an in-memory ResponseWriter; what is written goes through
// the wire format, as it would on a socket.
type recorder struct {
	tcp bool
	msg *dns.Msg
	err error
}

func (r *recorder) LocalAddr() net.Addr {
	if r.tcp {
		return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8600}
	}
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8600}
}

func (r *recorder) RemoteAddr() net.Addr {
	if r.tcp {
		return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	}
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}

func (r *recorder) WriteMsg(m *dns.Msg) error {
	b, err := m.Pack()
	if err != nil {
		r.err = err
		return err
	}
	_, err = r.Write(b)
	return err
}

func (r *recorder) Write(b []byte) (int, error) {
	r.msg = new(dns.Msg)
	if err := r.msg.Unpack(b); err != nil {
		r.err = err
		return 0, err
	}
	return len(b), nil
}

func (r *recorder) Close() error        { return nil }
func (r *recorder) TsigStatus() error   { return nil }
func (r *recorder) TsigTimersOnly(bool) {}
func (r *recorder) Hijack()             {}
func (r *recorder) Network() string {
	if r.tcp {
		return "tcp"
	}
	return "udp"
}

// ask sends req to the handler in memory.
func ask(t testing.TB, s *beacondns.Server, req *dns.Msg, tcp bool) *dns.Msg {
	t.Helper()
	rec := &recorder{tcp: tcp}
	s.ServeDNS(rec, req)
	if rec.err != nil {
		t.Fatalf("%s: write: %v", req.Question[0].Name, rec.err)
	}
	if rec.msg == nil {
		t.Fatalf("%s: no reply", req.Question[0].Name)
	}
	return rec.msg
}

// exchange sends req to a server over net.
func exchange(t testing.TB, addr, network string, req *dns.Msg) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	in, _, err := c.Exchange(req, addr)
	if err != nil {
		t.Fatalf("%s over %s: %v", req.Question[0].Name, network, err)
	}
	return in
}

// check compares a reply with a case.
func (zc zoneCase) check(t testing.TB, agentNode string, got *dns.Msg) {
	t.Helper()
	if got.Rcode != zc.Rcode {
		t.Errorf("rcode %s, want %s\n%v", dns.RcodeToString[got.Rcode], dns.RcodeToString[zc.Rcode], got)
	}
	if got.Truncated != zc.TC {
		t.Errorf("TC %v, want %v", got.Truncated, zc.TC)
	}
	expand := func(s []string) []string {
		out := make([]string, len(s))
		for i, x := range s {
			out[i] = strings.ReplaceAll(x, "{agent}", agentNode)
		}
		return out
	}
	compareSection(t, "answer", got.Answer, expand(zc.Answer))
	compareSection(t, "authority", got.Ns, expand(zc.Ns))
	compareSection(t, "additional", got.Extra, expand(zc.Extra))
}

func compareSection(t testing.TB, section string, got []dns.RR, want []string) {
	t.Helper()
	var g, w []string
	for _, rr := range got {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		g = append(g, canonical(rr))
	}
	for _, s := range want {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatalf("bad expected record %q: %v", s, err)
		}
		w = append(w, canonical(rr))
	}
	sort.Strings(g)
	sort.Strings(w)
	if strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Errorf("%s section:\ngot:\n\t%s\nwant:\n\t%s", section, strings.Join(g, "\n\t"), strings.Join(w, "\n\t"))
	}
}

// canonical is a record as one line with single spaces and an SOA serial
// of 0.
func canonical(rr dns.RR) string {
	if soa, ok := rr.(*dns.SOA); ok {
		c := *soa
		c.Serial = 0
		rr = &c
	}
	return strings.Join(strings.Fields(rr.String()), " ")
}

func query(name string, qtype uint16) *dns.Msg {
	return new(dns.Msg).SetQuestion(name, qtype)
}
