package server

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/beacon-sd/beacon/core/rpc"
	"github.com/beacon-sd/beacon/core/structs"
)

const (
	serfCheckFailedOutput = "Agent not live or unreachable"
	// reconcileRetry is how soon a reconcile pass that failed is tried
	// again.
	reconcileRetry = time.Second
)

// monitorLeadership starts the leader's duties when this server becomes
// leader and stops them when it no longer is.
func (s *Server) monitorLeadership() {
	defer s.wg.Done()
	var stop func()
	stopDuties := func() {
		if stop != nil {
			stop()
			stop = nil
		}
		s.sessions.stopAll()
		s.autopilot.reset()
	}
	defer stopDuties()
	for {
		select {
		case <-s.shutdownCh:
			return
		case leader := <-s.raft.LeaderCh():
			if leader && stop == nil {
				stop = s.startLeaderLoop()
				s.logger.Info("cluster leadership acquired")
			} else if !leader && stop != nil {
				stopDuties()
				s.logger.Info("cluster leadership lost")
			}
		}
	}
}

// startLeaderLoop runs leaderLoop until the returned func is called.
func (s *Server) startLeaderLoop() func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.leaderLoop(ctx) }()
	return func() { cancel(); <-done }
}

// leaderLoop runs while this server leads: it waits for the log to be
// applied, restores session timers, then keeps the catalog in line with
// gossip and reaps what has expired.
func (s *Server) leaderLoop(ctx context.Context) {
	// Until every entry committed by earlier leaders is applied here, this
	// leader's state may be behind what clients were told: no reads yet.
	s.readyForReads.Store(false)
	defer s.readyForReads.Store(false)
	for {
		err := s.raft.Barrier(time.Minute).Error()
		if err == nil {
			break
		}
		s.logger.Error("leader barrier failed", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	autopilotStored := s.initAutopilot()
	s.readyForReads.Store(true)
	s.restoreSessionTimers()
	aclsReady := s.initializeACLs() == nil
	if err := s.initializeCA(); err != nil {
		s.logger.Error("initialize the Connect CA failed; will retry", "error", err)
	}
	reconcile := time.NewTicker(s.cfg.ReconcileInterval)
	defer reconcile.Stop()
	servers := time.NewTicker(autopilotInterval)
	defer servers.Stop()
	reap := time.NewTicker(s.tombstones.granularity)
	defer reap.Stop()
	// A pass that could not write everything (a raft write failed or timed
	// out) is retried soon rather than at the next member event or tick.
	retry := time.NewTimer(0)
	defer retry.Stop()
	pass := func() {
		if s.reconcile() {
			retry.Stop()
		} else {
			retry.Reset(reconcileRetry)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.cfg.MemberEvents:
			pass()
		case <-retry.C:
			pass()
		case <-reconcile.C:
			pass()
			if err := s.initializeCA(); err != nil {
				s.logger.Error("Connect CA upkeep failed; will retry", "error", err)
			}
			if !aclsReady {
				if err := s.initializeACLs(); err != nil {
					s.logger.Error("initialize ACLs failed; will retry", "error", err)
				} else {
					aclsReady = true
				}
			}
		case <-servers.C:
			if !autopilotStored {
				autopilotStored = s.initAutopilot()
			}
			s.autopilotPass(ctx)
		case now := <-reap.C:
			s.reapTombstones(now)
		}
	}
}

// restoreSessionTimers starts TTL timers for every session of the store,
// as a new leader must.
func (s *Server) restoreSessionTimers() {
	_, list, err := s.Store().SessionList(nil, "")
	if err != nil {
		s.logger.Error("restore session timers failed", "error", err)
		return
	}
	for _, sess := range list {
		if ttl, _ := structs.ParseDuration(sess.TTL); ttl > 0 {
			s.sessions.reset(sess.ID, ttl)
		}
	}
}

// reconcile makes the catalog follow gossip: alive members registered with
// a passing serfHealth check, failed ones critical, departed (and
// departing) ones removed, and servers added to or removed from raft. It
// reports whether every change was written.
func (s *Server) reconcile() bool {
	if s.cfg.Members == nil {
		return true
	}
	s.reconcileMu.Lock()
	defer s.reconcileMu.Unlock()
	members := s.cfg.Members()
	known := map[string]bool{}
	ok := true
	for i := range members {
		m := &members[i]
		if m.Tags["dc"] != s.cfg.Datacenter {
			continue
		}
		known[m.Name] = true
		var err error
		switch m.Status {
		case structs.MemberAlive:
			if s.askedToLeave(m) {
				err = s.handleLeaving(m)
			} else {
				err = s.handleAlive(m)
			}
		case structs.MemberLeaving:
			err = s.handleLeaving(m)
		case structs.MemberFailed:
			delete(s.leaving, m.Name)
			err = s.handleFailed(m)
		case structs.MemberLeft:
			delete(s.leaving, m.Name)
			err = s.handleLeft(m)
		}
		if err != nil {
			ok = false
			s.logger.Error("reconcile member failed; will retry", "member", m.Name, "error", err)
		}
	}
	for name := range s.leaving {
		if !known[name] {
			delete(s.leaving, name)
		}
	}
	return s.reapUnknown(known) && ok
}

func (s *Server) nodeState(name string) (*structs.Node, *structs.HealthCheck, bool, error) {
	st := s.Store()
	_, node, svcs, err := st.NodeServices(nil, name)
	if err != nil || node == nil {
		return nil, nil, false, err
	}
	_, checks, err := st.NodeChecks(nil, name)
	if err != nil {
		return nil, nil, false, err
	}
	var serf *structs.HealthCheck
	for _, c := range checks {
		if c.CheckID == structs.SerfCheckID {
			serf = c
		}
	}
	hasConsul := false
	for _, sv := range svcs {
		hasConsul = hasConsul || sv.ID == structs.ConsulServiceID
	}
	return node, serf, hasConsul, nil
}

func (s *Server) handleAlive(m *structs.Member) error {
	if m.IsServer() {
		s.ensureVoter(m)
		delete(s.failedAt, m.Name)
	}
	node, serf, hasConsul, err := s.nodeState(m.Name)
	if err != nil {
		return err
	}
	if node != nil && node.Address == m.Addr && serf != nil && serf.Status == structs.HealthPassing &&
		(!m.IsServer() || hasConsul) {
		return nil
	}
	req := &structs.RegisterRequest{
		Datacenter: s.cfg.Datacenter, ID: m.ID(), Node: m.Name, Address: m.Addr,
		SkipNodeUpdate: node != nil && node.Address == m.Addr,
		Check: &structs.HealthCheck{
			CheckID: structs.SerfCheckID, Name: structs.SerfCheckName,
			Status: structs.HealthPassing, Output: structs.SerfCheckAliveOutput,
		},
	}
	if node == nil {
		req.NodeMeta = map[string]string{structs.NetworkSegmentMetaKey: ""}
		req.TaggedAddresses = map[string]string{"lan": m.Addr, "lan_ipv4": m.Addr, "wan": m.Addr, "wan_ipv4": m.Addr}
	}
	if m.IsServer() {
		port := 0
		if _, p, err := splitPort(m.RPCAddr()); err == nil {
			port = p
		}
		req.Service = &structs.NodeService{
			ID: structs.ConsulServiceID, Service: structs.ConsulServiceName, Port: port,
			Weights: structs.Weights{Passing: 1, Warning: 1},
			Meta:    map[string]string{"version": m.Tags["build"]},
		}
	}
	_, err = s.apply(&structs.Command{Type: structs.RegisterRequestType, Register: req})
	return err
}

func (s *Server) handleFailed(m *structs.Member) error {
	if m.IsServer() {
		if _, ok := s.failedAt[m.Name]; !ok {
			s.failedAt[m.Name] = time.Now()
		}
	}
	node, serf, _, err := s.nodeState(m.Name)
	if err != nil || node == nil || (serf != nil && serf.Status == structs.HealthCritical) {
		return err
	}
	_, err = s.apply(&structs.Command{Type: structs.RegisterRequestType, Register: &structs.RegisterRequest{
		Datacenter: s.cfg.Datacenter, Node: m.Name, Address: node.Address, SkipNodeUpdate: true,
		Check: &structs.HealthCheck{
			CheckID: structs.SerfCheckID, Name: structs.SerfCheckName,
			Status: structs.HealthCritical, Output: serfCheckFailedOutput,
		},
	}})
	return err
}

// reapUnknown deregisters agent nodes (those with a serfHealth check) that
// gossip no longer knows, e.g. failed nodes reaped after reconnect_timeout.
func (s *Server) reapUnknown(known map[string]bool) bool {
	_, checks, err := s.Store().ChecksInState(nil, structs.HealthAny, nil)
	if err != nil {
		return false
	}
	ok := true
	for _, c := range checks {
		if c.CheckID != structs.SerfCheckID || known[c.Node] || c.Node == s.cfg.NodeName {
			continue
		}
		if err := s.deregisterNode(c.Node); err != nil {
			ok = false
			s.logger.Error("reap node failed", "node", c.Node, "error", err)
		} else {
			s.logger.Info("deregistered a node gossip no longer knows", "node", c.Node)
		}
	}
	return ok
}

// ensureVoter adds an alive server of this datacenter to the raft
// configuration if it is not there yet.
func (s *Server) ensureVoter(m *structs.Member) {
	addr := m.RPCAddr()
	if addr == "" || m.ID() == "" {
		return
	}
	f := s.raft.GetConfiguration()
	if f.Error() != nil {
		return
	}
	for _, srv := range f.Configuration().Servers {
		if srv.ID == raft.ServerID(m.ID()) && srv.Address == raft.ServerAddress(addr) {
			return
		}
		if srv.Address == raft.ServerAddress(addr) && srv.ID != raft.ServerID(m.ID()) {
			// The address now belongs to a new server (a replacement).
			s.removePeer(string(srv.ID), addr, "its address now belongs to "+m.Name)
		}
	}
	if !readsGroups(m) {
		s.logger.Error("not adding a server to raft: it runs an older build that cannot read this cluster's log; upgrade it",
			"server", m.Name, "address", addr, "build", m.Tags["build"])
		return
	}
	if err := s.checkServerCert(addr); err != nil {
		s.logger.Error("not adding a server to raft: its certificate is not a server certificate of this datacenter",
			"server", m.Name, "address", addr, "error", err)
		return
	}
	// A new server votes once it has been healthy for the stabilization
	// time (see promoteStable); until then it only receives the log.
	if wait := s.autopilotConfig().ServerStabilizationTime; wait > 0 {
		if err := s.raft.AddNonvoter(raft.ServerID(m.ID()), raft.ServerAddress(addr), 0, 0).Error(); err != nil {
			s.logger.Error("adding a server to raft failed", "server", m.Name, "error", err)
			return
		}
		s.logger.Info("added a server to raft as a non-voter; it becomes a voter once healthy for the server stabilization time",
			"server", m.Name, "address", addr, "server_stabilization_time", wait)
		return
	}
	if err := s.raft.AddVoter(raft.ServerID(m.ID()), raft.ServerAddress(addr), 0, 0).Error(); err != nil {
		s.logger.Error("adding a server to raft failed", "server", m.Name, "error", err)
		return
	}
	s.logger.Info("added a server to raft", "server", m.Name, "address", addr)
}

// checkServerCert calls a would-be peer once and returns the error if its
// TLS certificate fails verification (with verify_server_hostname: one not
// issued for server.<datacenter>.<domain>). Other failures are left to
// raft, which retries.
func (s *Server) checkServerCert(addr string) error {
	if s.cfg.Pool == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.cfg.Pool.Call(ctx, addr, "StatusLeader", nil, nil)
	if rpc.IsCertificateError(err) {
		return err
	}
	return nil
}

func (s *Server) removePeer(id, addr, why string) {
	if id == "" || id == s.cfg.NodeID {
		return
	}
	f := s.raft.GetConfiguration()
	if f.Error() != nil {
		return
	}
	for _, srv := range f.Configuration().Servers {
		if srv.ID == raft.ServerID(id) {
			if err := s.raft.RemoveServer(srv.ID, 0, 0).Error(); err != nil {
				s.logger.Error("removing a server from raft failed", "id", id, "error", err)
			} else {
				s.logger.Info("removed a server from raft", "id", id, "address", addr, "because", why)
			}
			return
		}
	}
}

// cleanupDeadServers removes from raft the servers failed for longer than
// DeadServerTimeout that deadToRemove picks.
func (s *Server) cleanupDeadServers(conf structs.AutopilotConfig) {
	if s.cfg.Members == nil {
		return
	}
	f := s.raft.GetConfiguration()
	if f.Error() != nil {
		return
	}
	var dead []structs.Member
	for _, m := range s.cfg.Members() {
		if m.IsServer() && m.Status == structs.MemberFailed && m.Tags["dc"] == s.cfg.Datacenter {
			if at, ok := s.failedAt[m.Name]; ok && time.Since(at) > s.cfg.DeadServerTimeout {
				dead = append(dead, m)
			}
		}
	}
	remove, kept := deadToRemove(f.Configuration().Servers, dead, conf)
	if kept != "" {
		s.logger.Warn("not removing failed servers from raft", "reason", kept)
	}
	why := "it has been failed for over " + s.cfg.DeadServerTimeout.String()
	for _, m := range remove {
		s.removePeer(m.ID(), m.RPCAddr(), why)
	}
}

// deadToRemove picks which dead servers to remove from raft under conf:
// none unless CleanupDeadServers is set; every non-voter; voters only
// when fewer than half of them are dead (so the rest still make a quorum),
// and never leaving fewer than MinQuorum voters. kept says why dead
// servers stay, "" if none do.
func deadToRemove(servers []raft.Server, dead []structs.Member, conf structs.AutopilotConfig) (remove []structs.Member, kept string) {
	if !conf.CleanupDeadServers || len(dead) == 0 {
		return nil, ""
	}
	suffrage := map[string]raft.ServerSuffrage{}
	voters := 0
	for _, srv := range servers {
		suffrage[string(srv.ID)] = srv.Suffrage
		if srv.Suffrage == raft.Voter {
			voters++
		}
	}
	var deadVoters []structs.Member
	for _, m := range dead {
		switch st, ok := suffrage[m.ID()]; {
		case !ok:
		case st == raft.Voter:
			deadVoters = append(deadVoters, m)
		default:
			remove = append(remove, m)
		}
	}
	switch {
	case len(deadVoters) == 0:
	case len(deadVoters) >= (voters+1)/2:
		kept = fmt.Sprintf("%d of the %d voters are failed; removing them could lose the quorum", len(deadVoters), voters)
	default:
		for _, m := range deadVoters {
			if voters-1 < int(conf.MinQuorum) {
				kept = fmt.Sprintf("removing %s would leave %d voters, fewer than MinQuorum (%d)", m.Name, voters-1, conf.MinQuorum)
				break
			}
			voters--
			remove = append(remove, m)
		}
	}
	return remove, kept
}
