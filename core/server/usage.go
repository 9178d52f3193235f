package server

import (
	"context"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/state"
	"github.com/beacon-sd/beacon/core/structs"
)

// OperatorUsage counts the datacenter's nodes, services and instances; a
// blocking read wakes when nodes or services change.
func (s *Server) OperatorUsage(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.UsageReply) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if err := s.authorizeGlobal(ctx, args.Token, acl.Operator, acl.Read); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "OperatorUsage", &args.QueryOptions, args, reply); done {
		return err
	}
	return s.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.Store) error {
		idx, u, err := st.Usage(ws)
		reply.Index, reply.Usage = idx, map[string]structs.ServiceUsage{s.cfg.Datacenter: u}
		return err
	})
}
