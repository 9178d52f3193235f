package http

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/hashicorp/consul/api"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/agent"
	"github.com/beacon-sd/beacon/core/filter"
	"github.com/beacon-sd/beacon/core/httpserver"
	"github.com/beacon-sd/beacon/core/structs"
)

// agentService is the shape of /v1/agent/services entries.
type agentService struct {
	Kind              string `json:",omitempty"`
	ID                string
	Service           string
	Tags              []string
	Meta              map[string]string
	Port              int
	Address           string
	TaggedAddresses   map[string]structs.ServiceAddress `json:",omitempty"`
	Weights           structs.Weights
	EnableTagOverride bool
	ContentHash       string `json:",omitempty"`
	Datacenter        string
}

func (s *Server) toAgentService(ns *structs.NodeService) *agentService {
	return &agentService{
		Kind: ns.Kind, ID: ns.ID, Service: ns.Service, Tags: ns.Tags, Meta: ns.Meta,
		Port: ns.Port, Address: ns.Address, TaggedAddresses: ns.TaggedAddresses,
		Weights: ns.Weights, EnableTagOverride: ns.EnableTagOverride,
		Datacenter: s.cfg.Datacenter,
	}
}

func (s *Server) agentSelf(w *httpserver.Response, r *request) (interface{}, error) {
	if _, err := s.require(r, acl.Agent, s.agent.Node().Node, acl.Read); err != nil {
		return nil, err
	}
	return s.cfg.Self(), nil
}

// The agent's own lists take ?filter= as Consul's do; the expression sees
// only what the token may read, so whether it matched anything hidden does
// not show.

func (s *Server) agentMembers(w *httpserver.Response, r *request) (interface{}, error) {
	f, err := filter.Members(r.query.Get("filter"))
	if err != nil {
		return nil, err
	}
	authz, err := s.authorize(r)
	if err != nil {
		return nil, err
	}
	out := []api.AgentMember{}
	hidden := false
	for _, m := range s.cfg.Members(boolParam(r, "wan")) {
		if !authz.Allowed(acl.Node, m.Name, acl.Read) {
			hidden = true
			continue
		}
		if ok, err := f.Match(m); err != nil {
			return nil, err
		} else if ok {
			out = append(out, m)
		}
	}
	filtered(w, hidden)
	return out, nil
}

func (s *Server) agentServices(w *httpserver.Response, r *request) (interface{}, error) {
	f, err := filter.AgentServices(r.query.Get("filter"), s.cfg.Datacenter)
	if err != nil {
		return nil, err
	}
	authz, err := s.authorize(r)
	if err != nil {
		return nil, err
	}
	out := map[string]*agentService{}
	hidden := false
	for _, ns := range s.agent.Services() {
		if !authz.Allowed(acl.Service, ns.Service, acl.Read) {
			hidden = true
			continue
		}
		if ok, err := f.Match(ns); err != nil {
			return nil, err
		} else if ok {
			out[ns.ID] = s.toAgentService(ns)
		}
	}
	filtered(w, hidden)
	return out, nil
}

func (s *Server) agentService(w *httpserver.Response, r *request) (interface{}, error) {
	id := tail(r, "/v1/agent/service/")
	ns := s.agent.Service(id)
	if ns == nil {
		return nil, notFound("unknown service ID: %s", id)
	}
	if _, err := s.require(r, acl.Service, ns.Service, acl.Read); err != nil {
		return nil, err
	}
	as := s.toAgentService(ns)
	b, _ := json.Marshal(as)
	sum := sha256.Sum256(b)
	as.ContentHash = hex.EncodeToString(sum[:8])
	return as, nil
}

func (s *Server) agentServiceRegister(w *httpserver.Response, r *request) (interface{}, error) {
	var def structs.ServiceDefinition
	if err := decodeBody(r, &def); err != nil {
		return nil, err
	}
	if def.Token == "" {
		def.Token = token(r)
	}
	if err := def.Validate(); err != nil {
		return nil, badRequest("Invalid service: %v", err)
	}
	if _, err := s.require(r, acl.Service, def.Name, acl.Write); err != nil {
		return nil, err
	}
	if err := s.requireServiceWrite(r, def.ID); err != nil {
		return nil, err // replacing a service of another name
	}
	if err := s.agent.AddService(&def, agent.SourceAPI); err != nil {
		return nil, err
	}
	s.agent.SyncChanges()
	return nil, nil
}

func (s *Server) agentServiceDeregister(w *httpserver.Response, r *request) (interface{}, error) {
	id := tail(r, "/v1/agent/service/deregister/")
	if err := s.requireServiceWrite(r, id); err != nil {
		return nil, err
	}
	if err := s.agent.RemoveService(id); err != nil {
		return nil, s.notLocal(r, err, id)
	}
	s.agent.SyncChanges()
	return nil, nil
}

// notLocal explains a deregistration of a service this agent does not own:
// when the catalog has it on another node, the answer names that node, the
// only agent that can remove it for good.
func (s *Server) notLocal(r *request, err error, id string) error {
	var out structs.IndexedServices
	if e := s.backend.CatalogServices(r.Context(), &structs.DCSpecificRequest{}, &out); e != nil {
		return err
	}
	for name := range out.Services {
		var nodes structs.IndexedServiceNodes
		if e := s.backend.CatalogServiceNodes(r.Context(), &structs.ServiceSpecificRequest{ServiceName: name}, &nodes); e != nil {
			continue
		}
		for _, sn := range nodes.ServiceNodes {
			if sn.ServiceID == id && sn.Node != s.agent.Node().Node {
				return notFound("Unknown service ID %q on this agent (%s): it is registered by the agent on node %q; deregister it there, or use /v1/catalog/deregister if that node is gone",
					id, s.agent.Node().Node, sn.Node)
			}
		}
	}
	return err
}

func (s *Server) agentChecks(w *httpserver.Response, r *request) (interface{}, error) {
	f, err := filter.Checks(r.query.Get("filter"))
	if err != nil {
		return nil, err
	}
	authz, err := s.authorize(r)
	if err != nil {
		return nil, err
	}
	out := map[string]*structs.HealthCheck{}
	hidden := false
	for _, c := range s.agent.Checks() {
		if !authz.CanReadCheck(c.Node, c.ServiceName) {
			hidden = true
			continue
		}
		if ok, err := f.Match(c); err != nil {
			return nil, err
		} else if ok {
			out[c.CheckID] = c
		}
	}
	filtered(w, hidden)
	return out, nil
}

func (s *Server) agentCheckRegister(w *httpserver.Response, r *request) (interface{}, error) {
	var def structs.CheckDefinition
	err := decodeBody(r, &def)
	if err != nil {
		return nil, err
	}
	if def.Token == "" {
		def.Token = token(r)
	}
	if def.ServiceID != "" && s.agent.Service(def.ServiceID) != nil {
		err = s.requireServiceWrite(r, def.ServiceID)
	} else {
		err = s.requireNodeWrite(r)
	}
	if err != nil {
		return nil, err
	}
	if err := s.requireCheckWrite(r, def.CheckID); err != nil {
		return nil, err
	}
	if err := s.agent.AddCheck(&def, agent.SourceAPI); err != nil {
		if isValidation(err) || err == agent.ErrScriptsDisabled {
			return nil, err
		}
		return nil, badRequest("Invalid check: %v", err)
	}
	s.agent.SyncChanges()
	return nil, nil
}

func (s *Server) agentCheckDeregister(w *httpserver.Response, r *request) (interface{}, error) {
	id := tail(r, "/v1/agent/check/deregister/")
	if err := s.requireCheckWrite(r, id); err != nil {
		return nil, err
	}
	if err := s.agent.RemoveCheck(id); err != nil {
		return nil, err
	}
	s.agent.SyncChanges()
	return nil, nil
}

// agentCheckTTL handles check/pass|warn|fail/<id>?note=.
func (s *Server) agentCheckTTL(status string) handlerFunc {
	prefix := "/v1/agent/check/" + map[string]string{
		structs.HealthPassing: "pass", structs.HealthWarning: "warn", structs.HealthCritical: "fail",
	}[status] + "/"
	return func(w *httpserver.Response, r *request) (interface{}, error) {
		id := tail(r, prefix)
		if err := s.requireCheckWrite(r, id); err != nil {
			return nil, err
		}
		return nil, s.updateTTL(id, status, r.query.Get("note"))
	}
}

func (s *Server) agentCheckUpdate(w *httpserver.Response, r *request) (interface{}, error) {
	var body struct {
		Status string
		Output string
	}
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	if !structs.ValidStatus(body.Status) {
		return nil, badRequest("Invalid check status: %q", body.Status)
	}
	id := tail(r, "/v1/agent/check/update/")
	if err := s.requireCheckWrite(r, id); err != nil {
		return nil, err
	}
	return nil, s.updateTTL(id, body.Status, body.Output)
}

func (s *Server) updateTTL(id, status, output string) error {
	err := s.agent.UpdateTTL(id, status, output)
	if err != nil && !errors.Is(err, structs.ErrCheckNotFound) {
		return badRequest("%v", err)
	}
	return err
}

// enableParam reads the required ?enable=true|false of maintenance calls.
func enableParam(r *request) (bool, error) {
	v := r.query.Get("enable")
	if v == "" {
		return false, badRequest("Missing value for enable")
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest("Invalid value for enable: %q", v)
	}
	return b, nil
}

func (s *Server) agentMaintenance(w *httpserver.Response, r *request) (interface{}, error) {
	on, err := enableParam(r)
	if err != nil {
		return nil, err
	}
	if err := s.requireNodeWrite(r); err != nil {
		return nil, err
	}
	if on {
		s.agent.EnableNodeMaintenance(r.query.Get("reason"), token(r))
	} else {
		s.agent.DisableNodeMaintenance()
	}
	s.agent.SyncChanges()
	return nil, nil
}

func (s *Server) agentServiceMaintenance(w *httpserver.Response, r *request) (interface{}, error) {
	id := tail(r, "/v1/agent/service/maintenance/")
	on, err := enableParam(r)
	if err != nil {
		return nil, err
	}
	if err := s.requireServiceWrite(r, id); err != nil {
		return nil, err
	}
	if on {
		err = s.agent.EnableServiceMaintenance(id, r.query.Get("reason"), token(r))
	} else {
		err = s.agent.DisableServiceMaintenance(id)
	}
	if err != nil {
		return nil, notFound("%v", err)
	}
	s.agent.SyncChanges()
	return nil, nil
}

func (s *Server) agentReload(w *httpserver.Response, r *request) (interface{}, error) {
	if err := s.requireAgentWrite(r); err != nil {
		return nil, err
	}
	if s.cfg.Reload == nil {
		return nil, nil
	}
	return nil, s.cfg.Reload()
}

func (s *Server) agentMetrics(w *httpserver.Response, r *request) (interface{}, error) {
	if _, err := s.require(r, acl.Agent, s.agent.Node().Node, acl.Read); err != nil {
		return nil, err
	}
	if r.query.Get("format") == "prometheus" {
		httpserver.Std(promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{}), w, r.Request)
		return nil, nil
	}
	return s.metrics.Snapshot()
}

func (s *Server) agentJoin(w *httpserver.Response, r *request) (interface{}, error) {
	addr := tail(r, "/v1/agent/join/")
	if err := s.requireAgentWrite(r); err != nil {
		return nil, err
	}
	if addr == "" {
		return nil, badRequest("Missing address to join")
	}
	if boolParam(r, "wan") {
		return nil, badRequest("WAN joins are not supported: beacon runs one datacenter per pool")
	}
	if s.cfg.Join == nil {
		return nil, badRequest("this agent does not gossip")
	}
	if _, err := s.cfg.Join([]string{addr}); err != nil {
		return nil, err
	}
	return nil, nil
}

func (s *Server) agentLeave(w *httpserver.Response, r *request) (interface{}, error) {
	if err := s.requireAgentWrite(r); err != nil {
		return nil, err
	}
	if s.cfg.Leave == nil {
		return nil, badRequest("this agent does not gossip")
	}
	return nil, s.cfg.Leave()
}

func (s *Server) agentForceLeave(w *httpserver.Response, r *request) (interface{}, error) {
	node := tail(r, "/v1/agent/force-leave/")
	if _, err := s.require(r, acl.Operator, "", acl.Write); err != nil {
		return nil, err
	}
	if node == "" {
		return nil, badRequest("Missing node name")
	}
	if s.cfg.ForceLeave == nil {
		return nil, badRequest("this agent does not gossip")
	}
	if err := s.cfg.ForceLeave(node, boolParam(r, "prune")); err != nil {
		return nil, badRequest("%v", err)
	}
	return nil, nil
}
