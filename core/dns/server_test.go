package dns_test

import (
	beacondns "github.com/beacon-sd/beacon/core/dns"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestNewChecksConfig(t *testing.T) {
	f := newFixture(t)
	for name, mutate := range map[string]func(*beacondns.Config){
		"no backend":       func(c *beacondns.Config) { c.Backend = nil },
		"no datacenter":    func(c *beacondns.Config) { c.Datacenter = "" },
		"bad domain":       func(c *beacondns.Config) { c.Domain = "a..b" },
		"root domain":      func(c *beacondns.Config) { c.Domain = "." },
		"bad recursor":     func(c *beacondns.Config) { c.Recursors = []string{"1.1.1.1:"} },
		"negative service": func(c *beacondns.Config) { c.ServiceTTL = map[string]time.Duration{"*": -time.Second} },
	} {
		cfg := f.config()
		mutate(&cfg)
		if _, err := beacondns.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	cfg := f.config()
	cfg.Domain, cfg.AltDomain = "", "Consul"
	s, err := beacondns.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Shutdown()
}

func TestServeAndShutdown(t *testing.T) {
	f := newFixture(t)

	// UDP only, then TCP only.
	s, err := beacondns.New(f.config())
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Serve(pc, nil)
	exchange(t, pc.LocalAddr().String(), "udp", query("master.node.consul.", dns.TypeA))
	s.Shutdown()
	s.Shutdown() // twice is fine
	if _, err := pc.WriteTo([]byte{0}, pc.LocalAddr()); err == nil {
		t.Errorf("UDP socket still open after Shutdown")
	}

	s, _ = beacondns.New(f.config())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Serve(nil, l)
	exchange(t, l.Addr().String(), "tcp", query("master.node.consul.", dns.TypeA))
	s.Shutdown()
	if c, err := net.DialTimeout("tcp", l.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Errorf("TCP listener still open after Shutdown")
	}

	// Serve after Shutdown closes what it is given.
	pc2, _ := net.ListenPacket("udp", "127.0.0.1:0")
	s.Serve(pc2, nil)
	if _, err := pc2.WriteTo([]byte{0}, pc2.LocalAddr()); err == nil {
		t.Errorf("Serve after Shutdown left the socket open")
	}
}
