package agent

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/beacon-sd/beacon/core/structs"
)

var errShutDown = errors.New("the agent has shut down; local changes are no longer pushed to the catalog")

// syncTimeout bounds one anti-entropy pass or push; Shutdown ends it
// sooner.
const syncTimeout = 30 * time.Second

// syncLoop pushes local changes as they happen and compares the whole node
// with the catalog every SyncInterval (with jitter). A failed sync is retried
// with backoff, so registrations made while servers are away land when they
// come back.
func (a *Agent) syncLoop() {
	defer a.wg.Done()
	full := time.NewTimer(0)
	defer full.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	backoff := time.Second
	for {
		var err error
		select {
		case <-a.shutdownCh:
			return
		case <-a.syncCh:
			err = a.syncChanges()
		case <-retry.C:
			err = a.fullSync()
		case <-full.C:
			err = a.fullSync()
			full.Reset(a.cfg.SyncInterval + time.Duration(rand.Int64N(int64(a.cfg.SyncInterval/4)+1)))
		}
		if err != nil {
			a.logger.Warn("syncing local state with the catalog failed; will retry", "error", err, "in", backoff)
			retry.Reset(backoff)
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = time.Second
	}
}

// SyncNow runs a full anti-entropy pass at once (tests and reload use it).
func (a *Agent) SyncNow() error { return a.fullSync() }

// SyncChanges pushes pending local changes now, and returns once the
// registrations are also saved in the data dir (a write that runs beside
// the push). The HTTP API calls it after a registration so that the
// catalog has it, and a restart keeps it, when the call returns; if the
// servers cannot be reached, the background loop keeps retrying.
func (a *Agent) SyncChanges() error {
	defer a.Persisted()
	err := a.syncChanges()
	if err != nil {
		a.logger.Debug("pushing a change to the catalog failed; it will be retried", "error", err)
		a.triggerSync()
	}
	return err
}

// fullSync reads the node from the catalog, marks what differs from local
// state, schedules removal of what the agent does not own, and pushes.
func (a *Agent) fullSync() error {
	ctx, cancel := context.WithTimeout(a.lifetime, syncTimeout)
	defer cancel()
	node := a.cfg.Node
	q := structs.QueryOptions{Token: a.cfg.Tokens.AgentToken()}
	var svcs structs.IndexedNodeServices
	if err := a.backend.CatalogNodeServices(ctx, &structs.NodeSpecificRequest{Node: node.Node, QueryOptions: q}, &svcs); err != nil {
		return err
	}
	var chks structs.IndexedHealthChecks
	if err := a.backend.HealthNodeChecks(ctx, &structs.NodeSpecificRequest{Node: node.Node, QueryOptions: q}, &chks); err != nil {
		return err
	}

	a.mu.Lock()
	want := a.cfg.Node
	a.nodeInSync = svcs.Node != nil && svcs.Node.IsSame(&want)
	remoteSvcs := map[string]*structs.NodeService{}
	for _, s := range svcs.Services {
		if a.cfg.Server && s.ID == structs.ConsulServiceID {
			continue // the server's own registration, kept by the leader
		}
		remoteSvcs[s.ID] = s
		ls, ok := a.services[s.ID]
		switch {
		case !ok:
			// In the catalog on this node but not ours: remove it.
			a.services[s.ID] = &localService{svc: s, deleted: true, rev: a.nextRev()}
		case !ls.deleted:
			ls.inSync = ls.svc.IsSame(s)
		}
	}
	for id, ls := range a.services {
		if _, ok := remoteSvcs[id]; !ok {
			if ls.deleted {
				delete(a.services, id)
			} else {
				ls.inSync = false
			}
		}
	}
	remoteChecks := map[string]*structs.HealthCheck{}
	for _, c := range chks.HealthChecks {
		if c.CheckID == structs.SerfCheckID || (a.cfg.Server && c.ServiceID == structs.ConsulServiceID) {
			continue
		}
		remoteChecks[c.CheckID] = c
		lc, ok := a.checks[c.CheckID]
		switch {
		case !ok:
			a.checks[c.CheckID] = &localCheck{check: c, deleted: true, rev: a.nextRev()}
		case !lc.deleted:
			lc.inSync = lc.check.IsSame(c)
		}
	}
	for id, lc := range a.checks {
		if _, ok := remoteChecks[id]; !ok {
			if lc.deleted {
				delete(a.checks, id)
			} else {
				lc.inSync = false
			}
		}
	}
	a.mu.Unlock()
	return a.syncChanges()
}

// syncOp is one catalog write anti-entropy has to make.
type syncOp struct {
	register   *structs.RegisterRequest
	deregister *structs.DeregisterRequest
	services   map[string]uint64 // service ID -> rev sent
	checks     map[string]uint64 // check ID -> rev sent
}

// syncChanges pushes every out-of-sync entry: deletions first, then the
// node, then services with their checks, then the remaining checks.
func (a *Agent) syncChanges() error {
	a.syncMu.Lock()
	defer a.syncMu.Unlock()
	select {
	case <-a.shutdownCh:
		// After a leave the node is out of the catalog; a push now
		// would put it back.
		return errShutDown
	default:
	}
	ops := a.pendingOps()
	ctx, cancel := context.WithTimeout(a.lifetime, syncTimeout)
	defer cancel()
	for _, op := range ops {
		var err error
		if op.deregister != nil {
			err = a.backend.CatalogDeregister(ctx, op.deregister)
		} else {
			err = a.backend.CatalogRegister(ctx, op.register)
		}
		if err != nil {
			if a.lifetime.Err() != nil {
				return fmt.Errorf("%w (a push under way was abandoned: %v)", errShutDown, err)
			}
			return err
		}
		a.markSynced(op, op.deregister != nil)
		a.logSynced(op)
	}
	return nil
}

// logSynced says at info level what a catalog write made of the local
// state, as Consul's agent does.
func (a *Agent) logSynced(op syncOp) {
	switch {
	case op.deregister != nil && op.deregister.ServiceID != "":
		a.logger.Info("deregistered service", "service", op.deregister.ServiceID)
	case op.deregister != nil:
		a.logger.Info("deregistered check", "check", op.deregister.CheckID)
	case op.register.Service != nil:
		a.logger.Info("synced service", "service", op.register.Service.ID)
		for _, c := range op.register.Checks {
			a.logger.Info("synced check", "check", c.CheckID)
		}
	case op.register.Check != nil:
		a.logger.Info("synced check", "check", op.register.Check.CheckID)
	default:
		a.logger.Info("synced node info")
	}
}

func (a *Agent) pendingOps() []syncOp {
	a.mu.Lock()
	defer a.mu.Unlock()
	node := a.cfg.Node
	// A registration made without a token syncs with the default token;
	// the node, and the removal of what the agent does not own, with the
	// agent token.
	agentToken := a.cfg.Tokens.AgentToken()
	tokenOr := func(tok string) string {
		if tok != "" {
			return tok
		}
		return a.cfg.Tokens.UserToken()
	}
	orAgent := func(tok string) string {
		if tok != "" {
			return tok
		}
		return agentToken
	}
	var ops []syncOp
	for id, ls := range a.services {
		if ls.deleted && !ls.inSync {
			ops = append(ops, syncOp{
				deregister: &structs.DeregisterRequest{Node: node.Node, ServiceID: id, WriteRequest: structs.WriteRequest{Token: orAgent(ls.token)}},
				services:   map[string]uint64{id: ls.rev},
			})
		}
	}
	for id, lc := range a.checks {
		if lc.deleted && !lc.inSync {
			if ls, ok := a.services[lc.check.ServiceID]; ok && ls.deleted && !ls.inSync {
				continue // goes with its service
			}
			ops = append(ops, syncOp{
				deregister: &structs.DeregisterRequest{Node: node.Node, CheckID: id, WriteRequest: structs.WriteRequest{Token: orAgent(lc.token)}},
				checks:     map[string]uint64{id: lc.rev},
			})
		}
	}
	nodeReq := func() *structs.RegisterRequest {
		return &structs.RegisterRequest{
			Datacenter: node.Datacenter, ID: node.ID, Node: node.Node, Address: node.Address,
			TaggedAddresses: node.TaggedAddresses, NodeMeta: node.Meta,
			SkipNodeUpdate: a.nodeInSync, WriteRequest: structs.WriteRequest{Token: agentToken},
		}
	}
	if !a.nodeInSync {
		ops = append(ops, syncOp{register: nodeReq()})
	}
	for id, ls := range a.services {
		if ls.deleted || ls.inSync {
			continue
		}
		req := nodeReq()
		req.SkipNodeUpdate = true
		req.Service = ls.svc
		req.Token = tokenOr(ls.token)
		op := syncOp{register: req, services: map[string]uint64{id: ls.rev}, checks: map[string]uint64{}}
		for cid, lc := range a.checks {
			if !lc.deleted && lc.check.ServiceID == id {
				req.Checks = append(req.Checks, lc.check)
				op.checks[cid] = lc.rev
			}
		}
		ops = append(ops, op)
	}
	for cid, lc := range a.checks {
		if lc.deleted || lc.inSync {
			continue
		}
		if ls, ok := a.services[lc.check.ServiceID]; ok && !ls.deleted && !ls.inSync {
			continue // sent with its service
		}
		req := nodeReq()
		req.SkipNodeUpdate = true
		req.Check = lc.check
		req.Token = tokenOr(lc.token)
		ops = append(ops, syncOp{register: req, checks: map[string]uint64{cid: lc.rev}})
	}
	return ops
}

// markSynced records a successful write, unless the entry changed again
// since the write was prepared.
func (a *Agent) markSynced(op syncOp, removed bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if op.register != nil && op.services == nil && op.checks == nil {
		a.nodeInSync = true
		return
	}
	for id, rev := range op.services {
		if ls, ok := a.services[id]; ok && ls.rev == rev {
			if removed {
				delete(a.services, id)
				// Its checks went with it.
				for cid, lc := range a.checks {
					if lc.deleted && lc.check.ServiceID == id {
						delete(a.checks, cid)
					}
				}
			} else {
				ls.inSync = true
			}
		}
	}
	for id, rev := range op.checks {
		if lc, ok := a.checks[id]; ok && lc.rev == rev {
			if removed {
				delete(a.checks, id)
			} else {
				lc.inSync = true
			}
		}
	}
}
