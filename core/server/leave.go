package server

import (
	"context"
	"time"

	"github.com/beacon-sd/beacon/core/structs"
)

// leaveHold is how long the leader keeps a node that asked to leave out of
// the catalog while its own gossip view still has the node alive; the
// agent leaves gossip within seconds of asking, so a node still alive after
// that did not leave after all (or came back without being seen gone).
const leaveHold = 30 * time.Second

// NodeLeave takes the node of an agent that is leaving the cluster out of
// the catalog, and answers once the removal is committed: the agent then
// leaves gossip. Until the leader's gossip view also has the node gone,
// reconcile does not put it back.
func (s *Server) NodeLeave(ctx context.Context, args *structs.DeregisterRequest) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if done, err := s.forward(ctx, "NodeLeave", nil, args, nil); done {
		return err
	}
	if args.Node == "" {
		return structs.BadInput("Must provide node")
	}
	if args.ServiceID != "" || args.CheckID != "" {
		return structs.BadInput("a leave removes the whole node; ServiceID and CheckID must be empty")
	}
	if err := s.authorizeDeregister(ctx, args); err != nil {
		return err
	}
	// Under reconcileMu, so that a reconcile pass that read the member as
	// alive before this call cannot register the node again after it.
	s.reconcileMu.Lock()
	defer s.reconcileMu.Unlock()
	s.leaving[args.Node] = time.Now()
	node, _, _, err := s.nodeState(args.Node)
	if err != nil || node == nil {
		return err
	}
	s.logger.Info("removing a leaving node from the catalog", "node", args.Node)
	return s.deregisterNode(args.Node)
}

// askedToLeave reports whether an alive member asked to leave within
// leaveHold; called under reconcileMu.
func (s *Server) askedToLeave(name string) bool {
	at, ok := s.leaving[name]
	if ok && time.Since(at) > leaveHold {
		delete(s.leaving, name)
		s.logger.Warn("a node that asked to leave is still alive in gossip; listing it again", "node", name)
		return false
	}
	return ok
}

// handleLeaving takes a client member that announced its leave out of the
// catalog at once; a server stays (and in raft) until it has left.
func (s *Server) handleLeaving(m *structs.Member) error {
	if m.IsServer() {
		return nil
	}
	return s.handleLeft(m)
}

// handleLeft removes a departed member: from raft if it was a server, and
// its node from the catalog.
func (s *Server) handleLeft(m *structs.Member) error {
	if m.IsServer() {
		s.removePeer(m.ID(), m.RPCAddr(), "it left")
		delete(s.failedAt, m.Name)
	}
	if m.Name == s.cfg.NodeName {
		return nil
	}
	node, _, _, err := s.nodeState(m.Name)
	if err != nil || node == nil {
		return err
	}
	return s.deregisterNode(m.Name)
}

func (s *Server) deregisterNode(name string) error {
	_, err := s.apply(&structs.Command{Type: structs.DeregisterRequestType, Deregister: &structs.DeregisterRequest{
		Datacenter: s.cfg.Datacenter, Node: name}})
	return err
}
