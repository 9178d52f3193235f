package server

import (
	"context"
	"strconv"

	"github.com/hashicorp/raft"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/structs"
)

// RaftConfiguration lists the raft servers, naming each by its gossip node.
func (s *Server) RaftConfiguration(ctx context.Context, args *structs.DCSpecificRequest, reply *structs.RaftConfigurationReply) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if err := s.authorizeGlobal(ctx, args.Token, acl.Operator, acl.Read); err != nil {
		return err
	}
	if s.raft == nil {
		reply.Servers = []*structs.RaftServer{{ID: s.cfg.NodeID, Node: s.cfg.NodeName, Address: s.cfg.RPCAddr,
			Leader: true, Voter: true, ProtocolVersion: "3", LastIndex: s.Store().LatestIndex()}}
		return nil
	}
	if done, err := s.forward(ctx, "RaftConfiguration", &args.QueryOptions, args, reply); done {
		return err
	}
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	names := map[string]string{}
	if s.cfg.Members != nil {
		for _, m := range s.cfg.Members() {
			if id := m.ID(); id != "" {
				names[id] = m.Name
			}
		}
	}
	leader := s.leaderAddr()
	last, _ := strconv.ParseUint(s.raft.Stats()["last_log_index"], 10, 64)
	for _, srv := range f.Configuration().Servers {
		reply.Servers = append(reply.Servers, &structs.RaftServer{
			ID: string(srv.ID), Node: names[string(srv.ID)], Address: string(srv.Address),
			Leader: string(srv.Address) == leader, Voter: srv.Suffrage == raft.Voter, ProtocolVersion: "3",
			LastIndex: last,
		})
	}
	reply.Index = f.Index()
	return nil
}

// RaftRemovePeer removes a server from the raft configuration, by ID or
// address: for a server that is gone for good.
func (s *Server) RaftRemovePeer(ctx context.Context, args *structs.RaftRemovePeerRequest) (bool, error) {
	if err := s.checkDC(args.Datacenter); err != nil {
		return false, err
	}
	if err := s.authorizeGlobal(ctx, args.Token, acl.Operator, acl.Write); err != nil {
		return false, err
	}
	if s.raft == nil {
		return false, structs.BadInput("a -dev server has no raft peers")
	}
	var ok bool
	if done, err := s.forward(ctx, "RaftRemovePeer", nil, args, &ok); done {
		return ok, err
	}
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return false, err
	}
	for _, srv := range f.Configuration().Servers {
		if (args.ID != "" && string(srv.ID) == args.ID) || (args.Address != "" && string(srv.Address) == args.Address) {
			if err := s.raft.RemoveServer(srv.ID, 0, 0).Error(); err != nil {
				return false, err
			}
			s.logger.Info("removed a raft peer on request", "id", srv.ID, "address", srv.Address)
			return true, nil
		}
	}
	return false, structs.BadInput("no raft peer with ID %q or address %q", args.ID, args.Address)
}
