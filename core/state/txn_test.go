package state

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/core/structs"
)

func kvOp(verb structs.KVOp, key, val string, index uint64) *structs.TxnOp {
	return &structs.TxnOp{KV: &structs.TxnKVOp{Verb: verb, DirEnt: structs.DirEntry{
		Key: key, Value: []byte(val), RaftIndex: structs.RaftIndex{ModifyIndex: index}}}}
}

func (s *testStore) txn(id string, ops ...*structs.TxnOp) (*structs.TxnResponse, error) {
	s.t.Helper()
	s.idx++
	return s.ApplyTxn(s.idx, &structs.TxnRequest{Ops: ops, WriteRequest: structs.WriteRequest{RequestID: id}})
}

// A transaction that fails changes nothing, whatever its operations did
// before the failure, and names every operation that failed.
func TestTxnAllOrNothing(t *testing.T) {
	s := newTestStore(t)
	s.register("n1", "10.0.0.1", "web", "web-1")
	s.kv(structs.KVSet, "keep", "old", 0)
	before := s.LatestIndex()
	resp, err := s.txn("",
		kvOp(structs.KVSet, "keep", "new", 0),
		kvOp(structs.KVDeleteTree, "", "", 0),
		&structs.TxnOp{Node: &structs.TxnNodeOp{Verb: structs.TxnSet, Node: structs.Node{Node: "n2", Address: "10.0.0.2"}}},
		&structs.TxnOp{Service: &structs.TxnServiceOp{Verb: structs.TxnDelete, Node: "n1", Service: structs.NodeService{ID: "web-1"}}},
		kvOp(structs.KVCAS, "keep", "cas", 1),
		kvOp(structs.KVGet, "keep", "", 0), // each operation sees the ones before it
	)
	if err != nil {
		t.Fatal(err)
	}
	want := []*structs.TxnError{
		{OpIndex: 4, What: `failed to set key "keep", index is stale`},
		{OpIndex: 5, What: `key "keep" doesn't exist`},
	}
	if resp.Results != nil || errorsText(resp.Errors) != errorsText(want) {
		t.Fatalf("response %+v %s, want errors %s", resp.Results, errorsText(resp.Errors), errorsText(want))
	}
	if _, e, _ := s.KVGet(nil, "keep"); e == nil || string(e.Value) != "old" {
		t.Fatalf("keep is %+v after a failed transaction", e)
	}
	if _, n, _, _ := s.NodeServices(nil, "n2"); n != nil {
		t.Fatal("a failed transaction registered n2")
	}
	if _, _, svcs, _ := s.NodeServices(nil, "n1"); len(svcs) != 1 {
		t.Fatalf("a failed transaction deleted web-1: %v", svcs)
	}
	if s.LatestIndex() != before {
		t.Fatalf("the index moved from %d to %d", before, s.LatestIndex())
	}

	// The same operations without the failing ones apply, at one index.
	resp, err = s.txn("",
		kvOp(structs.KVSet, "keep", "new", 0),
		&structs.TxnOp{Node: &structs.TxnNodeOp{Verb: structs.TxnSet, Node: structs.Node{Node: "n2", Address: "10.0.0.2"}}},
		kvOp(structs.KVGet, "keep", "", 0),
	)
	if err != nil || len(resp.Errors) != 0 || len(resp.Results) != 3 {
		t.Fatalf("transaction: %+v %v", resp, err)
	}
	set, node, get := resp.Results[0].KV, resp.Results[1].Node, resp.Results[2].KV
	if set.Value != nil || string(get.Value) != "new" || set.ModifyIndex != s.idx || node.CreateIndex != s.idx {
		t.Fatalf("results: set %+v node %+v get %+v at index %d", set, node, get, s.idx)
	}
}

// A transaction that ends a session starts its lock delay, which a lock
// in the same kind of transaction then reports as such.
func TestTxnSessionDeleteStartsLockDelay(t *testing.T) {
	s := newTestStore(t)
	clock := time.Unix(1000, 0)
	s.now = func() time.Time { return clock }
	s.register("n1", "10.0.0.1", "", "")
	s.session("s1", "n1", structs.SessionRelease, 15*time.Second)
	if !s.lock(structs.KVLock, "lock/a", "s1") {
		t.Fatal("s1 did not get the lock")
	}
	end := &structs.TxnOp{Session: &structs.TxnSessionOp{Verb: structs.TxnDelete, Session: structs.Session{ID: "s1"}}}
	resp, err := s.txn("", end, kvOp(structs.KVCheckNotExists, "lock/a", "", 0))
	if err != nil || len(resp.Errors) != 1 {
		t.Fatalf("transaction: %+v %v", resp, err)
	}
	if _, sess, _ := s.SessionGet(nil, "s1"); sess == nil {
		t.Fatal("a failed transaction ended s1")
	}
	// s1 still holds the lock; once it ends for real, the delay applies.
	resp, err = s.txn("", end)
	if err != nil || len(resp.Errors) != 0 {
		t.Fatalf("session delete: %+v %v", resp, err)
	}
	s.session("s3", "n1", structs.SessionRelease, 0)
	lock := &structs.TxnOp{KV: &structs.TxnKVOp{Verb: structs.KVLock, DirEnt: structs.DirEntry{Key: "lock/a", Session: "s3"}}}
	resp, _ = s.txn("", lock)
	if len(resp.Errors) != 1 || resp.Errors[0].What != `failed to lock key "lock/a" due to lock delay` {
		t.Fatalf("lock in the delay: %+v", resp.Errors)
	}
	clock = clock.Add(16 * time.Second)
	if resp, _ = s.txn("", lock); len(resp.Errors) != 0 {
		t.Fatalf("lock after the delay: %+v", resp.Errors)
	}
}

// A transaction that would have ended a session but was rolled back
// starts no lock delay on the keys the session held.
func TestTxnRolledBackStartsNoLockDelay(t *testing.T) {
	s := newTestStore(t)
	s.register("n1", "10.0.0.1", "", "")
	s.session("s1", "n1", structs.SessionRelease, time.Minute)
	s.session("s2", "n1", structs.SessionRelease, 0)
	if !s.lock(structs.KVLock, "lock/b", "s1") {
		t.Fatal("s1 did not get the lock")
	}
	resp, _ := s.txn("",
		&structs.TxnOp{Session: &structs.TxnSessionOp{Verb: structs.TxnDelete, Session: structs.Session{ID: "s1"}}},
		kvOp(structs.KVGet, "missing", "", 0))
	if len(resp.Errors) != 1 {
		t.Fatalf("transaction: %+v", resp)
	}
	if !s.lock(structs.KVUnlock, "lock/b", "s1") {
		t.Fatal("s1 could not release its lock")
	}
	if !s.lock(structs.KVLock, "lock/b", "s2") {
		t.Fatal("the lock is delayed by a session end that was rolled back")
	}
}

// A transaction sent again under its request ID answers the first
// apply's results and applies nothing; once the store no longer holds
// them, it says the transaction applied, never that it did not.
func TestTxnRetryAnswersFirstResults(t *testing.T) {
	s := newTestStore(t)
	first, err := s.txn("r1", kvOp(structs.KVCAS, "k", "v", 0))
	if err != nil || len(first.Errors) != 0 {
		t.Fatalf("first: %+v %v", first, err)
	}
	again, err := s.txn("r1", kvOp(structs.KVCAS, "k", "v", 0))
	if err != nil || again != first {
		t.Fatalf("retry: %+v %v, want the first results", again, err)
	}
	if _, e, _ := s.KVGet(nil, "k"); e.ModifyIndex != s.idx-1 {
		t.Fatalf("the retry applied again: %+v", e)
	}
	// A rolled-back transaction is not remembered: it runs again.
	if r, _ := s.txn("r2", kvOp(structs.KVGet, "later", "", 0)); len(r.Errors) != 1 {
		t.Fatalf("get of a missing key: %+v", r)
	}
	s.kv(structs.KVSet, "later", "x", 0)
	if r, _ := s.txn("r2", kvOp(structs.KVGet, "later", "", 0)); len(r.Errors) != 0 {
		t.Fatalf("the retry of a rolled-back transaction did not run again: %+v", r.Errors)
	}
	for i := 0; i < txnMemoEntries; i++ {
		s.txn(fmt.Sprintf("fill%d", i), kvOp(structs.KVSet, "fill", "", 0))
	}
	_, err = s.txn("r1", kvOp(structs.KVCAS, "k", "v", 0))
	if !errors.Is(err, structs.ErrTxnReplayed) || structs.OutcomeUnknown(err) || !strings.Contains(err.Error(), "applied") {
		t.Fatalf("retry past the memo: %v", err)
	}
	// A restored store knows the transaction applied, without results.
	r := &testStore{Store: roundTrip(t, s.Store), t: t, idx: s.idx}
	if _, err := r.txn("r1", kvOp(structs.KVCAS, "k", "v", 0)); !errors.Is(err, structs.ErrTxnReplayed) {
		t.Fatalf("retry on a restored store: %v", err)
	}
}

// What transactions wrote survives a snapshot, and the restored store
// takes transactions.
func TestTxnSnapshotRestore(t *testing.T) {
	s := newTestStore(t)
	resp, err := s.txn("",
		&structs.TxnOp{Node: &structs.TxnNodeOp{Verb: structs.TxnSet, Node: structs.Node{Node: "n1", Address: "10.0.0.1"}}},
		&structs.TxnOp{Service: &structs.TxnServiceOp{Verb: structs.TxnSet, Node: "n1",
			Service: structs.NodeService{ID: "web-1", Service: "web", Weights: structs.Weights{Passing: 1, Warning: 1}}}},
		&structs.TxnOp{Check: &structs.TxnCheckOp{Verb: structs.TxnSet, Check: structs.HealthCheck{
			Node: "n1", CheckID: "web-ok", ServiceID: "web-1", Status: structs.HealthPassing}}},
		kvOp(structs.KVSet, "cfg/a", "1", 0),
	)
	if err != nil || len(resp.Errors) != 0 {
		t.Fatalf("transaction: %+v %v", resp, err)
	}
	r := &testStore{Store: roundTrip(t, s.Store), t: t, idx: s.idx}
	_, nodes, _ := r.CheckServiceNodes(nil, "web", nil, nil, false)
	if len(nodes) != 1 || len(nodes[0].Checks) != 1 || nodes[0].Checks[0].ServiceName != "web" {
		t.Fatalf("restored health: %+v", nodes)
	}
	if _, e, _ := r.KVGet(nil, "cfg/a"); e == nil || string(e.Value) != "1" {
		t.Fatalf("restored key: %+v", e)
	}
	resp, err = r.txn("", kvOp(structs.KVCheckIndex, "cfg/a", "", resp.Results[3].KV.ModifyIndex),
		kvOp(structs.KVDelete, "cfg/a", "", 0))
	if err != nil || len(resp.Errors) != 0 {
		t.Fatalf("transaction on the restored store: %+v %v", resp, err)
	}
}

func errorsText(errs []*structs.TxnError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "%d: %s\n", e.OpIndex, e.What)
	}
	return b.String()
}
