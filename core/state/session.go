package state

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/structs"
)

func (t *txn) sessionApply(req *structs.SessionRequest) error {
	switch req.Op {
	case structs.SessionCreate:
		return t.sessionCreate(&req.Session)
	case structs.SessionDestroy:
		return t.sessionDestroy(req.Session.ID)
	}
	return fmt.Errorf("unknown session operation %q", req.Op)
}

func (t *txn) sessionCreate(sess *structs.Session) error {
	if sess.ID == "" {
		return structs.ErrMissingSessionID
	}
	n, err := t.getNode(sess.Node)
	if err != nil {
		return err
	}
	if n == nil {
		return fmt.Errorf("%w %q for session", structs.ErrMissingNode, sess.Node)
	}
	if raw, err := t.First(tableSessions, "id", sess.ID); err != nil {
		return err
	} else if raw != nil {
		return structs.BadInput("session %s already exists", sess.ID)
	}
	for _, id := range sess.CheckIDs() {
		raw, err := t.First(tableChecks, "id", n.Node, id)
		if err != nil {
			return err
		}
		if raw == nil {
			return structs.BadInput("Missing check '%s' registration", id)
		}
		if raw.(*structs.HealthCheck).Status == structs.HealthCritical {
			return structs.BadInput("Check '%s' is in critical state", id)
		}
	}
	row := *sess
	row.Node = n.Node
	row.CreateIndex, row.ModifyIndex = t.idx, t.idx
	if err := t.Insert(tableSessions, &row); err != nil {
		return err
	}
	for _, id := range row.CheckIDs() {
		if err := t.Insert(tableSessionChecks, &sessionCheck{Node: n.Node, CheckID: id, Session: row.ID}); err != nil {
			return err
		}
	}
	t.touch(tableSessions)
	return nil
}

// sessionDestroy removes a session and frees (or deletes, by its behaviour)
// every key it holds, starting the lock delay on each.
func (t *txn) sessionDestroy(id string) error {
	raw, err := t.First(tableSessions, "id", id)
	if err != nil || raw == nil {
		return err
	}
	sess := raw.(*structs.Session)
	it, err := t.Get(tableKVs, "session", sess.ID)
	if err != nil {
		return err
	}
	var held []*structs.DirEntry
	for e := it.Next(); e != nil; e = it.Next() {
		held = append(held, e.(*structs.DirEntry))
	}
	for _, e := range held {
		if sess.LockDelay > 0 {
			t.delayLock(e.Key, sess.LockDelay)
		}
		if sess.Behavior == structs.SessionDelete {
			if err := t.deleteEntry(e); err != nil {
				return err
			}
			continue
		}
		freed := *e
		freed.Session = ""
		if err := t.kvsSet(&freed, true); err != nil {
			return err
		}
	}
	if _, err := t.DeleteAll(tableSessionChecks, "session", sess.ID); err != nil {
		return err
	}
	if err := t.deleteSessionQueries(sess.ID); err != nil {
		return err
	}
	if err := t.Delete(tableSessions, sess); err != nil {
		return err
	}
	t.touch(tableSessions)
	return nil
}

// invalidateCheckSessions destroys the sessions bound to a check.
func (t *txn) invalidateCheckSessions(node, checkID string) error {
	it, err := t.Get(tableSessionChecks, "node_check", node, checkID)
	if err != nil {
		return err
	}
	var ids []string
	for raw := it.Next(); raw != nil; raw = it.Next() {
		ids = append(ids, raw.(*sessionCheck).Session)
	}
	for _, id := range ids {
		if err := t.sessionDestroy(id); err != nil {
			return err
		}
	}
	return nil
}

// invalidateNodeSessions destroys the sessions of a node.
func (t *txn) invalidateNodeSessions(node string) error {
	it, err := t.Get(tableSessions, "node", node)
	if err != nil {
		return err
	}
	var ids []string
	for raw := it.Next(); raw != nil; raw = it.Next() {
		ids = append(ids, raw.(*structs.Session).ID)
	}
	for _, id := range ids {
		if err := t.sessionDestroy(id); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) setLockDelay(key string, d time.Duration) {
	s.delayMu.Lock()
	defer s.delayMu.Unlock()
	until := s.now().Add(d)
	if cur, ok := s.lockDelay[key]; !ok || until.After(cur) {
		s.lockDelay[key] = until
	}
}

// lockDelayed reports whether a key is in its lock delay, forgetting delays
// that ran out.
func (s *Store) lockDelayed(key string) bool {
	s.delayMu.Lock()
	defer s.delayMu.Unlock()
	until, ok := s.lockDelay[key]
	if !ok {
		return false
	}
	if s.now().Before(until) {
		return true
	}
	delete(s.lockDelay, key)
	return false
}

// SessionGet reads one session, nil when it does not exist.
func (s *Store) SessionGet(ws memdb.WatchSet, id string) (uint64, *structs.Session, error) {
	idx := s.scopeIndex(ws, tableSessions)
	tx := s.readTxn()
	raw, err := tx.First(tableSessions, "id", id)
	if err != nil || raw == nil {
		return atLeastOne(idx), nil, err
	}
	return atLeastOne(idx), raw.(*structs.Session), nil
}

// SessionList lists every session, or the sessions of one node.
func (s *Store) SessionList(ws memdb.WatchSet, node string) (uint64, []*structs.Session, error) {
	idx := s.scopeIndex(ws, tableSessions)
	tx := s.readTxn()
	var it memdb.ResultIterator
	var err error
	if node == "" {
		it, err = tx.Get(tableSessions, "id")
	} else {
		it, err = tx.Get(tableSessions, "node", node)
	}
	if err != nil {
		return 0, nil, err
	}
	out := []*structs.Session{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.Session))
	}
	return atLeastOne(idx), out, nil
}
