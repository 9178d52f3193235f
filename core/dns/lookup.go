package dns

import (
	"context"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/beacon-sd/beacon/core/structs"
)

// serviceKey names a service lookup: lower-case name and tag ("" for none).
type serviceKey struct{ name, tag string }

// serviceSet is what questions about one service (and tag) are answered
// from: its healthy instances, already deduplicated for each record type.
type serviceSet struct {
	ttl   uint32
	hosts []host      // distinct addresses, for A/AAAA answers
	srvs  []srvTarget // distinct node, address and port, for SRV answers
	txts  [][]string  // distinct node meta TXT strings, for TXT answers
	// ordered keeps answers in the order above: a prepared query's
	// results come shuffled, or sorted near a node, by the server.
	ordered bool

	rrsets rrsetCache // records built from the above, per question
}

// host is an address: an IP, or a host name (answered with a CNAME).
type host struct {
	ip   net.IP
	name string // fully qualified; set when ip is nil
}

// srvTarget is one SRV answer and what the additional section says about
// its target.
type srvTarget struct {
	port, weight uint16
	// target per zone index (Domain, AltDomain); a host name target is the
	// same in both.
	target [2]string
	ip     net.IP     // address record of the target; nil for a host name
	meta   [][]string // node meta TXT of a <node>.node target
}

// nodeRecord is what questions about one node are answered from.
type nodeRecord struct {
	addr host
	meta [][]string
}

func (s *Server) queryOptions(minIndex uint64, wait time.Duration) structs.QueryOptions {
	q := structs.QueryOptions{
		MinIndex: minIndex, MaxWait: wait,
		AllowStale: s.cfg.AllowStale, MaxStaleDuration: s.cfg.MaxStale,
	}
	if s.cfg.Token != nil {
		q.Token = s.cfg.Token()
	}
	return q
}

// fetchService reads a service's health entries and keeps the instances
// DNS answers with: none with a critical check (maintenance is one), none
// with a warning when OnlyPassing.
func (s *Server) fetchService(ctx context.Context, key serviceKey, minIndex uint64, wait time.Duration) (*serviceSet, uint64, error) {
	args := structs.ServiceSpecificRequest{
		Datacenter: s.cfg.Datacenter, ServiceName: key.name,
		QueryOptions: s.queryOptions(minIndex, wait),
	}
	if key.tag != "" {
		args.ServiceTags = []string{key.tag}
	}
	var out structs.IndexedCheckServiceNodes
	if err := s.cfg.Backend.HealthServiceNodes(ctx, &args, &out); err != nil {
		return nil, 0, err
	}
	return s.newServiceSet(out.Nodes, s.ttl.service(key.name), s.weight), out.Index, nil
}

// newServiceSet builds what questions about a service are answered from:
// the entries weigh keeps, each address, SRV target and meta string once.
func (s *Server) newServiceSet(entries []structs.CheckServiceNode, ttl uint32, weigh func(structs.CheckServiceNode) (uint16, bool)) *serviceSet {
	set := &serviceSet{ttl: ttl}
	seenHost := map[string]bool{}
	seenSRV := map[string]bool{}
	seenTXT := map[string]bool{}
	for _, e := range entries {
		if e.Node == nil || e.Service == nil {
			continue
		}
		weight, ok := weigh(e)
		if !ok {
			continue
		}
		addr := e.Service.Address
		if addr == "" {
			addr = e.Node.Address
		}
		h := makeHost(addr)
		if h.ip == nil && h.name == "" {
			continue
		}
		if k := h.String(); !seenHost[k] {
			seenHost[k] = true
			set.hosts = append(set.hosts, h)
		}
		meta := metaTXT(e.Node.Meta)
		for _, t := range meta {
			if !seenTXT[t[0]] {
				seenTXT[t[0]] = true
				set.txts = append(set.txts, t)
			}
		}
		// SRV answers are one per node, address and port: two nodes at
		// one address:port are two instances, as Consul answers them.
		if k := e.Node.Node + " " + net.JoinHostPort(h.String(), strconv.Itoa(e.Service.Port)); !seenSRV[k] {
			seenSRV[k] = true
			set.srvs = append(set.srvs, s.srvTarget(e, h, meta, weight))
		}
	}
	return set
}

// weight is the SRV weight of a health entry, and false when the entry is
// not to be answered at all: a check is critical (or in another state
// than passing and warning), or warning under only_passing.
func (s *Server) weight(e structs.CheckServiceNode) (uint16, bool) {
	switch worstState(e) {
	case structs.HealthPassing:
		return passingWeight(e), true
	case structs.HealthWarning:
		return warningWeight(e), !s.cfg.OnlyPassing
	}
	return 0, false
}

// worstState is the state of an entry's worst check: passing, warning, or
// anything else (critical, maintenance) as it is.
func worstState(e structs.CheckServiceNode) string {
	worst := structs.HealthPassing
	for _, c := range e.Checks {
		switch c.Status {
		case structs.HealthPassing:
		case structs.HealthWarning:
			worst = structs.HealthWarning
		default:
			return c.Status
		}
	}
	return worst
}

// passingWeight and warningWeight are an instance's SRV weights: its
// Weights, or 1 when it registered none.
func passingWeight(e structs.CheckServiceNode) uint16 {
	return clampWeight(e, e.Service.Weights.Passing)
}
func warningWeight(e structs.CheckServiceNode) uint16 {
	return clampWeight(e, e.Service.Weights.Warning)
}

func clampWeight(e structs.CheckServiceNode, w int) uint16 {
	if e.Service.Weights == (structs.Weights{}) {
		return 1
	}
	return uint16(min(max(w, 0), 65535))
}

// srvTarget picks the target of an instance's SRV record: the node's name
// when the instance is reached at the node's address, else the address's
// .addr. name, else the host name the service registered.
func (s *Server) srvTarget(e structs.CheckServiceNode, h host, meta [][]string, weight uint16) srvTarget {
	t := srvTarget{port: uint16(e.Service.Port), weight: weight, ip: h.ip}
	for _, z := range s.zones {
		switch {
		case e.Service.Address == "" || e.Service.Address == e.Node.Address:
			t.target[z.idx] = e.Node.Node + ".node." + s.cfg.Datacenter + "." + z.name
			if s.cfg.NodeMetaTXT {
				t.meta = meta
			}
		case h.ip != nil:
			t.target[z.idx] = encodeAddr(h.ip) + ".addr." + s.cfg.Datacenter + "." + z.name
		default:
			t.target[z.idx] = h.name
		}
	}
	return t
}

// fetchNode reads a node.
func (s *Server) fetchNode(ctx context.Context, name string, minIndex uint64, wait time.Duration) (*nodeRecord, uint64, error) {
	args := structs.NodeSpecificRequest{Datacenter: s.cfg.Datacenter, Node: name, QueryOptions: s.queryOptions(minIndex, wait)}
	var out structs.IndexedNodeServices
	if err := s.cfg.Backend.CatalogNodeServices(ctx, &args, &out); err != nil {
		return nil, 0, err
	}
	if out.Node == nil {
		return nil, out.Index, nil
	}
	return &nodeRecord{addr: makeHost(out.Node.Address), meta: metaTXT(out.Node.Meta)}, out.Index, nil
}

func (s *Server) lookupService(name, tag string) (*serviceSet, error) {
	return s.services.get(serviceKey{name, tag}, func(v *serviceSet) bool { return len(v.srvs) > 0 })
}

func (s *Server) lookupNode(name string) (*nodeRecord, error) {
	return s.nodes.get(name, func(v *nodeRecord) bool { return v != nil })
}

// lookupPTR finds the name of ip: a node with that address, else a service
// instance registered with it. It reads the catalog each time: reverse
// questions are rare next to forward ones.
func (s *Server) lookupPTR(ctx context.Context, ip net.IP, z zone) (string, error) {
	var nodes structs.IndexedNodes
	if err := s.cfg.Backend.CatalogNodes(ctx, &structs.DCSpecificRequest{Datacenter: s.cfg.Datacenter, QueryOptions: s.queryOptions(0, 0)}, &nodes); err != nil {
		return "", err
	}
	for _, n := range nodes.Nodes {
		if a := net.ParseIP(n.Address); a != nil && a.Equal(ip) {
			return n.Node + ".node." + s.cfg.Datacenter + "." + z.name, nil
		}
	}
	var svcs structs.IndexedServices
	if err := s.cfg.Backend.CatalogServices(ctx, &structs.DCSpecificRequest{Datacenter: s.cfg.Datacenter, QueryOptions: s.queryOptions(0, 0)}, &svcs); err != nil {
		return "", err
	}
	names := make([]string, 0, len(svcs.Services))
	for n := range svcs.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		var out structs.IndexedServiceNodes
		args := structs.ServiceSpecificRequest{Datacenter: s.cfg.Datacenter, ServiceName: name, QueryOptions: s.queryOptions(0, 0)}
		if err := s.cfg.Backend.CatalogServiceNodes(ctx, &args, &out); err != nil {
			return "", err
		}
		for _, sn := range out.ServiceNodes {
			if a := net.ParseIP(sn.ServiceAddress); a != nil && a.Equal(ip) {
				return sn.ServiceName + ".service." + s.cfg.Datacenter + "." + z.name, nil
			}
		}
	}
	return "", nil
}

// makeHost reads an address that is an IP or a host name; an empty or
// unusable one gives the zero host.
func makeHost(addr string) host {
	if ip := net.ParseIP(addr); ip != nil {
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		}
		return host{ip: ip}
	}
	if addr == "" {
		return host{}
	}
	name := strings.ToLower(addr)
	if _, ok := dns.IsDomainName(name); !ok {
		return host{}
	}
	return host{name: dns.Fqdn(name)}
}

func (h host) String() string {
	if h.ip != nil {
		return h.ip.String()
	}
	return h.name
}

// metaTXT turns node meta into TXT strings, sorted by key: "key=value" as
// RFC 1464 has it, or the bare value for keys starting with "rfc1035-".
func metaTXT(meta map[string]string) [][]string {
	if len(meta) == 0 {
		return nil
	}
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][]string, 0, len(keys))
	for _, k := range keys {
		txt := meta[k]
		if !strings.HasPrefix(strings.ToLower(k), "rfc1035-") {
			txt = rfc1464Key(k) + "=" + txt
		}
		out = append(out, []string{txt})
	}
	return out
}

// rfc1464Key escapes "`", "=" and leading or trailing spaces in a TXT
// attribute name with a backquote (RFC 1464 §2).
func rfc1464Key(k string) string {
	if !strings.ContainsAny(k, "`= ") {
		return k
	}
	var b strings.Builder
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c == '`' || c == '=' || (c == ' ' && (i == 0 || i == len(k)-1)) {
			b.WriteByte('`')
		}
		b.WriteByte(c)
	}
	return b.String()
}
