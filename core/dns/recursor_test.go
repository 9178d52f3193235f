package dns_test

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// upstream is a tiny DNS server on loopback (UDP and TCP on the same port)
// that answers every question with rcode and, for NOERROR, one A record.
type upstream struct {
	addr  string
	count atomic.Int64
}

func startUpstream(t testing.TB, rcode int, a string) *upstream {
	t.Helper()
	u := &upstream{}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		u.count.Add(1)
		m := new(dns.Msg)
		m.SetRcode(req, rcode)
		m.RecursionAvailable = true
		if rcode == dns.RcodeSuccess {
			rr, _ := dns.NewRR(req.Question[0].Name + " 60 IN A " + a)
			m.Answer = append(m.Answer, rr)
		}
		w.WriteMsg(m)
	})
	pc, l := listenPair(t)
	u.addr = pc.LocalAddr().String()
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: l, Handler: h}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go srv.ActivateAndServe()
		<-started
		t.Cleanup(func() { srv.Shutdown() })
	}
	return u
}

// deadAddr is a loopback UDP and TCP port nobody listens on.
func deadAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// silentAddr is a loopback UDP port that reads questions and never answers.
func silentAddr(t testing.TB) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

func TestRecursorFailover(t *testing.T) {
	f := newFixture(t)
	good := startUpstream(t, dns.RcodeSuccess, "192.0.2.7")
	nx := startUpstream(t, dns.RcodeNameError, "")
	broken := startUpstream(t, dns.RcodeServerFailure, "")
	dead := deadAddr(t)
	silent := silentAddr(t)

	answer := []string{"example.org. 60 IN A 192.0.2.7"}
	for _, tc := range []struct {
		name      string
		recursors []string
		want      zoneCase
	}{
		{"first answers", []string{good.addr, dead}, zoneCase{Answer: answer}},
		{"dead then good", []string{dead, good.addr}, zoneCase{Answer: answer}},
		{"silent then good", []string{silent, good.addr}, zoneCase{Answer: answer}},
		{"SERVFAIL then good", []string{broken.addr, good.addr}, zoneCase{Answer: answer}},
		{"NXDOMAIN is an answer", []string{nx.addr, good.addr}, zoneCase{Rcode: dns.RcodeNameError}},
		{"all dead", []string{dead, silent}, zoneCase{Rcode: dns.RcodeServerFailure}},
		{"all failing", []string{broken.addr, dead}, zoneCase{Rcode: dns.RcodeServerFailure}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := f.config()
			cfg.Recursors = tc.recursors
			cfg.RecursorTimeout = 200 * time.Millisecond
			s, udp, tcp := serve(t, cfg)
			for _, m := range []*dns.Msg{
				ask(t, s, query("example.org.", dns.TypeA), false),
				exchange(t, udp, "udp", query("example.org.", dns.TypeA)),
				exchange(t, tcp, "tcp", query("example.org.", dns.TypeA)),
			} {
				tc.want.check(t, f.node, m)
				if !m.RecursionAvailable {
					t.Errorf("RA not set")
				}
			}
			// The domain is still answered from the catalog.
			(zoneCase{Answer: []string{"rails.web.service.consul. 0 IN A 10.0.0.1"}}).
				check(t, f.node, exchange(t, udp, "udp", query("rails.web.service.consul.", dns.TypeA)))
		})
	}
}

func TestRecursorPTR(t *testing.T) {
	f := newFixture(t)
	up := startUpstream(t, dns.RcodeSuccess, "192.0.2.7")
	cfg := f.config()
	cfg.Recursors = []string{up.addr}
	s, _, _ := serve(t, cfg)
	// A known address is answered here; an unknown one goes upstream.
	(zoneCase{Answer: []string{"1.0.0.10.in-addr.arpa. 0 IN PTR web-1.node.dc1.consul."}}).
		check(t, f.node, ask(t, s, query("1.0.0.10.in-addr.arpa.", dns.TypePTR), false))
	if up.count.Load() != 0 {
		t.Errorf("known address went upstream")
	}
	m := ask(t, s, query("9.9.9.9.in-addr.arpa.", dns.TypePTR), false)
	if m.Rcode != dns.RcodeSuccess || up.count.Load() != 1 {
		t.Errorf("unknown address: rcode %s, %d upstream queries", dns.RcodeToString[m.Rcode], up.count.Load())
	}
}
