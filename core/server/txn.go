package server

import (
	"context"
	"fmt"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/structs"
)

// TxnApply applies a transaction that writes: its operations are checked
// (arguments and the token's rights, each as its own endpoint would), then
// sent through the log as one entry, which applies all of them or none.
// Operations that fail a check or the apply come back as Errors, nothing
// applied; an error returned means the transaction did not reach the
// store, or (structs.OutcomeUnknown) that it may have.
func (s *Server) TxnApply(ctx context.Context, args *structs.TxnRequest) (structs.TxnResponse, error) {
	var reply structs.TxnResponse
	if err := s.checkDC(args.Datacenter); err != nil {
		return reply, err
	}
	if err := checkTxnSize(args.Ops); err != nil {
		return reply, err
	}
	if done, err := s.forward(ctx, "TxnApply", nil, args, &reply); done {
		return reply, err
	}
	authz, err := s.authorize(ctx, args.Token)
	if err != nil {
		return reply, err
	}
	if errs := s.txnPreCheck(authz, args.Ops); len(errs) > 0 {
		reply.Errors = errs
		return reply, nil
	}
	resp, err := s.applyTxn(args)
	if err != nil {
		return reply, err
	}
	if len(resp.Errors) > 0 {
		reply.Errors = resp.Errors
		return reply, nil
	}
	for _, op := range args.Ops {
		if op.Session != nil {
			s.sessions.stop(op.Session.Session.ID)
		}
	}
	reply.Results, _ = filterTxnResults(authz, resp.Results)
	return reply, nil
}

// TxnRead answers a transaction of reads and checks from this server's
// store, without the log: a stale read on any server, else on the leader.
// Reads of what the token may not see are left out of the results.
func (s *Server) TxnRead(ctx context.Context, args *structs.TxnReadRequest, reply *structs.TxnReadResponse) error {
	if err := s.checkDC(args.Datacenter); err != nil {
		return err
	}
	if err := checkTxnSize(args.Ops); err != nil {
		return err
	}
	for i, op := range args.Ops {
		if op == nil || op.IsWrite() {
			return structs.BadInput("operation %d of a read-only transaction writes or is empty", i)
		}
	}
	if done, err := s.forward(ctx, "TxnRead", &args.QueryOptions, args, reply); done {
		return err
	}
	authz, err := s.authorize(ctx, args.Token)
	if err != nil {
		return err
	}
	s.setQueryMeta(&reply.QueryMeta)
	if errs := s.txnPreCheck(authz, args.Ops); len(errs) > 0 {
		reply.Errors = errs
		return nil
	}
	resp := s.Store().TxnRead(args.Ops)
	reply.Errors = resp.Errors
	reply.Results, reply.ResultsFilteredByACLs = filterTxnResults(authz, resp.Results)
	return nil
}

// checkTxnSize refuses a transaction of too many operations.
func checkTxnSize(ops []*structs.TxnOp) error {
	if len(ops) > structs.MaxTxnOps {
		return structs.BadInput("Transaction contains too many operations (%d > %d)", len(ops), structs.MaxTxnOps)
	}
	return nil
}

// GossipTagTxn marks, in a server's gossip tags, that it applies
// transactions. A transaction is sent into the log only while every server
// in the raft configuration says so: a server of an older build would fail
// to apply it while the others applied it.
const GossipTagTxn = "txn"

// applyTxn writes a transaction: directly in dev mode, through the log
// otherwise.
func (s *Server) applyTxn(args *structs.TxnRequest) (*structs.TxnResponse, error) {
	if s.raft != nil && !s.everyServerTagged(GossipTagTxn) {
		return nil, structs.ErrTxnUnsupported
	}
	if s.raft == nil {
		s.applyMu.Lock()
		defer s.applyMu.Unlock()
		s.index++
		resp, err := s.Store().ApplyTxn(s.index, args)
		if err == nil {
			s.tombstones.hint(s.index)
		}
		return resp, err
	}
	b, err := structs.EncodeCommand(&structs.Command{Type: structs.TxnRequestType, Txn: args})
	if err != nil {
		return nil, err
	}
	res, err := s.applyLog(b)
	switch {
	case err != nil:
		return nil, err
	case res.err != nil:
		return nil, res.err
	case res.txn == nil:
		// The entry committed but its apply gave no outcome.
		return nil, structs.Unknown(fmt.Errorf("the log answered no outcome for the transaction"))
	}
	return res.txn, nil
}

// filterTxnResults leaves out the results the token may not read, and
// reports whether it left any out.
func filterTxnResults(authz *acl.Authorizer, results []*structs.TxnResult) ([]*structs.TxnResult, bool) {
	if authz.IsManagement() {
		return results, false
	}
	return keep(results, func(r *structs.TxnResult) bool {
		switch {
		case r.KV != nil:
			return authz.Allowed(acl.Key, r.KV.Key, acl.Read)
		case r.Node != nil:
			return authz.Allowed(acl.Node, r.Node.Node, acl.Read)
		case r.Service != nil:
			return authz.Allowed(acl.Service, r.Service.Service, acl.Read)
		case r.Check != nil:
			return authz.CanReadCheck(r.Check.Node, r.Check.ServiceName)
		}
		return true
	})
}
