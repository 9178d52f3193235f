package state

import (
	"fmt"

	"github.com/beacon-sd/beacon/core/structs"
)

// ApplyTxn applies a transaction at raft index idx: every operation in one
// memdb write transaction, committed only if none failed. A transaction
// that failed is answered with one error per failed operation and changes
// nothing, not even the lock delays of the sessions it would have ended.
func (s *Store) ApplyTxn(idx uint64, req *structs.TxnRequest) (*structs.TxnResponse, error) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	return s.applyTxnLocked(idx, req)
}

// applyTxnLocked is ApplyTxn under applyMu. A transaction sent again under
// the request ID of one that applied answers with the first apply's
// results while the store still holds them (see txnMemo); one that was
// rolled back changed nothing and is not remembered, so it runs again.
func (s *Store) applyTxnLocked(idx uint64, req *structs.TxnRequest) (*structs.TxnResponse, error) {
	id := req.RequestID
	if id != "" {
		if prev, ok := s.appliedRequest(id); ok {
			if prev.Err != "" {
				return nil, prev.failure()
			}
			if resp := s.txnMemo.get(id); resp != nil {
				return resp, nil
			}
			return nil, fmt.Errorf("%w (at index %d); its results are no longer held: read the state to see them",
				structs.ErrTxnReplayed, prev.Index)
		}
	}
	t := &txn{Txn: s.db.Txn(true), idx: idx, touched: make(map[string]struct{}, 8), store: s}
	defer t.Abort()
	results, errs := t.dispatch(req.Ops)
	if len(errs) > 0 {
		return &structs.TxnResponse{Errors: errs}, nil
	}
	if err := t.commit(); err != nil {
		return nil, err
	}
	resp := &structs.TxnResponse{Results: results}
	if id != "" {
		s.requests.add(appliedRequest{ID: id, Index: idx, OK: true})
		s.txnMemo.add(id, resp)
	}
	return resp, nil
}

// TxnRead runs a transaction of reads and checks against the store as it
// is now; it must hold no write (structs.TxnOp.IsWrite).
func (s *Store) TxnRead(ops []*structs.TxnOp) *structs.TxnResponse {
	t := &txn{Txn: s.readTxn(), store: s}
	results, errs := t.dispatch(ops)
	if len(errs) > 0 {
		return &structs.TxnResponse{Errors: errs}
	}
	return &structs.TxnResponse{Results: results}
}

// dispatch runs every operation in order and collects what each returned,
// or, from the first failure on, only the failures: a transaction that
// fails reports every operation that failed, not just the first.
func (t *txn) dispatch(ops []*structs.TxnOp) ([]*structs.TxnResult, []*structs.TxnError) {
	results := make([]*structs.TxnResult, 0, len(ops))
	var errs []*structs.TxnError
	for i, op := range ops {
		var out []*structs.TxnResult
		var err error
		switch {
		case op == nil:
			err = fmt.Errorf("operation %d is empty", i)
		case op.KV != nil:
			out, err = t.txnKV(op.KV)
		case op.Node != nil:
			out, err = t.txnNode(op.Node)
		case op.Service != nil:
			out, err = t.txnService(op.Service)
		case op.Check != nil:
			out, err = t.txnCheck(op.Check)
		case op.Session != nil:
			err = t.txnSession(op.Session)
		default:
			err = fmt.Errorf("operation %d names no kind: want one of KV, Node, Service, Check or Session", i)
		}
		if err != nil {
			errs = append(errs, &structs.TxnError{OpIndex: i, What: err.Error()})
			continue
		}
		results = append(results, out...)
	}
	return results, errs
}

// txnMemoEntries and txnMemoBytes bound what the store keeps of applied
// transactions' results for their retries.
const (
	txnMemoEntries = 1024
	txnMemoBytes   = 32 << 20
)

// txnMemo keeps the results of the latest transactions that carried a
// request ID, so that a transaction sent again after its answer was lost
// (its leader changed while committing it) is answered as the first time.
// Every server fills it as it applies the log, so the new leader holds the
// results too. It is local and bounded, not replicated state: after a
// restart, or past its bounds, a retry learns that the transaction applied
// but not its results.
type txnMemo struct {
	results map[string]*structs.TxnResponse
	sizes   map[string]int
	order   []string // oldest first
	bytes   int
}

func newTxnMemo() *txnMemo {
	return &txnMemo{results: map[string]*structs.TxnResponse{}, sizes: map[string]int{}}
}

func (m *txnMemo) get(id string) *structs.TxnResponse { return m.results[id] }

func (m *txnMemo) add(id string, resp *structs.TxnResponse) {
	if _, dup := m.results[id]; dup {
		return
	}
	n := txnResultsSize(resp.Results)
	if n > txnMemoBytes {
		return
	}
	m.results[id], m.sizes[id] = resp, n
	m.order = append(m.order, id)
	m.bytes += n
	for len(m.order) > txnMemoEntries || m.bytes > txnMemoBytes {
		old := m.order[0]
		m.order = m.order[1:]
		m.bytes -= m.sizes[old]
		delete(m.results, old)
		delete(m.sizes, old)
	}
}

// txnResultsSize estimates the memory results hold: their keys and values,
// and a fixed cost for the rest of each row.
func txnResultsSize(results []*structs.TxnResult) int {
	n := 0
	for _, r := range results {
		n += 256
		if r.KV != nil {
			n += len(r.KV.Key) + len(r.KV.Value)
		}
	}
	return n
}
