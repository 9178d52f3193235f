package daemon

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/beacon-sd/beacon/core/agent"
	"github.com/beacon-sd/beacon/core/dns"
)

// listenDNS serves DNS over UDP and TCP on every client address, on
// ports.dns (-1 turns it off).
func (d *Daemon) listenDNS(backend agent.Backend) error {
	cfg := d.Config()
	if cfg.Ports.DNS < 0 {
		return nil
	}
	dc := cfg.DNSConfig
	ttls := map[string]time.Duration{}
	for k, v := range dc.ServiceTTL {
		ttls[k] = v.D()
	}
	srv, err := dns.New(dns.Config{
		Backend: backend, Datacenter: cfg.Datacenter, NodeName: d.node.Node,
		Domain: cfg.Domain, AltDomain: cfg.AltDomain, Recursors: cfg.Recursors,
		RecursorTimeout: dc.RecursorTimeout.D(), NodeTTL: dc.NodeTTL.D(), ServiceTTL: ttls,
		AllowStale: dc.AllowStale == nil || *dc.AllowStale, MaxStale: dc.MaxStale.D(),
		OnlyPassing: dc.OnlyPassing, UDPAnswerLimit: dc.UDPAnswerLimit, EnableTruncate: dc.EnableTruncate,
		ARecordLimit: dc.ARecordLimit, DisableCompression: dc.DisableCompression,
		NodeMetaTXT: dc.NodeMetaTXT == nil || *dc.NodeMetaTXT, Token: d.Agent.Tokens().UserToken, Logger: d.Logger,
	})
	if err != nil {
		return err
	}
	d.dns = srv
	addrs := strings.Fields(cfg.ClientAddr)
	if cfg.Addresses.DNS != "" {
		addrs = strings.Fields(cfg.Addresses.DNS)
	}
	for _, a := range addrs {
		if strings.HasPrefix(a, "unix://") {
			continue // DNS does not listen on unix sockets
		}
		pc, l, err := listenBoth(a, cfg.Ports.DNS)
		if err != nil {
			return fmt.Errorf("DNS: %w", err)
		}
		d.mu.Lock()
		d.dnsAddrs = append(d.dnsAddrs, pc.LocalAddr())
		d.mu.Unlock()
		srv.Serve(pc, l)
	}
	return nil
}

// listenBoth opens UDP and TCP on the same port; port 0 picks one free for
// both.
func listenBoth(host string, port int) (net.PacketConn, net.Listener, error) {
	for attempt := 0; ; attempt++ {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return nil, nil, err
		}
		p := pc.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err == nil {
			return pc, l, nil
		}
		pc.Close()
		if port != 0 || attempt == 20 {
			return nil, nil, err
		}
	}
}

// DNSAddrs are the addresses DNS answers on (UDP; TCP uses the same).
func (d *Daemon) DNSAddrs() []net.Addr {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]net.Addr(nil), d.dnsAddrs...)
}
