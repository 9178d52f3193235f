package state

import (
	"fmt"

	"github.com/beacon-sd/beacon/core/structs"
)

// The operations of a transaction. Each returns what the transaction
// answers for it, or why it failed; a failed operation may have changed
// the transaction's rows, which the caller then drops whole.

func kvResult(e *structs.DirEntry) []*structs.TxnResult {
	return []*structs.TxnResult{{KV: e}}
}

// kvResultNoValue is an entry without its value, as every KV operation
// but a read answers.
func kvResultNoValue(e *structs.DirEntry) []*structs.TxnResult {
	c := *e
	c.Value = nil
	return kvResult(&c)
}

func (t *txn) txnKV(op *structs.TxnKVOp) ([]*structs.TxnResult, error) {
	e := &op.DirEnt
	key := e.Key
	// What the store holds after a write that succeeded.
	stored := func(ok bool, err error, failure string) ([]*structs.TxnResult, error) {
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf(failure, key)
		}
		row, err := t.getKV(key)
		if err != nil || row == nil {
			return nil, err
		}
		return kvResultNoValue(row), nil
	}
	switch op.Verb {
	case structs.KVSet:
		return stored(true, t.kvsSet(e, false), "")
	case structs.KVCAS:
		ok, err := t.kvsCAS(e)
		return stored(ok, err, "failed to set key %q, index is stale")
	case structs.KVLock:
		if e.Session == "" {
			return nil, fmt.Errorf("missing session: locking key %q needs one", key)
		}
		ok, err := t.kvsLock(e)
		if err == nil && !ok {
			return nil, t.lockRefusal(key, e.Session)
		}
		return stored(ok, err, "")
	case structs.KVUnlock:
		if e.Session == "" {
			return nil, fmt.Errorf("missing session: unlocking key %q needs one", key)
		}
		ok, err := t.kvsUnlock(e)
		return stored(ok, err, "failed to unlock key %q, lock isn't held, or is held by another session")
	case structs.KVDelete:
		return nil, t.kvsDelete(key)
	case structs.KVDeleteCAS:
		ok, err := t.kvsDeleteCAS(key, e.ModifyIndex)
		if err == nil && !ok {
			err = fmt.Errorf("failed to delete key %q, index is stale", key)
		}
		return nil, err
	case structs.KVDeleteTree:
		return nil, t.kvsDeleteTree(key)
	case structs.KVGet, structs.KVGetOrEmpty:
		row, err := t.getKV(key)
		switch {
		case err != nil:
			return nil, err
		case row != nil:
			return kvResult(row), nil
		case op.Verb == structs.KVGetOrEmpty:
			return kvResult(&structs.DirEntry{Key: key}), nil
		}
		return nil, fmt.Errorf("key %q doesn't exist", key)
	case structs.KVGetTree:
		it, err := t.Get(tableKVs, "id_prefix", key)
		if err != nil {
			return nil, err
		}
		var out []*structs.TxnResult
		for raw := it.Next(); raw != nil; raw = it.Next() {
			out = append(out, &structs.TxnResult{KV: raw.(*structs.DirEntry)})
		}
		return out, nil
	case structs.KVCheckIndex, structs.KVCheckSession:
		row, err := t.getKV(key)
		switch {
		case err != nil:
			return nil, err
		case row == nil:
			return nil, fmt.Errorf("key %q doesn't exist", key)
		case op.Verb == structs.KVCheckIndex && row.ModifyIndex != e.ModifyIndex:
			return nil, fmt.Errorf("current modify index %d != %d", row.ModifyIndex, e.ModifyIndex)
		case op.Verb == structs.KVCheckSession && row.Session != e.Session:
			return nil, fmt.Errorf("current session %q != %q", row.Session, e.Session)
		}
		return kvResultNoValue(row), nil
	case structs.KVCheckNotExists:
		row, err := t.getKV(key)
		if err == nil && row != nil {
			err = fmt.Errorf("key %q exists", key)
		}
		return nil, err
	}
	return nil, fmt.Errorf("unknown KV verb %q", op.Verb)
}

// lockRefusal says why a lock was not taken: another session holds it, or
// the key is in the lock delay its last holder's end started.
func (t *txn) lockRefusal(key, session string) error {
	row, err := t.getKV(key)
	if err != nil {
		return err
	}
	if row != nil && row.Session != "" && row.Session != session {
		return fmt.Errorf("failed to lock key %q, lock is already held", key)
	}
	return fmt.Errorf("failed to lock key %q due to lock delay", key)
}

// casMatches applies the rule every cas verb shares: index 0 sets only what
// does not exist, any other index only what exists with that index.
func casMatches(exists bool, current, want uint64) bool {
	if want == 0 {
		return !exists
	}
	return exists && current == want
}

// catalogRow is how the verbs of one kind of catalog row (a node, a
// service instance, a check) reach it.
type catalogRow[T any] struct {
	kind   string // "node", "service", "check"
	what   string // the row, in messages: `node "n1"`, `service "web" on node "n1"`
	find   func() (*T, error)
	write  func() error
	remove func(*T) error // the row, nil when there is none
	index  func(*T) uint64
	result func(*T) *structs.TxnResult
}

// catalogVerb runs a node, service or check verb on its row; want is the
// index of cas and delete-cas.
func catalogVerb[T any](verb structs.TxnVerb, want uint64, r catalogRow[T]) ([]*structs.TxnResult, error) {
	row, err := r.find()
	if err != nil {
		return nil, err
	}
	var cur uint64
	if row != nil {
		cur = r.index(row)
	}
	switch verb {
	case structs.TxnGet:
		if row == nil {
			return nil, fmt.Errorf("%s doesn't exist", r.what)
		}
		return []*structs.TxnResult{r.result(row)}, nil
	case structs.TxnSet, structs.TxnCAS:
		if verb == structs.TxnCAS && !casMatches(row != nil, cur, want) {
			return nil, fmt.Errorf("failed to set %s, index is stale", r.what)
		}
		if err := r.write(); err != nil {
			return nil, err
		}
		if row, err = r.find(); err != nil || row == nil {
			return nil, err
		}
		return []*structs.TxnResult{r.result(row)}, nil
	case structs.TxnDelete, structs.TxnDeleteCAS:
		if verb == structs.TxnDeleteCAS {
			if row == nil {
				return nil, fmt.Errorf("failed to delete %s, it doesn't exist", r.what)
			}
			if cur != want {
				return nil, fmt.Errorf("failed to delete %s, index is stale", r.what)
			}
		}
		return nil, r.remove(row)
	}
	return nil, fmt.Errorf("unknown %s operation %q", r.kind, verb)
}

func (t *txn) txnNode(op *structs.TxnNodeOp) ([]*structs.TxnResult, error) {
	n := &op.Node
	what := n.Node
	if n.ID != "" {
		what = n.ID
	}
	return catalogVerb(op.Verb, n.ModifyIndex, catalogRow[structs.Node]{
		kind: "node", what: fmt.Sprintf("node %q", what),
		// By ID when the operation has one, as Consul finds it.
		find: func() (*structs.Node, error) {
			if n.ID == "" {
				return t.getNode(n.Node)
			}
			raw, err := t.First(tableNodes, "uuid", n.ID)
			if err != nil || raw == nil {
				return nil, err
			}
			return raw.(*structs.Node), nil
		},
		write: func() error { return t.ensureNode(n) },
		remove: func(row *structs.Node) error {
			if row == nil {
				return nil
			}
			return t.deleteNode(row.Node)
		},
		index:  func(row *structs.Node) uint64 { return row.ModifyIndex },
		result: func(row *structs.Node) *structs.TxnResult { c := *row; return &structs.TxnResult{Node: &c} },
	})
}

func (t *txn) txnService(op *structs.TxnServiceOp) ([]*structs.TxnResult, error) {
	svc := &op.Service
	return catalogVerb(op.Verb, svc.ModifyIndex, catalogRow[structs.ServiceRow]{
		kind: "service", what: fmt.Sprintf("service %q on node %q", svc.ID, op.Node),
		find:   func() (*structs.ServiceRow, error) { return t.getService(op.Node, svc.ID) },
		write:  func() error { return t.ensureService(op.Node, svc) },
		remove: func(*structs.ServiceRow) error { return t.deleteService(op.Node, svc.ID) },
		index:  func(row *structs.ServiceRow) uint64 { return row.ModifyIndex },
		result: func(row *structs.ServiceRow) *structs.TxnResult {
			c := row.NodeService
			return &structs.TxnResult{Service: &c}
		},
	})
}

func (t *txn) getCheck(node, id string) (*structs.HealthCheck, error) {
	raw, err := t.First(tableChecks, "id", node, id)
	if err != nil || raw == nil {
		return nil, err
	}
	return raw.(*structs.HealthCheck), nil
}

func (t *txn) txnCheck(op *structs.TxnCheckOp) ([]*structs.TxnResult, error) {
	c := &op.Check
	return catalogVerb(op.Verb, c.ModifyIndex, catalogRow[structs.HealthCheck]{
		kind: "check", what: fmt.Sprintf("check %q on node %q", c.CheckID, c.Node),
		find:   func() (*structs.HealthCheck, error) { return t.getCheck(c.Node, c.CheckID) },
		write:  func() error { return t.ensureCheck(c.Node, c) },
		remove: func(*structs.HealthCheck) error { return t.deleteCheck(c.Node, c.CheckID) },
		index:  func(row *structs.HealthCheck) uint64 { return row.ModifyIndex },
		result: func(row *structs.HealthCheck) *structs.TxnResult { cp := *row; return &structs.TxnResult{Check: &cp} },
	})
}

func (t *txn) txnSession(op *structs.TxnSessionOp) error {
	if op.Verb != structs.TxnDelete {
		return fmt.Errorf("unknown session operation %q", op.Verb)
	}
	if op.Session.ID == "" {
		return fmt.Errorf("failed to delete session: %w", structs.ErrMissingSessionID)
	}
	if err := t.sessionDestroy(op.Session.ID); err != nil {
		return fmt.Errorf("failed to delete session: %w", err)
	}
	return nil
}
