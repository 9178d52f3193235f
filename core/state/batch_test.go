package state

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/structs"
)

// randomCommands is a mixed workload: sets, CAS (some stale), deletes,
// tree deletes, locks and unlocks with live and unknown sessions, catalog
// writes between them, and retried request IDs.
func randomCommands(rng *rand.Rand, n int) []*structs.Command {
	var cmds []*structs.Command
	kv := func(op structs.KVOp, e structs.DirEntry, reqID string) *structs.Command {
		return &structs.Command{Type: structs.KVSRequestType, KVS: &structs.KVSRequest{Op: op, DirEnt: e,
			WriteRequest: structs.WriteRequest{RequestID: reqID}}}
	}
	var ids []string
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("k/%d", rng.IntN(12))
		reqID := ""
		if rng.IntN(3) == 0 {
			if len(ids) > 0 && rng.IntN(4) == 0 {
				reqID = ids[rng.IntN(len(ids))] // a retry
			} else {
				reqID = fmt.Sprintf("req-%d", i)
				ids = append(ids, reqID)
			}
		}
		switch r := rng.IntN(20); {
		case r < 7:
			cmds = append(cmds, kv(structs.KVSet, structs.DirEntry{Key: key, Value: []byte(fmt.Sprint(i)), Flags: uint64(i)}, reqID))
		case r < 10:
			cmds = append(cmds, kv(structs.KVCAS, structs.DirEntry{Key: key, Value: []byte("cas"), RaftIndex: structs.RaftIndex{ModifyIndex: uint64(rng.IntN(n + 2))}}, reqID))
		case r < 12:
			cmds = append(cmds, kv(structs.KVDelete, structs.DirEntry{Key: key}, reqID))
		case r < 13:
			cmds = append(cmds, kv(structs.KVDeleteCAS, structs.DirEntry{Key: key, RaftIndex: structs.RaftIndex{ModifyIndex: uint64(rng.IntN(n + 2))}}, reqID))
		case r < 14:
			cmds = append(cmds, kv(structs.KVDeleteTree, structs.DirEntry{Key: "k/1"}, reqID))
		case r < 17:
			sess := []string{"s1", "s2", "nosuch"}[rng.IntN(3)]
			cmds = append(cmds, kv(structs.KVLock, structs.DirEntry{Key: key, Session: sess, Value: []byte(sess)}, reqID))
		case r < 19:
			sess := []string{"s1", "s2"}[rng.IntN(2)]
			cmds = append(cmds, kv(structs.KVUnlock, structs.DirEntry{Key: key, Session: sess}, reqID))
		default:
			cmds = append(cmds, &structs.Command{Type: structs.RegisterRequestType, Register: &structs.RegisterRequest{
				Node: fmt.Sprintf("n%d", rng.IntN(3)), Address: "10.0.0.1",
				Service: &structs.NodeService{ID: "web", Service: "web", Port: i}}})
		}
	}
	return cmds
}

// twinStores are two stores in the same state, with a node, two sessions
// for randomCommands and a stopped clock.
func twinStores(t *testing.T) (*testStore, *testStore) {
	a, b := newTestStore(t), newTestStore(t)
	clock := time.Unix(1000, 0)
	for _, s := range []*testStore{a, b} {
		s.now = func() time.Time { return clock }
		s.register("n1", "10.0.0.1", "", "")
		s.session("s1", "n1", structs.SessionRelease, 0)
		s.session("s2", "n1", structs.SessionRelease, 0)
	}
	return a, b
}

// Applying in batches gives the same results, the same indexes and the
// same state as applying one command at a time.
func TestApplyBatchMatchesApply(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		rng := rand.New(rand.NewPCG(seed, 3))
		one, batched := twinStores(t)
		base := one.idx
		cmds := randomCommands(rng, 200)
		var want []BatchResult
		for i, c := range cmds {
			ok, err := one.Apply(base+uint64(i)+1, c)
			want = append(want, BatchResult{OK: ok, Err: err})
		}
		var got []BatchResult
		for i := 0; i < len(cmds); {
			n := 1 + rng.IntN(40)
			var entries []BatchEntry
			for k := i; k < len(cmds) && k < i+n; k++ {
				entries = append(entries, BatchEntry{Index: base + uint64(k) + 1, Cmd: cmds[k]})
			}
			got = append(got, batched.ApplyBatch(entries)...)
			i += len(entries)
		}
		for i := range want {
			if want[i].OK != got[i].OK || fmt.Sprint(want[i].Err) != fmt.Sprint(got[i].Err) {
				t.Fatalf("seed %d, command %d (%s %+v): one at a time %+v, batched %+v", seed, i, cmds[i].Type, cmds[i].KVS, want[i], got[i])
			}
		}
		var a, b bytes.Buffer
		one.Snapshot(&a)
		batched.Snapshot(&b)
		if a.String() != b.String() {
			t.Fatalf("seed %d: the states differ:\none at a time:\n%s\nbatched:\n%s", seed, a.String(), b.String())
		}
		if one.LatestIndex() != batched.LatestIndex() || !reflect.DeepEqual(one.scopes.snapshotForTest(), batched.scopes.snapshotForTest()) {
			t.Fatalf("seed %d: indexes differ: %d vs %d", seed, one.LatestIndex(), batched.LatestIndex())
		}
	}
}

// snapshotForTest lists every scope's index.
func (s *scopes) snapshotForTest() map[string]uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]uint64, len(s.m))
	for k, e := range s.m {
		out[k] = e.idx
	}
	return out
}

// At the edge of the request window a batch forgets the oldest ID exactly
// when one-at-a-time application would.
func TestApplyBatchAtTheWindowEdge(t *testing.T) {
	put := func(id, val string) *structs.Command {
		return &structs.Command{Type: structs.KVSRequestType, KVS: &structs.KVSRequest{Op: structs.KVSet,
			DirEnt: structs.DirEntry{Key: "k", Value: []byte(val)}, WriteRequest: structs.WriteRequest{RequestID: id}}}
	}
	one, batched := newTestStore(t), newTestStore(t)
	idx := uint64(0)
	for i := 0; i < requestWindow; i++ {
		idx++
		c := put(fmt.Sprintf("r%d", i), "x")
		one.Apply(idx, c)
		batched.Apply(idx, c)
	}
	// A new ID evicts r0; the retry of r0 that follows applies again.
	run := []BatchEntry{{Index: idx + 1, Cmd: put("new", "new")}, {Index: idx + 2, Cmd: put("r0", "retried")}}
	want := []BatchResult{}
	for _, e := range run {
		ok, err := one.Apply(e.Index, e.Cmd)
		want = append(want, BatchResult{OK: ok, Err: err})
	}
	got := batched.ApplyBatch(run)
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("one at a time %+v, batched %+v", want, got)
	}
	_, a, _ := one.KVGet(nil, "k")
	_, b, _ := batched.KVGet(nil, "k")
	if string(a.Value) != "retried" || string(b.Value) != "retried" || a.ModifyIndex != b.ModifyIndex {
		t.Fatalf("one at a time %q@%d, batched %q@%d", a.Value, a.ModifyIndex, b.Value, b.ModifyIndex)
	}
}

// A group applies at one index with the outcome of applying its writes one
// at a time at that index: a write that fails changes nothing, and the
// writes after it see the store without it. Both ways a failure is handled
// are checked: carried on past (a refusal that changed nothing) and the
// group applied again without it (any other error).
func TestApplyGroupMatchesApplyAtOneIndex(t *testing.T) {
	for _, rerun := range []bool{false, true} {
		t.Run(fmt.Sprintf("apply again=%v", rerun), func(t *testing.T) {
			if rerun {
				orig := refusedUnchanged
				refusedUnchanged = func(error) bool { return false }
				t.Cleanup(func() { refusedUnchanged = orig })
			}
			testApplyGroupMatchesApply(t)
		})
	}
}

func testApplyGroupMatchesApply(t *testing.T) {
	failures := 0
	for seed := uint64(1); seed <= 40; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		one, grouped := twinStores(t)
		idx := one.idx
		var kvs []*structs.KVSRequest
		for _, c := range randomCommands(rng, 300) {
			if c.KVS != nil {
				kvs = append(kvs, c.KVS)
			}
		}
		for i := 0; i < len(kvs); {
			idx++
			n := min(1+rng.IntN(30), len(kvs)-i)
			group := kvs[i : i+n]
			i += n
			var want []BatchResult
			for _, r := range group {
				ok, err := one.Apply(idx, &structs.Command{Type: structs.KVSRequestType, KVS: r})
				want = append(want, BatchResult{OK: ok, Err: err})
				if err != nil {
					failures++
				}
			}
			got := grouped.ApplyBatch([]BatchEntry{{Index: idx, Group: group}})[0].Group
			for k := range want {
				if want[k].OK != got[k].OK || fmt.Sprint(want[k].Err) != fmt.Sprint(got[k].Err) {
					t.Fatalf("seed %d, index %d, write %d (%+v): one at a time %+v, grouped %+v", seed, idx, k, group[k], want[k], got[k])
				}
			}
		}
		var a, b bytes.Buffer
		one.Snapshot(&a)
		grouped.Snapshot(&b)
		if a.String() != b.String() {
			t.Fatalf("seed %d: the states differ:\none at a time:\n%s\ngrouped:\n%s", seed, a.String(), b.String())
		}
		if one.LatestIndex() != grouped.LatestIndex() || !reflect.DeepEqual(one.scopes.snapshotForTest(), grouped.scopes.snapshotForTest()) {
			t.Fatalf("seed %d: indexes differ: %d vs %d", seed, one.LatestIndex(), grouped.LatestIndex())
		}
	}
	if failures == 0 {
		t.Fatal("no write failed: the workload does not exercise failures within a group")
	}
}

// Readers see a group whole: a blocking read woken by it finds every write.
func TestGroupIsSeenWhole(t *testing.T) {
	s := newTestStore(t)
	ws := memdb.NewWatchSet()
	idx, _, err := s.KVList(ws, "g/")
	if err != nil {
		t.Fatal(err)
	}
	var group []*structs.KVSRequest
	for i := 0; i < 50; i++ {
		group = append(group, &structs.KVSRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{Key: fmt.Sprintf("g/%02d", i), Value: []byte("v")}})
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.ApplyBatch([]BatchEntry{{Index: idx + 1, Group: group}})
	}()
	if ws.Watch(time.After(5 * time.Second)) {
		t.Fatal("the read was not woken")
	}
	got, entries, err := s.KVList(nil, "g/")
	if err != nil || len(entries) != 50 || got != idx+1 {
		t.Fatalf("after the wake-up: index %d (want %d), %d of 50 writes, %v", got, idx+1, len(entries), err)
	}
	<-done
}

// A retried write that failed fails again with the same kind of error,
// also after a snapshot, alone or in a group.
func TestRetriedFailureKeepsItsKind(t *testing.T) {
	s := newTestStore(t)
	lock := &structs.KVSRequest{Op: structs.KVLock, DirEnt: structs.DirEntry{Key: "k", Session: "nosuch"},
		WriteRequest: structs.WriteRequest{RequestID: "r1"}}
	cmd := &structs.Command{Type: structs.KVSRequestType, KVS: lock}
	_, first := s.Apply(10, cmd)
	if !errors.Is(first, structs.ErrInvalidSession) {
		t.Fatalf("the lock answered %v", first)
	}
	restored := roundTrip(t, s.Store)
	for name, retry := range map[string]func() error{
		"alone": func() error { _, err := s.Apply(11, cmd); return err },
		"in a group": func() error {
			return s.ApplyBatch([]BatchEntry{{Index: 12, Group: []*structs.KVSRequest{lock}}})[0].Group[0].Err
		},
		"after a restore": func() error { _, err := restored.Apply(11, cmd); return err },
	} {
		if err := retry(); !errors.Is(err, structs.ErrInvalidSession) || err.Error() != first.Error() {
			t.Errorf("%s: the retry answered %v, want %v", name, err, first)
		}
	}
}
