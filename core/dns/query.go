package dns

import (
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/beacon-sd/beacon/core/structs"
)

// lookupQuery executes a prepared query for a question: on the server, for
// each question (its answer depends on who asks, with near=_ip, and comes
// shuffled from the server), with the agent as the node "_agent" means and
// the client's address (its EDNS client subnet, else its own) for "_ip".
// The answer keeps the server's order, with the query's DNS TTL, else the
// service's.
func (s *Server) lookupQuery(r *reply, name string) (*serviceSet, error) {
	args := structs.PreparedQueryExecuteRequest{
		Datacenter:    s.cfg.Datacenter,
		QueryIDOrName: name,
		Agent:         structs.QuerySource{Datacenter: s.cfg.Datacenter, Node: s.cfg.NodeName},
		Source:        structs.QuerySource{Datacenter: s.cfg.Datacenter, IP: clientIP(r)},
		QueryOptions:  s.queryOptions(0, 0),
	}
	var out structs.PreparedQueryExecuteResponse
	if err := s.cfg.Backend.PreparedQueryExecute(s.ctx, &args, &out); err != nil {
		return nil, err
	}
	ttl := s.ttl.service(strings.ToLower(out.Service))
	if out.DNS.TTL != "" {
		d, err := time.ParseDuration(out.DNS.TTL)
		if err != nil {
			s.logger.Warn("prepared query has a DNS TTL that does not parse; answering with the service's", "query", name, "ttl", out.DNS.TTL)
		} else {
			ttl = seconds(d)
		}
	}
	set := s.newServiceSet(out.Nodes, ttl, queryWeight)
	set.ordered = true
	return set, nil
}

// queryWeight is the SRV weight of an instance a prepared query answers
// with: the query chose it, so none is left out here; one with a critical
// check the query ignores weighs 0.
func queryWeight(e structs.CheckServiceNode) (uint16, bool) {
	switch worstState(e) {
	case structs.HealthPassing:
		return passingWeight(e), true
	case structs.HealthWarning:
		return warningWeight(e), true
	}
	return 0, true
}

// clientIP is the address a question comes from: its EDNS client subnet,
// else the socket's peer.
func clientIP(r *reply) string {
	if opt := r.req.IsEdns0(); opt != nil {
		for _, o := range opt.Option {
			if sub, ok := o.(*dns.EDNS0_SUBNET); ok && sub.Address != nil {
				return sub.Address.String()
			}
		}
	}
	switch a := r.remote.(type) {
	case *net.UDPAddr:
		return a.IP.String()
	case *net.TCPAddr:
		return a.IP.String()
	}
	return ""
}
