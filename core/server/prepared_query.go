package server

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/query"
	"github.com/beacon-sd/beacon/core/state"
	"github.com/beacon-sd/beacon/core/structs"
)

// PreparedQueryApply creates, updates or deletes a prepared query and
// returns its ID. A query with a name (or a template) needs query:write on
// its name, as it is and as it was.
func (s *Server) PreparedQueryApply(ctx context.Context, args *structs.PreparedQueryRequest) (string, error) {
	if err := s.checkDC(args.Datacenter); err != nil {
		return "", err
	}
	if args.Query == nil {
		return "", structs.BadInput("missing prepared query definition")
	}
	var id string
	if done, err := s.forward(ctx, "PreparedQueryApply", nil, args, &id); done {
		return id, err
	}
	q := args.Query
	switch args.Op {
	case structs.PreparedQueryCreate:
		if q.ID != "" {
			return "", structs.BadInput("ID must be empty when creating a new prepared query")
		}
		// A create sent again with its request ID (its first attempt's
		// outcome unknown) applies once; it must answer the ID that
		// attempt stored, so the ID is the request's.
		q.ID = args.RequestID
		if !structs.IsUUID(q.ID) {
			q.ID = structs.GenerateUUID()
		}
	case structs.PreparedQueryUpdate, structs.PreparedQueryDelete:
		if q.ID == "" {
			return "", structs.BadInput("Missing prepared query ID")
		}
	default:
		return "", structs.BadInput("unknown prepared query operation %q", args.Op)
	}
	authz, err := s.authorize(ctx, args.Token)
	if err != nil {
		return "", err
	}
	if args.Op != structs.PreparedQueryDelete {
		if prefix, ok := q.ACLPrefix(); ok {
			if err := authz.Write(acl.Query, prefix); err != nil {
				return "", err
			}
		}
	}
	if args.Op != structs.PreparedQueryCreate {
		_, old, err := s.Store().PreparedQueryGet(nil, q.ID)
		if err != nil {
			return "", err
		}
		if old == nil {
			return "", fmt.Errorf("%w: cannot %s prepared query '%s', which does not exist", structs.ErrQueryNotFound, args.Op, q.ID)
		}
		if prefix, ok := old.ACLPrefix(); ok {
			if err := authz.Write(acl.Query, prefix); err != nil {
				return "", err
			}
		}
	}
	if args.Op != structs.PreparedQueryDelete {
		if err := query.Check(q); err != nil {
			return "", err
		}
	}
	if _, err := s.apply(&structs.Command{Type: structs.PreparedQueryRequestType, PreparedQuery: args}); err != nil {
		return "", err
	}
	return q.ID, nil
}

// queryReader is what a token may see of prepared queries: a query with a
// name (or a template) needs query:read on it; one without, management
// rights. Only ACL managers see the tokens queries run with.
type queryReader struct{ authz *acl.Authorizer }

func (r queryReader) manager() bool { return r.authz.Allowed(acl.ACL, "", acl.Write) }

func (r queryReader) may(q *structs.PreparedQuery) bool {
	if r.manager() {
		return true
	}
	prefix, ok := q.ACLPrefix()
	return ok && r.authz.Allowed(acl.Query, prefix, acl.Read)
}

// show is q as the token may see it: the token hidden unless it manages
// ACLs. Rows are shared with the store, so a changed one is a copy.
func (r queryReader) show(q *structs.PreparedQuery) *structs.PreparedQuery {
	if q.Token == "" || r.manager() {
		return q
	}
	c := q.Clone()
	c.Token = structs.RedactedToken
	return c
}

func (r queryReader) denied(q *structs.PreparedQuery) error {
	prefix, _ := q.ACLPrefix()
	return r.authz.Check(acl.Query, prefix, acl.Read)
}

// PreparedQueryGet reads one prepared query by ID. A query without a name
// is shown to whoever has its ID.
func (s *Server) PreparedQueryGet(ctx context.Context, args *structs.PreparedQuerySpecificRequest, reply *structs.IndexedPreparedQueries) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "PreparedQueryGet", &args.QueryOptions, args, reply); done {
		return err
	}
	authz, err := s.authorize(ctx, args.Token)
	if err != nil {
		return err
	}
	r := queryReader{authz}
	return s.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.Store) error {
		idx, q, err := st.PreparedQueryGet(ws, args.QueryID)
		reply.Index = idx
		switch {
		case err != nil:
			return err
		case q == nil:
			return structs.ErrQueryNotFound
		}
		if _, named := q.ACLPrefix(); named && !r.may(q) {
			return r.denied(q)
		}
		reply.Queries = []*structs.PreparedQuery{r.show(q)}
		return nil
	})
}

// PreparedQueryList lists the prepared queries the token may read.
func (s *Server) PreparedQueryList(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.IndexedPreparedQueries) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "PreparedQueryList", &args.QueryOptions, args, reply); done {
		return err
	}
	authz, err := s.authorize(ctx, args.Token)
	if err != nil {
		return err
	}
	r := queryReader{authz}
	return s.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.Store) error {
		idx, list, err := st.PreparedQueryList(ws)
		reply.Index = idx
		reply.Queries, reply.ResultsFilteredByACLs = keep(list, r.may)
		for i, q := range reply.Queries {
			reply.Queries[i] = r.show(q)
		}
		return err
	})
}

// PreparedQueryExplain shows the query an ID or name resolves to, a
// template rendered for the name.
func (s *Server) PreparedQueryExplain(ctx context.Context, args *structs.PreparedQueryExecuteRequest, reply *structs.PreparedQueryExplainResponse) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "PreparedQueryExplain", &args.QueryOptions, args, reply); done {
		return err
	}
	authz, err := s.authorize(ctx, args.Token)
	if err != nil {
		return err
	}
	r := queryReader{authz}
	return s.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.Store) error {
		idx, q, err := st.PreparedQueryResolve(ws, args.QueryIDOrName, args.Agent.Segment)
		reply.Index = idx
		switch {
		case err != nil:
			return err
		case q == nil:
			return structs.ErrQueryNotFound
		case !r.may(q):
			return r.denied(q)
		}
		reply.Query = *r.show(q)
		return nil
	})
}

// PreparedQueryExecute runs a prepared query: the healthy instances of its
// service that match it and that its token (the query's own, else the
// caller's) may read, shuffled, the node it is near first, cut to the
// limit. Its index is the later of the query's and the service's health.
func (s *Server) PreparedQueryExecute(ctx context.Context, args *structs.PreparedQueryExecuteRequest, reply *structs.PreparedQueryExecuteResponse) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if args.Limit < 0 {
		return structs.BadInput("Bad limit %d: it must be 0 (no limit) or more", args.Limit)
	}
	if done, err := s.forward(ctx, "PreparedQueryExecute", &args.QueryOptions, args, reply); done {
		return err
	}
	return s.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.Store) error {
		qidx, q, err := st.PreparedQueryResolve(ws, args.QueryIDOrName, args.Agent.Segment)
		reply.Index = qidx
		switch {
		case err != nil:
			return err
		case q == nil:
			return structs.ErrQueryNotFound
		}
		token := args.Token
		if q.Token != "" {
			token = q.Token
		}
		authz, err := s.authorize(ctx, token)
		if err != nil {
			return err
		}
		sidx, entries, err := st.CheckServiceNodes(ws, q.Service.Service, nil, nil, false)
		if err != nil {
			return err
		}
		nodes, filtered := keep(query.Select(&q.Service, entries), func(e structs.CheckServiceNode) bool {
			return authz.Allowed(acl.Node, e.Node.Node, acl.Read) && authz.Allowed(acl.Service, e.Service.Service, acl.Read)
		})
		rand.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
		if near := s.nearNode(st, args, q); near != "" {
			nearFirst(nodes, near)
		}
		if args.Limit > 0 && len(nodes) > args.Limit {
			nodes = nodes[:args.Limit]
		}
		reply.Index = max(qidx, sidx)
		reply.ResultsFilteredByACLs = filtered
		reply.Service, reply.Nodes, reply.DNS = q.Service.Service, nodes, q.DNS
		reply.Datacenter, reply.Failovers = s.cfg.Datacenter, 0
		if len(nodes) == 0 {
			reply.Failovers = s.failover(q)
		}
		return nil
	})
}

// nearNode is the node results are put nearest to: the caller's ?near=,
// else the query's Near; "_agent" is the agent that took the request,
// "_ip" the node at the caller's address.
func (s *Server) nearNode(st *state.Store, args *structs.PreparedQueryExecuteRequest, q *structs.PreparedQuery) string {
	near := args.Source.Node
	if near == "" {
		near = q.Service.Near
	}
	switch near {
	case "_agent":
		return args.Agent.Node
	case "_ip":
		if args.Source.IP == "" {
			return ""
		}
		_, nodes, err := st.Nodes(nil, nil)
		if err != nil {
			return ""
		}
		for _, n := range nodes {
			if n.Address == args.Source.IP {
				return n.Node
			}
		}
		return ""
	}
	return near
}

// nearFirst moves the entry of node to the front. Without network
// coordinates there is no distance to sort the others by: they stay
// shuffled.
func nearFirst(nodes []structs.CheckServiceNode, node string) {
	for i := range nodes {
		if nodes[i].Node.Node == node {
			nodes[0], nodes[i] = nodes[i], nodes[0]
			return
		}
	}
}

// failover asks the other datacenters a query names, in order, when the
// local one has nothing, and returns how many it asked. A datacenter this
// server does not know is skipped, as Consul skips it; and it knows none
// besides its own until WAN federation lands, so today the answer stays
// empty with Failovers 0.
func (s *Server) failover(q *structs.PreparedQuery) int {
	f := &q.Service.Failover
	asked := 0
	for _, dc := range query.FailoverDatacenters(f, s.otherDatacenters()) {
		asked++
		s.logger.Warn("prepared query failover: no path to the datacenter", "query", q.ID, "datacenter", dc)
	}
	if f.NearestN > 0 || len(f.Datacenters) > 0 || len(f.Targets) > 0 {
		s.logger.Debug("prepared query found no instance here; failover datacenters this server does not know are skipped",
			"query", q.ID, "service", q.Service.Service, "asked", asked)
	}
	return asked
}

// otherDatacenters are the datacenters besides this one that the server
// can reach, nearest first: none, with one datacenter.
func (s *Server) otherDatacenters() []string { return nil }
