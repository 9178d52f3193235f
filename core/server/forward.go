package server

import (
	"context"
	"fmt"
	"time"

	"github.com/beacon-sd/beacon/core/rpc"
	"github.com/beacon-sd/beacon/core/structs"
)

// holdTimeout is how long a call waits for a leader to appear before it
// fails with "No cluster leader".
const holdTimeout = 7 * time.Second

// forwardTimeout bounds a follower's call that carries a group of writes
// to the leader; a caller's own call is bounded by the caller.
const forwardTimeout = 30 * time.Second

// endpoints is the RPC method table; the names are agent.Backend's.
func (s *Server) endpoints() map[string]rpc.Endpoint {
	return map[string]rpc.Endpoint{
		"KVApply":              rpc.Write(s.KVApply),
		"KVApplyGroup":         rpc.Write(s.KVApplyGroup),
		"KVGet":                rpc.Read(s.KVGet),
		"KVList":               rpc.Read(s.KVList),
		"KVKeys":               rpc.Read(s.KVKeys),
		"CatalogRegister":      rpc.Do(s.CatalogRegister),
		"CatalogDeregister":    rpc.Do(s.CatalogDeregister),
		"NodeLeave":            rpc.Do(s.NodeLeave),
		"CatalogDatacenters":   rpc.Get(s.CatalogDatacenters),
		"CatalogNodes":         rpc.Read(s.CatalogNodes),
		"CatalogServices":      rpc.Read(s.CatalogServices),
		"CatalogServiceNodes":  rpc.Read(s.CatalogServiceNodes),
		"CatalogNodeServices":  rpc.Read(s.CatalogNodeServices),
		"HealthNodeChecks":     rpc.Read(s.HealthNodeChecks),
		"HealthServiceChecks":  rpc.Read(s.HealthServiceChecks),
		"HealthChecksInState":  rpc.Read(s.HealthChecksInState),
		"HealthServiceNodes":   rpc.Read(s.HealthServiceNodes),
		"SessionApply":         rpc.Write(s.SessionApply),
		"SessionGet":           rpc.Read(s.SessionGet),
		"SessionList":          rpc.Read(s.SessionList),
		"SessionNodeSessions":  rpc.Read(s.SessionNodeSessions),
		"SessionRenew":         rpc.Read(s.SessionRenew),
		"StatusLeader":         rpc.Get(s.StatusLeader),
		"StatusPeers":          rpc.Get(s.StatusPeers),
		"RaftHasState":         rpc.Get(s.raftHasState),
		"SnapshotSave":         rpc.Read(s.snapshotSaveRPC),
		"SnapshotRestore":      rpc.Write(s.SnapshotRestore),
		"RaftConfiguration":    rpc.Read(s.RaftConfiguration),
		"RaftRemovePeer":       rpc.Write(s.RaftRemovePeer),
		"ServerStats":          rpc.Get(s.ServerStats),
		"ACLResolve":           rpc.Write(s.ACLResolve),
		"ACLBootstrap":         rpc.Write(s.ACLBootstrap),
		"ACLTokenSet":          rpc.Write(s.ACLTokenSet),
		"ACLTokenDelete":       rpc.Write(s.ACLTokenDelete),
		"ACLTokenGet":          rpc.Read(s.ACLTokenGet),
		"ACLTokenList":         rpc.Read(s.ACLTokenList),
		"ACLPolicySet":         rpc.Write(s.ACLPolicySet),
		"ACLPolicyDelete":      rpc.Write(s.ACLPolicyDelete),
		"ACLPolicyGet":         rpc.Read(s.ACLPolicyGet),
		"ACLPolicyList":        rpc.Read(s.ACLPolicyList),
		"ACLRoleSet":           rpc.Write(s.ACLRoleSet),
		"ACLRoleDelete":        rpc.Write(s.ACLRoleDelete),
		"ACLRoleGet":           rpc.Read(s.ACLRoleGet),
		"ACLRoleList":          rpc.Read(s.ACLRoleList),
		"ACLAuthMethodSet":     rpc.Write(s.ACLAuthMethodSet),
		"ACLAuthMethodDelete":  rpc.Write(s.ACLAuthMethodDelete),
		"ACLAuthMethodGet":     rpc.Read(s.ACLAuthMethodGet),
		"ACLAuthMethodList":    rpc.Read(s.ACLAuthMethodList),
		"ACLBindingRuleSet":    rpc.Write(s.ACLBindingRuleSet),
		"ACLBindingRuleDelete": rpc.Write(s.ACLBindingRuleDelete),
		"ACLBindingRuleGet":    rpc.Read(s.ACLBindingRuleGet),
		"ACLBindingRuleList":   rpc.Read(s.ACLBindingRuleList),
		"ACLLogin":             rpc.Write(s.ACLLogin),
		"ACLLogout":            rpc.Write(s.ACLLogout),
		"TxnApply":             rpc.Write(s.TxnApply),
		"TxnRead":              rpc.Read(s.TxnRead),
		"ConnectCARoots":       rpc.Read(s.ConnectCARoots),
		"ConnectCAConfigGet":   rpc.Read(s.ConnectCAConfigGet),
		"ConnectCAConfigSet":   rpc.Write(s.ConnectCAConfigSet),
		"ConnectCASign":        rpc.Write(s.ConnectCASign),

		"PreparedQueryApply":   rpc.Write(s.PreparedQueryApply),
		"PreparedQueryGet":     rpc.Read(s.PreparedQueryGet),
		"PreparedQueryList":    rpc.Read(s.PreparedQueryList),
		"PreparedQueryExecute": rpc.Read(s.PreparedQueryExecute),
		"PreparedQueryExplain": rpc.Read(s.PreparedQueryExplain),

		"AutopilotGetConfiguration": rpc.Read(s.AutopilotGetConfiguration),
		"AutopilotSetConfiguration": rpc.Write(s.AutopilotSetConfiguration),
		"AutopilotServerHealth":     rpc.Read(s.AutopilotServerHealth),
		"OperatorUsage":             rpc.Read(s.OperatorUsage),
	}
}

// forward sends a call to the leader when this server must not answer it
// itself: every write, and reads unless they allow stale data. It reports
// whether it forwarded. A leader that stops answering (dead, or frozen) is
// given up on as soon as another leader is known, so calls move to the new
// leader instead of hanging with the old one.
//
// A forwarded write carries a request ID, so sending it again applies it at
// most once and answers with the outcome of the first apply. A write whose
// attempt may have reached a leader without an answer (a broken connection,
// a leader that lost leadership while committing it) is therefore sent
// again until one succeeds; any other end leaves it of unknown outcome
// (rpc.Settle), never one that was not applied.
func (s *Server) forward(ctx context.Context, method string, q *structs.QueryOptions, args, reply interface{}) (bool, error) {
	if s.raft == nil {
		return false, nil
	}
	if q != nil && q.AllowStale && !s.tooStale(q) {
		return false, nil
	}
	if w, ok := args.(structs.Write); ok && !s.IsLeader() {
		w.EnsureRequestID() // a forwarded write may be retried: let it apply once
	}
	unknown := false // an earlier attempt may have applied the write
	fail := func(err error) (bool, error) { return true, rpc.Settle(err, unknown) }
	deadline := time.Now().Add(holdTimeout)
	for {
		if s.IsLeader() && !s.readyForReads.Load() {
			// A new leader is still applying its predecessors' log.
			if time.Now().After(deadline) {
				return fail(fmt.Errorf("%w: the new leader is not ready to serve reads yet", structs.ErrNoLeader))
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if s.IsLeader() {
			if unknown {
				// Applied here, a refusal could not be told from one
				// the first attempt's apply brought about.
				return fail(fmt.Errorf("this server became the leader with the write's earlier attempt unanswered"))
			}
			if q != nil {
				if err := s.leaderReads(q.RequireConsistent); err != nil {
					return true, err
				}
			}
			return false, nil
		}
		if leader := s.leaderAddr(); leader != "" {
			err, moved := s.callLeader(ctx, leader, method, args, reply)
			if structs.OutcomeUnknown(err) {
				unknown, moved = true, ctx.Err() == nil
			}
			if !moved {
				return fail(err)
			}
		}
		if time.Now().After(deadline) {
			return fail(structs.ErrNoLeader)
		}
		select {
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-s.shutdownCh:
			return fail(structs.ErrNoLeader)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// callLeader calls the leader; moved reports that the call did not reach a
// working leader (unreachable, or another leader took over while it hung)
// and should be tried again. A write given up on after it was sent fails as
// one of unknown outcome.
func (s *Server) callLeader(ctx context.Context, leader, method string, args, reply interface{}) (err error, moved bool) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.cfg.Pool.Call(cctx, leader, method, args, reply) }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err == nil || rpc.IsRemote(err) || ctx.Err() != nil {
				return err, false
			}
			return err, true // transport failure
		case <-tick.C:
			if now := s.leaderAddr(); now != leader && (now != "" || s.IsLeader()) {
				cancel()
				if err := <-done; err == nil || rpc.IsRemote(err) {
					return err, false // it answered after all
				}
				if _, write := args.(structs.Write); write {
					return structs.Unknown(fmt.Errorf("rpc %s to %s: given up on after the leader changed", method, leader)), true
				}
				return nil, true
			}
		}
	}
}

// tooStale reports whether a stale read must still go to the leader
// because this follower lost contact for longer than max_stale.
func (s *Server) tooStale(q *structs.QueryOptions) bool {
	if q.MaxStaleDuration <= 0 || s.IsLeader() {
		return false
	}
	last := s.raft.LastContact()
	return last.IsZero() || time.Since(last) > q.MaxStaleDuration
}

// raftHasState tells a peer deciding whether to bootstrap that this server
// already belongs to a cluster.
func (s *Server) raftHasState(context.Context) (bool, error) {
	if s.raft == nil {
		return false, nil
	}
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return false, err
	}
	return len(f.Configuration().Servers) > 0 || s.raft.LastIndex() > 0, nil
}
