// Package state is the catalog, KV, session and ACL store: hashicorp/go-memdb
// tables, one write path (Apply) shared by every way a write arrives, and
// reads that report the index of their own result and register exactly the
// watch channels a blocking query needs.
//
// Every write touches "scopes" (a table, one service, one node, the service
// list, ...) and records the write's index on each. A read answers with the
// index of the narrowest scope that covers its result and watches that
// scope, so a blocking query wakes when its own result changed and not when
// an unrelated row of the same table did.
package state

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/structs"
)

// Scope names kept in the index table.
const (
	scopeServiceList = "catalog.services" // the name -> tags map
	scopeReapFloor   = "kvs.reaped"       // highest reaped tombstone index
	prefixSvc        = "svc."             // catalog view of one service
	prefixSvcHealth  = "svch."            // health view of one service
	prefixNode       = "node."            // one node and its services
	prefixNodeHealth = "nodeh."           // one node's checks
	prefixCheckState = "checks."          // checks in one state
)

func svcScope(name string) string       { return prefixSvc + strings.ToLower(name) }
func svcHealthScope(name string) string { return prefixSvcHealth + strings.ToLower(name) }
func nodeScope(node string) string      { return prefixNode + strings.ToLower(node) }
func nodeHealthScope(n string) string   { return prefixNodeHealth + strings.ToLower(n) }
func checkStateScope(s string) string   { return prefixCheckState + s }

// Store is the state store. Reads may run concurrently with each other and
// with Apply; Apply calls are serialised by memdb's writer lock.
type Store struct {
	db *memdb.MemDB

	// abandonCh is closed when the store is replaced wholesale (a snapshot
	// restore), so that blocked readers re-run against the new store.
	abandonCh chan struct{}

	scopes   *scopes
	latest   atomic.Uint64
	requests *requestLog
	txnMemo  *txnMemo // under applyMu

	// applyMu makes each apply (or batch) atomic to View: a snapshot holds
	// the request IDs of exactly the writes its tables reflect.
	applyMu sync.Mutex

	// lockDelay holds, per key, the time until which a lock on it may not be
	// acquired after its session was invalidated. It is local, not
	// replicated state, as in Consul.
	delayMu   sync.Mutex
	lockDelay map[string]time.Time
	now       func() time.Time
}

// New returns an empty store.
func New() (*Store, error) {
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		return nil, fmt.Errorf("state schema: %w", err)
	}
	return &Store{
		db:        db,
		abandonCh: make(chan struct{}),
		scopes:    newScopes(),
		requests:  newRequestLog(),
		txnMemo:   newTxnMemo(),
		lockDelay: make(map[string]time.Time),
		now:       time.Now,
	}, nil
}

// AbandonCh is closed when the store is abandoned for a restored one.
func (s *Store) AbandonCh() <-chan struct{} { return s.abandonCh }

// Abandon wakes every blocked reader; the store must not be used after.
func (s *Store) Abandon() { close(s.abandonCh) }

// txn is a write transaction that records which scopes it touched.
type txn struct {
	*memdb.Txn
	idx     uint64
	touched map[string]struct{}
	store   *Store
	// delays are the lock delays the write starts, kept until it commits
	// so that a write that is dropped starts none.
	delays []pendingDelay
}

type pendingDelay struct {
	key string
	d   time.Duration
}

// delayLock starts, once the write commits, the lock delay d on key.
func (t *txn) delayLock(key string, d time.Duration) {
	t.delays = append(t.delays, pendingDelay{key, d})
}

// Commit makes the write visible and starts its lock delays.
func (t *txn) Commit() {
	t.Txn.Commit()
	for _, l := range t.delays {
		t.store.setLockDelay(l.key, l.d)
	}
	t.delays = nil
}

func (t *txn) touch(scopes ...string) {
	for _, sc := range scopes {
		t.touched[sc] = struct{}{}
	}
}

// commit makes the write visible, then records its index on every scope it
// touched (in that order; see scopes).
func (t *txn) commit() error {
	t.Commit()
	if len(t.touched) == 0 {
		return nil // nothing changed: no index moves
	}
	t.store.scopes.set(t.idx, t.touched)
	if t.idx > t.store.latest.Load() {
		t.store.latest.Store(t.idx)
	}
	return nil
}

// Apply performs one write command at raft index idx. The bool is the
// outcome of conditional KV writes (CAS, lock, unlock) and true otherwise.
// Apply is deterministic for a given store and command, apart from lock-delay
// bookkeeping, which is local by design. A command whose request ID was
// applied before returns that outcome again and changes nothing.
func (s *Store) Apply(idx uint64, c *structs.Command) (bool, error) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	return s.applyLocked(idx, c)
}

func (s *Store) applyLocked(idx uint64, c *structs.Command) (bool, error) {
	if c.Type == structs.TxnRequestType && c.Txn != nil {
		resp, err := s.applyTxnLocked(idx, c.Txn)
		return err == nil && len(resp.Errors) == 0, err
	}
	reqID := c.RequestID()
	if reqID != "" {
		if prev, ok := s.appliedRequest(reqID); ok {
			if prev.Err != "" {
				return prev.OK, prev.failure()
			}
			return prev.OK, nil
		}
	}
	t := &txn{Txn: s.db.Txn(true), idx: idx, touched: make(map[string]struct{}, 8), store: s}
	defer t.Abort()
	ok, err := t.apply(c)
	if err == nil && ok {
		if cerr := t.commit(); cerr != nil {
			return false, cerr
		}
	}
	if reqID != "" {
		// A failed write is remembered too, its own changes dropped.
		r := appliedRequest{ID: reqID, Index: idx, OK: ok}
		if err != nil {
			r = failedRequest(reqID, idx, err)
		}
		s.requests.add(r)
	}
	if err != nil {
		return false, err
	}
	return ok, nil
}

// apply dispatches a command to its write.
func (t *txn) apply(c *structs.Command) (bool, error) {
	ok := true
	var err error
	switch c.Type {
	case structs.RegisterRequestType:
		err = need(c.Register != nil, c.Type)
		if err == nil {
			err = t.ensureRegistration(c.Register)
		}
	case structs.DeregisterRequestType:
		err = need(c.Deregister != nil, c.Type)
		if err == nil {
			err = t.deregister(c.Deregister)
		}
	case structs.KVSRequestType:
		err = need(c.KVS != nil, c.Type)
		if err == nil {
			ok, err = t.kvsApply(c.KVS)
		}
	case structs.SessionRequestType:
		err = need(c.Session != nil, c.Type)
		if err == nil {
			err = t.sessionApply(c.Session)
		}
	case structs.TombstoneRequestType:
		err = need(c.Tombstone != nil, c.Type)
		if err == nil {
			err = t.reapTombstones(c.Tombstone.ReapIndex)
		}
	case structs.ACLRequestType:
		err = need(c.ACL != nil, c.Type)
		if err == nil {
			err = t.aclApply(c.ACL)
		}
	case structs.ConnectCARequestType:
		err = need(c.ConnectCA != nil, c.Type)
		if err == nil {
			err = t.caSet(c.ConnectCA)
		}
	case structs.PreparedQueryRequestType:
		err = need(c.PreparedQuery != nil, c.Type)
		if err == nil {
			err = t.preparedQueryApply(c.PreparedQuery)
		}
	case structs.AutopilotRequestType:
		err = need(c.Autopilot != nil, c.Type)
		if err == nil {
			ok, err = t.autopilotSet(c.Autopilot)
		}
	default:
		err = fmt.Errorf("unknown command type %d", c.Type)
	}
	if err != nil {
		return false, err
	}
	return ok, nil
}

func (s *Store) appliedRequest(id string) (appliedRequest, bool) {
	return s.requests.get(id)
}

func need(present bool, t structs.MessageType) error {
	if !present {
		return fmt.Errorf("%s command without its payload", t)
	}
	return nil
}

// readTxn is a read-only snapshot.
func (s *Store) readTxn() *memdb.Txn { return s.db.Txn(false) }

// scopeIndex returns the index recorded for a scope, adding the channel of
// its next change to ws. A scope that was never written answers 0. Call it
// before taking the read snapshot.
func (s *Store) scopeIndex(ws memdb.WatchSet, scope string) uint64 {
	return s.scopes.get(ws, scope)
}

// LatestIndex is the highest index of any write the store has applied.
func (s *Store) LatestIndex() uint64 { return s.latest.Load() }

// atLeastOne keeps indexes returned to clients above zero: Consul clients
// treat 0 as "no index".
func atLeastOne(i uint64) uint64 {
	if i == 0 {
		return 1
	}
	return i
}
