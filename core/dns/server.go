// Package dns is the agent's DNS interface: Consul's names
// (<node>.node[.<dc>].<domain>, [<tag>.]<svc>.service[.<dc>].<domain>,
// _<svc>._<tag>.service..., <hex>.addr..., PTR under in-addr.arpa) answered
// from the catalog, and <query>.query[.<dc>].<domain> from the execution of
// a prepared query, over UDP and TCP with github.com/miekg/dns, and every
// other name forwarded to the configured recursors.
//
// The handler's rcode contract:
//
//	NOERROR   the name exists; the answer may be empty (NODATA, SOA in authority)
//	NXDOMAIN  a name in the domain that names nothing (SOA in authority), a
//	          prepared query that does not exist or finds nothing
//	SERVFAIL  the catalog could not be read, another datacenter was asked
//	          for, or every recursor failed
//	REFUSED   a name outside the domain with no recursors, or a class other than IN
//	FORMERR   not exactly one question, or bytes that do not parse
//	NOTIMP    an opcode other than QUERY, or a zone transfer
//	BADVERS   EDNS version other than 0
package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/miekg/dns"

	"github.com/beacon-sd/beacon/core/agent"
)

// Defaults, as Consul has them.
const (
	DefaultRecursorTimeout = 2 * time.Second
	DefaultUDPAnswerLimit  = 3
)

// Config is what the DNS server needs. Durations of zero mean a TTL of 0,
// which is Consul's default: answers are never cached downstream.
type Config struct {
	Backend    agent.Backend // catalog and health reads
	Datacenter string        // this agent's datacenter
	NodeName   string        // this agent's node: the NS of the domain when the catalog lists no server

	// Domain and AltDomain are answered alike; "consul." when Domain is
	// empty. A missing trailing dot is added.
	Domain, AltDomain string

	// Recursors answer names outside the domains, tried in order. Each is
	// "host" or "host:port" (port 53 when absent).
	Recursors       []string
	RecursorTimeout time.Duration // per recursor; DefaultRecursorTimeout when 0

	NodeTTL time.Duration
	// ServiceTTL maps a service name to its TTL. A key ending in "*" is a
	// prefix ("*" alone matches every service); an exact name wins over a
	// prefix, and a longer prefix over a shorter one.
	ServiceTTL map[string]time.Duration

	AllowStale bool
	MaxStale   time.Duration

	// OnlyPassing leaves out instances with a warning check; critical
	// instances (maintenance included) are always left out.
	OnlyPassing bool
	// UDPAnswerLimit caps the answers of a UDP reply to a query without
	// EDNS; DefaultUDPAnswerLimit when 0, no cap when negative.
	UDPAnswerLimit int
	// EnableTruncate sets TC when UDPAnswerLimit cut answers, so that
	// clients retry over TCP to get them all. A reply cut because it did not
	// fit the client's buffer always has TC.
	EnableTruncate bool
	// ARecordLimit caps the A/AAAA answers of a service lookup on every
	// transport (0: no cap).
	ARecordLimit int
	// NodeMetaTXT adds the node's meta as TXT records to the additional
	// section of A/AAAA/SRV answers (enable_additional_node_meta_txt). TXT
	// and ANY questions always get them in the answer.
	NodeMetaTXT        bool
	DisableCompression bool

	// Token is the ACL token questions are answered with: the agent's
	// default token, so DNS shows what that token may read.
	Token func() string

	Logger hclog.Logger
}

// Server answers DNS questions; it is a dns.Handler, and Serve runs it on
// sockets.
type Server struct {
	cfg       Config
	logger    hclog.Logger
	zones     []zone // longest first
	dc        string // lower case
	recursors []string
	ttl       ttls

	ctx      context.Context
	cancel   context.CancelFunc
	services *views[serviceKey, serviceSet]
	nodes    *views[string, nodeRecord]

	mu       sync.Mutex
	servers  []*dns.Server
	shutdown bool
}

// zone is one domain we answer for, with the SOA we answer it with.
type zone struct {
	name string // "consul.", lower case
	idx  int    // 0 for Domain, 1 for AltDomain
	soa  *dns.SOA
	ns   string // "ns.consul."
}

// New checks cfg and builds a server.
func New(cfg Config) (*Server, error) {
	if cfg.Backend == nil {
		return nil, errors.New("dns: no backend")
	}
	if cfg.Datacenter == "" {
		return nil, errors.New("dns: no datacenter")
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.RecursorTimeout <= 0 {
		cfg.RecursorTimeout = DefaultRecursorTimeout
	}
	if cfg.UDPAnswerLimit == 0 {
		cfg.UDPAnswerLimit = DefaultUDPAnswerLimit
	}
	if cfg.Domain == "" {
		cfg.Domain = "consul."
	}
	s := &Server{cfg: cfg, logger: cfg.Logger.Named("dns"), dc: strings.ToLower(cfg.Datacenter)}
	for i, d := range []string{cfg.Domain, cfg.AltDomain} {
		if d == "" {
			continue
		}
		name := strings.ToLower(dns.Fqdn(d))
		if _, ok := dns.IsDomainName(name); !ok || name == "." {
			return nil, fmt.Errorf("dns: invalid domain %q", d)
		}
		s.zones = append(s.zones, zone{name: name, idx: i, soa: newSOA(name), ns: "ns." + name})
	}
	if len(s.zones) == 2 && s.zones[0].name == s.zones[1].name {
		s.zones = s.zones[:1]
	}
	sort.SliceStable(s.zones, func(i, j int) bool { return len(s.zones[i].name) > len(s.zones[j].name) })
	for _, r := range cfg.Recursors {
		addr, err := recursorAddr(r)
		if err != nil {
			return nil, err
		}
		s.recursors = append(s.recursors, addr)
	}
	var err error
	if s.ttl, err = newTTLs(cfg.NodeTTL, cfg.ServiceTTL); err != nil {
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.services = newViews(s.ctx, s.fetchService)
	s.nodes = newViews(s.ctx, s.fetchNode)
	return s, nil
}

// recursorAddr turns "host" or "host:port" into "host:port".
func recursorAddr(r string) (string, error) {
	r = strings.TrimSpace(r)
	if r == "" {
		return "", errors.New("dns: empty recursor")
	}
	if host, port, err := net.SplitHostPort(r); err == nil {
		if host == "" || port == "" {
			return "", fmt.Errorf("dns: invalid recursor %q", r)
		}
		return r, nil
	}
	return net.JoinHostPort(strings.Trim(r, "[]"), "53"), nil
}

// Serve answers queries on an open UDP socket and an open TCP listener
// (either may be nil) until Shutdown, which closes them. It returns once
// both are being served.
func (s *Server) Serve(pc net.PacketConn, l net.Listener) {
	var started sync.WaitGroup
	for _, srv := range []*dns.Server{
		{PacketConn: pc, Handler: s, UDPSize: dns.DefaultMsgSize},
		{Listener: l, Handler: s, ReadTimeout: 10 * time.Second, IdleTimeout: tcpIdleTimeout},
	} {
		if srv.PacketConn == nil && srv.Listener == nil {
			continue
		}
		s.mu.Lock()
		if s.shutdown {
			s.mu.Unlock()
			closeConns(pc, l)
			return
		}
		s.servers = append(s.servers, srv)
		s.mu.Unlock()
		started.Add(1)
		var once sync.Once
		done := func() { once.Do(started.Done) }
		srv.NotifyStartedFunc = done
		go func() {
			defer done()
			if err := srv.ActivateAndServe(); err != nil {
				s.logger.Error("DNS server stopped", "error", err)
			}
		}()
	}
	started.Wait()
}

func tcpIdleTimeout() time.Duration { return 10 * time.Second }

func closeConns(pc net.PacketConn, l net.Listener) {
	if pc != nil {
		pc.Close()
	}
	if l != nil {
		l.Close()
	}
}

// Shutdown stops serving, closes the sockets given to Serve, and stops the
// catalog watches. It waits for queries in flight.
func (s *Server) Shutdown() {
	s.mu.Lock()
	s.shutdown = true
	servers := s.servers
	s.servers = nil
	s.mu.Unlock()
	for _, srv := range servers {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := srv.ShutdownContext(ctx); err != nil {
			s.logger.Debug("DNS server shutdown", "error", err)
		}
		cancel()
		closeConns(srv.PacketConn, srv.Listener)
	}
	s.cancel()
	s.services.wait()
	s.nodes.wait()
}
