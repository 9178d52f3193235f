package server

import (
	"context"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/filter"
	"github.com/beacon-sd/beacon/core/state"
	"github.com/beacon-sd/beacon/core/structs"
)

// CatalogRegister registers a node and optionally a service and checks.
func (s *Server) CatalogRegister(ctx context.Context, args *structs.RegisterRequest) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "CatalogRegister", nil, args, nil); done {
		return err
	}
	if args.Datacenter == "" {
		args.Datacenter = s.cfg.Datacenter
	}
	if err := ValidateRegister(args); err != nil {
		return err
	}
	if err := s.authorizeRegister(ctx, args); err != nil {
		return err
	}
	_, err := s.apply(&structs.Command{Type: structs.RegisterRequestType, Register: args})
	return err
}

// ValidateRegister checks a catalog registration and fills Consul's
// defaults (service ID from its name, weights 1/1, check status critical).
func ValidateRegister(args *structs.RegisterRequest) error {
	if args.Node == "" {
		return structs.BadInput("Must provide node")
	}
	if args.Address == "" && !args.SkipNodeUpdate {
		return structs.BadInput("Must provide address if SkipNodeUpdate is not set")
	}
	if svc := args.Service; svc != nil {
		if err := ValidateService(svc); err != nil {
			return err
		}
	}
	checks := args.Checks
	if args.Check != nil {
		checks = append([]*structs.HealthCheck{args.Check}, checks...)
	}
	for _, c := range checks {
		if c.CheckID == "" {
			c.CheckID = c.Name
		}
		if c.CheckID == "" {
			return structs.BadInput("check needs a CheckID or a Name")
		}
		if c.Type == "" {
			c.Type = c.Definition.Type()
		}
		if c.Node != "" && c.Node != args.Node {
			return structs.BadInput("check %q is for node %q, not %q", c.CheckID, c.Node, args.Node)
		}
		if c.Status == "" {
			c.Status = structs.HealthCritical
		}
		if !structs.ValidStatus(c.Status) {
			return structs.BadInput("check %q: invalid status %q", c.CheckID, c.Status)
		}
	}
	return nil
}

// ValidateService checks a service instance to be written to the catalog
// and fills Consul's defaults (ID from its name, weights 1/1).
func ValidateService(svc *structs.NodeService) error {
	if svc.Service == "" {
		return structs.BadInput("Must provide service name with ID")
	}
	if svc.ID == "" {
		svc.ID = svc.Service
	}
	if svc.Weights == (structs.Weights{}) {
		svc.Weights = structs.Weights{Passing: 1, Warning: 1}
	}
	if svc.Port < 0 || svc.Port > 65535 {
		return structs.BadInput("invalid service port %d", svc.Port)
	}
	return nil
}

// CatalogDeregister removes a node, service or check.
func (s *Server) CatalogDeregister(ctx context.Context, args *structs.DeregisterRequest) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "CatalogDeregister", nil, args, nil); done {
		return err
	}
	if args.Node == "" {
		return structs.BadInput("Must provide node")
	}
	if err := s.authorizeDeregister(ctx, args); err != nil {
		return err
	}
	_, err := s.apply(&structs.Command{Type: structs.DeregisterRequestType, Deregister: args})
	return err
}

// CatalogNodes lists nodes.
func (s *Server) CatalogNodes(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.IndexedNodes) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "CatalogNodes", &args.QueryOptions, args, reply); done {
		return err
	}
	f, err := filter.Nodes(args.Filter)
	if err != nil {
		return err
	}
	authz, err := s.authorize(ctx, args.Token)
	if err != nil {
		return err
	}
	return s.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.Store) error {
		idx, nodes, err := st.Nodes(ws, args.NodeMetaFilters)
		if err != nil {
			return err
		}
		reply.Index = idx
		nodes, reply.ResultsFilteredByACLs = keep(nodes, func(n *structs.Node) bool {
			return authz.Allowed(acl.Node, n.Node, acl.Read)
		})
		reply.Nodes, err = f.Slice(nodes)
		return err
	})
}

// CatalogServices maps service names to their tags.
func (s *Server) CatalogServices(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.IndexedServices) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "CatalogServices", &args.QueryOptions, args, reply); done {
		return err
	}
	f, err := filter.ServiceNodes(args.Filter)
	if err != nil {
		return err
	}
	authz, err := s.authorize(ctx, args.Token)
	if err != nil {
		return err
	}
	return s.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.Store) error {
		if f != nil {
			return filteredServices(ws, st, args, f, authz, reply)
		}
		idx, svcs, err := st.Services(ws, args.NodeMetaFilters)
		reply.Index, reply.Services, reply.ResultsFilteredByACLs = idx, svcs, false
		for name := range svcs {
			if !authz.Allowed(acl.Service, name, acl.Read) {
				reply.ResultsFilteredByACLs = true
			}
		}
		if reply.ResultsFilteredByACLs {
			reply.Services = make(map[string][]string, len(svcs))
			for name, tags := range svcs {
				if authz.Allowed(acl.Service, name, acl.Read) {
					reply.Services[name] = tags
				}
			}
		}
		return err
	})
}

// filteredServices answers CatalogServices with a filter, which Consul
// applies to the service instances before it groups their tags by name:
// only the instances the token may read and the filter matches count.
func filteredServices(ws memdb.WatchSet, st *state.Store, args *structs.DCSpecificRequest,
	f *filter.Filter[structs.ServiceNode], authz *acl.Authorizer, reply *structs.IndexedServices) error {
	idx, instances, err := st.ServiceInstances(ws, args.NodeMetaFilters)
	if err != nil {
		return err
	}
	reply.Index = idx
	instances, reply.ResultsFilteredByACLs = keep(instances, func(n structs.ServiceNode) bool {
		return authz.Allowed(acl.Service, n.ServiceName, acl.Read)
	})
	if instances, err = f.Slice(instances); err != nil {
		return err
	}
	union := structs.TagUnion{}
	for _, n := range instances {
		union.Add(n.ServiceName, n.ServiceTags)
	}
	reply.Services = union.Map()
	return nil
}

// CatalogServiceNodes lists a service's instances.
func (s *Server) CatalogServiceNodes(ctx context.Context, args *structs.ServiceSpecificRequest, reply *structs.IndexedServiceNodes) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "CatalogServiceNodes", &args.QueryOptions, args, reply); done {
		return err
	}
	f, err := filter.ServiceNodes(args.Filter)
	if err != nil {
		return err
	}
	authz, err := s.authorize(ctx, args.Token)
	if err != nil {
		return err
	}
	return s.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.Store) error {
		idx, sn, err := st.ServiceNodes(ws, args.ServiceName, args.ServiceTags, args.NodeMetaFilters)
		if err != nil {
			return err
		}
		reply.Index = idx
		sn, reply.ResultsFilteredByACLs = keep(sn, func(n structs.ServiceNode) bool {
			return authz.Allowed(acl.Node, n.Node, acl.Read)
		})
		if !authz.Allowed(acl.Service, args.ServiceName, acl.Read) {
			reply.ServiceNodes = []structs.ServiceNode{}
			hiddenResult(&reply.QueryMeta)
			return nil
		}
		reply.ServiceNodes, err = f.Slice(sn)
		return err
	})
}

// CatalogNodeServices returns a node and its services.
func (s *Server) CatalogNodeServices(ctx context.Context, args *structs.NodeSpecificRequest, reply *structs.IndexedNodeServices) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "CatalogNodeServices", &args.QueryOptions, args, reply); done {
		return err
	}
	f, err := filter.Services(args.Filter)
	if err != nil {
		return err
	}
	authz, err := s.authorize(ctx, args.Token)
	if err != nil {
		return err
	}
	return s.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.Store) error {
		idx, n, svcs, err := st.NodeServices(ws, args.Node)
		if err != nil {
			return err
		}
		reply.Index, reply.Node = idx, n
		svcs, reply.ResultsFilteredByACLs = keep(svcs, func(sv *structs.NodeService) bool {
			return authz.Allowed(acl.Service, sv.Service, acl.Read)
		})
		if !authz.Allowed(acl.Node, args.Node, acl.Read) {
			reply.Node, reply.Services = nil, nil
			hiddenResult(&reply.QueryMeta)
			return nil
		}
		reply.Services, err = f.Slice(svcs)
		return err
	})
}

// HealthNodeChecks lists one node's checks.
func (s *Server) HealthNodeChecks(ctx context.Context, args *structs.NodeSpecificRequest, reply *structs.IndexedHealthChecks) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "HealthNodeChecks", &args.QueryOptions, args, reply); done {
		return err
	}
	f, err := filter.Checks(args.Filter)
	if err != nil {
		return err
	}
	authz, err := s.authorize(ctx, args.Token)
	if err != nil {
		return err
	}
	visible := func(c *structs.HealthCheck) bool { return authz.CanReadCheck(c.Node, c.ServiceName) }
	return s.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.Store) error {
		idx, checks, err := st.NodeChecks(ws, args.Node)
		if err != nil {
			return err
		}
		reply.Index = idx
		checks, reply.ResultsFilteredByACLs = keep(checks, visible)
		if !authz.Allowed(acl.Node, args.Node, acl.Read) {
			hiddenResult(&reply.QueryMeta)
		}
		reply.HealthChecks, err = f.Slice(checks)
		return err
	})
}

// HealthServiceChecks lists the checks of a service's instances.
func (s *Server) HealthServiceChecks(ctx context.Context, args *structs.ServiceSpecificRequest, reply *structs.IndexedHealthChecks) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "HealthServiceChecks", &args.QueryOptions, args, reply); done {
		return err
	}
	f, err := filter.Checks(args.Filter)
	if err != nil {
		return err
	}
	authz, err := s.authorize(ctx, args.Token)
	if err != nil {
		return err
	}
	visible := func(c *structs.HealthCheck) bool { return authz.CanReadCheck(c.Node, c.ServiceName) }
	return s.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.Store) error {
		idx, checks, err := st.ServiceChecks(ws, args.ServiceName, args.NodeMetaFilters)
		if err != nil {
			return err
		}
		reply.Index = idx
		checks, reply.ResultsFilteredByACLs = keep(checks, visible)
		if !authz.Allowed(acl.Service, args.ServiceName, acl.Read) {
			hiddenResult(&reply.QueryMeta)
		}
		reply.HealthChecks, err = f.Slice(checks)
		return err
	})
}

// HealthChecksInState lists checks in a state.
func (s *Server) HealthChecksInState(ctx context.Context, args *structs.ChecksInStateRequest, reply *structs.IndexedHealthChecks) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "HealthChecksInState", &args.QueryOptions, args, reply); done {
		return err
	}
	f, err := filter.Checks(args.Filter)
	if err != nil {
		return err
	}
	authz, err := s.authorize(ctx, args.Token)
	if err != nil {
		return err
	}
	visible := func(c *structs.HealthCheck) bool { return authz.CanReadCheck(c.Node, c.ServiceName) }
	return s.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.Store) error {
		idx, checks, err := st.ChecksInState(ws, args.State, args.NodeMetaFilters)
		if err != nil {
			return err
		}
		reply.Index = idx
		checks, reply.ResultsFilteredByACLs = keep(checks, visible)
		reply.HealthChecks, err = f.Slice(checks)
		return err
	})
}

// HealthServiceNodes lists a service's instances with their checks.
func (s *Server) HealthServiceNodes(ctx context.Context, args *structs.ServiceSpecificRequest, reply *structs.IndexedCheckServiceNodes) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "HealthServiceNodes", &args.QueryOptions, args, reply); done {
		return err
	}
	f, err := filter.Health(args.Filter)
	if err != nil {
		return err
	}
	authz, err := s.authorize(ctx, args.Token)
	if err != nil {
		return err
	}
	return s.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.Store) error {
		idx, nodes, err := st.CheckServiceNodes(ws, args.ServiceName, args.ServiceTags, args.NodeMetaFilters, args.PassingOnly)
		if err != nil {
			return err
		}
		reply.Index = idx
		nodes, reply.ResultsFilteredByACLs = keep(nodes, func(n structs.CheckServiceNode) bool {
			return authz.Allowed(acl.Node, n.Node.Node, acl.Read)
		})
		if !authz.Allowed(acl.Service, args.ServiceName, acl.Read) {
			reply.Nodes = []structs.CheckServiceNode{}
			hiddenResult(&reply.QueryMeta)
			return nil
		}
		reply.Nodes, err = f.Slice(nodes)
		return err
	})
}
