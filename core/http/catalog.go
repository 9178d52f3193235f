package http

import (
	"context"

	"github.com/beacon-sd/beacon/core/httpserver"
	"github.com/beacon-sd/beacon/core/structs"
)

func (s *Server) catalogRegister(w *httpserver.Response, r *request) (interface{}, error) {
	var args structs.RegisterRequest
	return catalogWrite(s, r, &args, &args.Datacenter, &args.Token, func(ctx context.Context, args *structs.RegisterRequest) error {
		if svc := args.Service; svc != nil {
			if err := structs.NoMesh(svc.Service, svc.Kind, svc.Proxy.Set(), svc.Connect.Set()); err != nil {
				return badRequest("Invalid service: %v", err)
			}
		}
		return s.backend.CatalogRegister(ctx, args)
	})
}

func (s *Server) catalogDeregister(w *httpserver.Response, r *request) (interface{}, error) {
	var args structs.DeregisterRequest
	return catalogWrite(s, r, &args, &args.Datacenter, &args.Token, s.backend.CatalogDeregister)
}

// catalogWrite decodes a catalog write, takes ?dc and the token from the
// request, and applies it.
func catalogWrite[A any](s *Server, r *request, args *A, dc, tok *string, apply func(context.Context, *A) error) (interface{}, error) {
	if err := decodeBody(r, args); err != nil {
		return nil, err
	}
	if v := r.query.Get("dc"); v != "" {
		*dc = v
	}
	*tok = token(r)
	if err := apply(r.Context(), args); err != nil {
		return nil, err
	}
	s.metrics.CatalogWrites.Inc()
	return true, nil
}

func (s *Server) catalogDatacenters(w *httpserver.Response, r *request) (interface{}, error) {
	return s.backend.CatalogDatacenters(r.Context())
}

func (s *Server) catalogNodes(w *httpserver.Response, r *request) (interface{}, error) {
	args, err := listArgs(r)
	if err != nil {
		return nil, err
	}
	var out structs.IndexedNodes
	if err := read(s, w, r, &args, &out, s.backend.CatalogNodes); err != nil {
		return nil, err
	}
	if out.Nodes == nil {
		out.Nodes = []*structs.Node{}
	}
	return out.Nodes, nil
}

func (s *Server) catalogServices(w *httpserver.Response, r *request) (interface{}, error) {
	args, err := listArgs(r)
	if err != nil {
		return nil, err
	}
	var out structs.IndexedServices
	if err := read(s, w, r, &args, &out, s.backend.CatalogServices); err != nil {
		return nil, err
	}
	return out.Services, nil
}

// listArgs reads the ?dc, query options and ?node-meta of a catalog-wide
// list.
func listArgs(r *request) (structs.DCSpecificRequest, error) {
	var args structs.DCSpecificRequest
	if err := parseFilteredQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return args, err
	}
	var err error
	args.NodeMetaFilters, err = nodeMeta(r)
	return args, err
}

// serviceArgs reads the name, ?tag and ?node-meta of a per-service query.
func serviceArgs(r *request, prefix string) (structs.ServiceSpecificRequest, error) {
	args := structs.ServiceSpecificRequest{ServiceName: tail(r, prefix)}
	if err := parseFilteredQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return args, err
	}
	if args.ServiceName == "" {
		return args, badRequest("Missing service name")
	}
	args.ServiceTags = r.query["tag"]
	meta, err := nodeMeta(r)
	args.NodeMetaFilters = meta
	return args, err
}

func (s *Server) catalogService(w *httpserver.Response, r *request) (interface{}, error) {
	args, err := serviceArgs(r, "/v1/catalog/service/")
	if err != nil {
		return nil, err
	}
	var out structs.IndexedServiceNodes
	if err := read(s, w, r, &args, &out, s.backend.CatalogServiceNodes); err != nil {
		return nil, err
	}
	return out.ServiceNodes, nil
}

func (s *Server) nodeServices(w *httpserver.Response, r *request, prefix string) (*structs.IndexedNodeServices, error) {
	args := structs.NodeSpecificRequest{Node: tail(r, prefix)}
	if err := parseFilteredQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	if args.Node == "" {
		return nil, badRequest("Missing node name")
	}
	var out structs.IndexedNodeServices
	if err := read(s, w, r, &args, &out, s.backend.CatalogNodeServices); err != nil {
		return nil, err
	}
	return &out, nil
}

// catalogNode answers {Node, Services: {id: service}}, or null when the
// node is unknown or hidden from the token, as Consul does.
func (s *Server) catalogNode(w *httpserver.Response, r *request) (interface{}, error) {
	out, err := s.nodeServices(w, r, "/v1/catalog/node/")
	if err != nil {
		return nil, err
	}
	if out.Node == nil {
		return jsonNull{}, nil
	}
	svcs := make(map[string]*structs.NodeService, len(out.Services))
	for _, sv := range out.Services {
		svcs[sv.ID] = sv
	}
	return struct {
		Node     *structs.Node
		Services map[string]*structs.NodeService
	}{out.Node, svcs}, nil
}

// catalogNodeServiceList answers {Node, Services: [service]}; both are
// null when the node is unknown or hidden from the token.
func (s *Server) catalogNodeServiceList(w *httpserver.Response, r *request) (interface{}, error) {
	out, err := s.nodeServices(w, r, "/v1/catalog/node-services/")
	if err != nil {
		return nil, err
	}
	if out.Node == nil {
		return struct {
			Node     *structs.Node
			Services []*structs.NodeService
		}{}, nil
	}
	if out.Services == nil {
		out.Services = []*structs.NodeService{}
	}
	return struct {
		Node     *structs.Node
		Services []*structs.NodeService
	}{out.Node, out.Services}, nil
}

func (s *Server) healthNode(w *httpserver.Response, r *request) (interface{}, error) {
	args := structs.NodeSpecificRequest{Node: tail(r, "/v1/health/node/")}
	if err := parseFilteredQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	if args.Node == "" {
		return nil, badRequest("Missing node name")
	}
	var out structs.IndexedHealthChecks
	if err := read(s, w, r, &args, &out, s.backend.HealthNodeChecks); err != nil {
		return nil, err
	}
	return out.HealthChecks, nil
}

func (s *Server) healthChecks(w *httpserver.Response, r *request) (interface{}, error) {
	args, err := serviceArgs(r, "/v1/health/checks/")
	if err != nil {
		return nil, err
	}
	var out structs.IndexedHealthChecks
	if err := read(s, w, r, &args, &out, s.backend.HealthServiceChecks); err != nil {
		return nil, err
	}
	return out.HealthChecks, nil
}

func (s *Server) healthState(w *httpserver.Response, r *request) (interface{}, error) {
	args := structs.ChecksInStateRequest{State: tail(r, "/v1/health/state/")}
	if err := parseFilteredQuery(r, &args.Datacenter, &args.QueryOptions); err != nil {
		return nil, err
	}
	switch args.State {
	case structs.HealthAny, structs.HealthPassing, structs.HealthWarning, structs.HealthCritical:
	default:
		return nil, badRequest("Invalid check state %q: want any, passing, warning or critical", args.State)
	}
	var err error
	if args.NodeMetaFilters, err = nodeMeta(r); err != nil {
		return nil, err
	}
	var out structs.IndexedHealthChecks
	if err := read(s, w, r, &args, &out, s.backend.HealthChecksInState); err != nil {
		return nil, err
	}
	return out.HealthChecks, nil
}

func (s *Server) healthService(w *httpserver.Response, r *request) (interface{}, error) {
	args, err := serviceArgs(r, "/v1/health/service/")
	if err != nil {
		return nil, err
	}
	args.PassingOnly = boolParam(r, "passing")
	var out structs.IndexedCheckServiceNodes
	if err := read(s, w, r, &args, &out, s.backend.HealthServiceNodes); err != nil {
		return nil, err
	}
	return out.Nodes, nil
}
