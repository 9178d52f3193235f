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

// leaveRequest is a node's request to leave: when it came, and the run of
// the node's agent that gossip listed then ("" when unknown). An agent
// started again under the name is another run, and ends the hold at once.
type leaveRequest struct {
	at  time.Time
	run string
}

// NodeLeave takes the node of a client agent that is leaving the cluster
// out of the catalog, and answers once the removal is committed: the agent
// then leaves gossip. Until the leader's gossip view also has the node
// gone, reconcile does not put it back. A server's node is refused: a
// server leaves through gossip, and is taken out of raft and the catalog
// once it has left.
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
	m := s.member(args.Node)
	node, _, hasConsul, err := s.nodeState(args.Node)
	if err != nil {
		return err
	}
	// Gossip says which members are servers; a node it does not list is
	// taken for one if the catalog has the consul service on it.
	if (m != nil && m.IsServer()) || (m == nil && hasConsul) {
		return structs.BadInput("node %q is a server: a server leaves through gossip (beacon leave on it), and is taken out of raft and the catalog once it has left", args.Node)
	}
	req := leaveRequest{at: time.Now()}
	if m != nil {
		req.run = m.Run
	}
	s.leaving[args.Node] = req
	if node == nil {
		return nil
	}
	s.logger.Info("removing a leaving node from the catalog", "node", args.Node)
	return s.deregisterNode(args.Node)
}

// member is the gossip view's member of this datacenter named name, or nil.
func (s *Server) member(name string) *structs.Member {
	if s.cfg.Members == nil {
		return nil
	}
	for _, m := range s.cfg.Members() {
		if m.Name == name && m.Tags["dc"] == s.cfg.Datacenter {
			return &m
		}
	}
	return nil
}

// askedToLeave reports whether an alive member asked to leave within
// leaveHold, and has not started again since; called under reconcileMu.
func (s *Server) askedToLeave(m *structs.Member) bool {
	req, ok := s.leaving[m.Name]
	switch {
	case !ok:
		return false
	case req.run != "" && m.Run != "" && m.Run != req.run:
		delete(s.leaving, m.Name)
		s.logger.Info("a node that asked to leave has joined again; listing it", "node", m.Name)
		return false
	case time.Since(req.at) > leaveHold:
		delete(s.leaving, m.Name)
		s.logger.Warn("a node that asked to leave is still alive in gossip; listing it again", "node", m.Name)
		return false
	}
	return true
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
