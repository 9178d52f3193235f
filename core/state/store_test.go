package state

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/structs"
)

// testStore wraps a store with an index counter, like the dev applier.
type testStore struct {
	*Store
	t   testing.TB
	idx uint64
}

func newTestStore(t testing.TB) *testStore {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return &testStore{Store: s, t: t}
}

func (s *testStore) apply(c *structs.Command) bool {
	s.t.Helper()
	s.idx++
	ok, err := s.Apply(s.idx, c)
	if err != nil {
		s.t.Fatalf("apply %s: %v", c.Type, err)
	}
	return ok
}

func (s *testStore) kv(op structs.KVOp, key, val string, cas uint64) bool {
	s.t.Helper()
	return s.apply(&structs.Command{Type: structs.KVSRequestType, KVS: &structs.KVSRequest{
		Op: op, DirEnt: structs.DirEntry{Key: key, Value: []byte(val), RaftIndex: structs.RaftIndex{ModifyIndex: cas}},
	}})
}

func (s *testStore) register(node, addr, svc, id string, tags ...string) {
	s.t.Helper()
	req := &structs.RegisterRequest{Node: node, Address: addr}
	if svc != "" {
		req.Service = &structs.NodeService{ID: id, Service: svc, Tags: tags, Port: 80}
	}
	s.apply(&structs.Command{Type: structs.RegisterRequestType, Register: req})
}

func (s *testStore) check(node, id, svcID, status string) {
	s.t.Helper()
	s.apply(&structs.Command{Type: structs.RegisterRequestType, Register: &structs.RegisterRequest{
		Node: node, SkipNodeUpdate: true,
		Check: &structs.HealthCheck{CheckID: id, Name: id, ServiceID: svcID, Status: status},
	}})
}

func (s *testStore) deregister(node, svcID, checkID string) {
	s.t.Helper()
	s.apply(&structs.Command{Type: structs.DeregisterRequestType, Deregister: &structs.DeregisterRequest{
		Node: node, ServiceID: svcID, CheckID: checkID,
	}})
}

func fired(ws memdb.WatchSet) bool {
	return ws.Watch(time.After(10*time.Millisecond)) == false
}

func TestKVOperations(t *testing.T) {
	s := newTestStore(t)
	s.kv(structs.KVSet, "hello/key", "a", 0)
	idx, e, err := s.KVGet(nil, "hello/key")
	if err != nil || e == nil || string(e.Value) != "a" || idx != 1 || e.CreateIndex != 1 || e.ModifyIndex != 1 {
		t.Fatalf("get after set: idx=%d entry=%+v err=%v", idx, e, err)
	}

	cases := []struct {
		name string
		op   structs.KVOp
		key  string
		val  string
		cas  uint64
		ok   bool
	}{
		{"cas 0 on existing key fails", structs.KVCAS, "hello/key", "b", 0, false},
		{"cas with stale index fails", structs.KVCAS, "hello/key", "b", 7, false},
		{"cas with current index succeeds", structs.KVCAS, "hello/key", "b", 1, true},
		{"cas 0 on missing key creates it", structs.KVCAS, "hello/new", "n", 0, true},
		{"delete-cas with stale index fails", structs.KVDeleteCAS, "hello/new", "", 1, false},
		{"delete-cas on missing key is a no-op success", structs.KVDeleteCAS, "nope", "", 3, true},
	}
	for _, c := range cases {
		if got := s.kv(c.op, c.key, c.val, c.cas); got != c.ok {
			t.Errorf("%s: got %v, want %v", c.name, got, c.ok)
		}
	}
	_, e, _ = s.KVGet(nil, "hello/key")
	if string(e.Value) != "b" || e.CreateIndex != 1 || e.ModifyIndex <= 1 {
		t.Fatalf("after cas: %+v", e)
	}

	s.kv(structs.KVSet, "hello/sub/x", "x", 0)
	s.kv(structs.KVSet, "hellox", "no", 0)
	_, list, _ := s.KVList(nil, "hello/")
	if len(list) != 3 {
		t.Fatalf("list hello/: %d entries", len(list))
	}
	_, keys, _ := s.KVKeys(nil, "hello/", "/")
	if want := []string{"hello/key", "hello/new", "hello/sub/"}; !structs.StringsEqual(keys, want) {
		t.Fatalf("keys with separator: %v, want %v", keys, want)
	}

	s.kv(structs.KVDeleteTree, "hello/", "", 0)
	_, list, _ = s.KVList(nil, "hello/")
	if len(list) != 0 {
		t.Fatalf("delete-tree left %d entries", len(list))
	}
	if _, e, _ := s.KVGet(nil, "hellox"); e == nil {
		t.Fatal("delete-tree of hello/ removed hellox")
	}
}

// A read's index must grow when its result changes, also through deletes,
// and stay put when only unrelated data changes.
func TestKVIndexesFollowTheirOwnResult(t *testing.T) {
	s := newTestStore(t)
	s.kv(structs.KVSet, "app/a", "1", 0)
	s.kv(structs.KVSet, "app/b", "2", 0)
	s.kv(structs.KVSet, "other", "3", 0)

	idx, _, _ := s.KVList(nil, "app/")
	if idx != 2 {
		t.Fatalf("list index %d, want 2", idx)
	}
	s.kv(structs.KVSet, "other", "4", 0)
	if again, _, _ := s.KVList(nil, "app/"); again != idx {
		t.Fatalf("write to another key moved app/ index %d -> %d", idx, again)
	}
	s.kv(structs.KVDelete, "app/b", "", 0)
	del, list, _ := s.KVList(nil, "app/")
	if del <= idx || len(list) != 1 {
		t.Fatalf("delete under prefix: index %d (was %d), %d entries", del, idx, len(list))
	}
	gidx, e, _ := s.KVGet(nil, "app/b")
	if e != nil || gidx != del {
		t.Fatalf("get of deleted key: idx %d entry %v, want idx %d", gidx, e, del)
	}
	// Reaping the tombstone must not make the index go backwards.
	s.apply(&structs.Command{Type: structs.TombstoneRequestType, Tombstone: &structs.TombstoneRequest{ReapIndex: s.idx}})
	if s.TombstoneCount() != 0 {
		t.Fatal("tombstone not reaped")
	}
	if after, _, _ := s.KVList(nil, "app/"); after < del {
		t.Fatalf("index went backwards after reap: %d < %d", after, del)
	}
}

func TestKVWatchesFireOnlyForTheirData(t *testing.T) {
	s := newTestStore(t)
	s.kv(structs.KVSet, "watch/me", "1", 0)
	s.kv(structs.KVSet, "watch/sibling", "1", 0)

	cases := []struct {
		name  string
		read  func(memdb.WatchSet)
		write func()
		fire  bool
	}{
		{"key: sibling write", func(ws memdb.WatchSet) { s.KVGet(ws, "watch/me") }, func() { s.kv(structs.KVSet, "watch/sibling", "2", 0) }, false},
		{"key: own write", func(ws memdb.WatchSet) { s.KVGet(ws, "watch/me") }, func() { s.kv(structs.KVSet, "watch/me", "2", 0) }, true},
		{"prefix: outside write", func(ws memdb.WatchSet) { s.KVList(ws, "watch/") }, func() { s.kv(structs.KVSet, "zzz", "2", 0) }, false},
		{"prefix: inside write", func(ws memdb.WatchSet) { s.KVList(ws, "watch/") }, func() { s.kv(structs.KVSet, "watch/new", "2", 0) }, true},
		{"prefix: inside delete", func(ws memdb.WatchSet) { s.KVList(ws, "watch/") }, func() { s.kv(structs.KVDelete, "watch/new", "", 0) }, true},
	}
	for _, c := range cases {
		ws := memdb.NewWatchSet()
		c.read(ws)
		c.write()
		if got := fired(ws); got != c.fire {
			t.Errorf("%s: fired=%v, want %v", c.name, got, c.fire)
		}
	}
}

func TestSnapshotRestore(t *testing.T) {
	s := newTestStore(t)
	s.register("n1", "10.0.0.1", "web", "web-1", "prod")
	s.check("n1", structs.SerfCheckID, "", structs.HealthPassing)
	s.check("n1", "web-check", "web-1", structs.HealthWarning)
	s.kv(structs.KVSet, "cfg/a", "1", 0)
	s.kv(structs.KVSet, "cfg/gone", "x", 0)
	s.kv(structs.KVDelete, "cfg/gone", "", 0)
	s.session("s1", "n1", structs.SessionRelease, 0, structs.SerfCheckID)
	s.lock(structs.KVLock, "cfg/lock", "s1")

	r := roundTrip(t, s.Store)
	if r.LatestIndex() != s.LatestIndex() {
		t.Fatalf("latest index %d, want %d", r.LatestIndex(), s.LatestIndex())
	}
	_, nodes, _ := r.CheckServiceNodes(nil, "web", nil, nil, false)
	if len(nodes) != 1 || len(nodes[0].Checks) != 2 || nodes[0].Service.Tags[0] != "prod" {
		t.Fatalf("restored health: %+v", nodes)
	}
	_, e, _ := r.KVGet(nil, "cfg/lock")
	if e == nil || e.Session != "s1" || e.LockIndex != 1 {
		t.Fatalf("restored lock: %+v", e)
	}
	if idx, e, _ := r.KVGet(nil, "cfg/gone"); e != nil || idx < 6 {
		t.Fatalf("restored tombstone: idx %d entry %v", idx, e)
	}
	if _, sess, _ := r.SessionGet(nil, "s1"); sess == nil {
		t.Fatal("session lost")
	}
	// Watchers of the restored store see scopes at least at the snapshot.
	if idx, _, _ := r.Nodes(nil, nil); idx < s.LatestIndex() {
		t.Fatalf("scope index %d below the snapshot's %d", idx, s.LatestIndex())
	}
	// The restored store keeps working: the session can be destroyed and
	// releases its lock.
	rs := &testStore{Store: r, t: t, idx: s.idx}
	rs.apply(&structs.Command{Type: structs.SessionRequestType, Session: &structs.SessionRequest{
		Op: structs.SessionDestroy, Session: structs.Session{ID: "s1"}}})
	if _, e, _ := r.KVGet(nil, "cfg/lock"); e.Session != "" {
		t.Fatal("lock not released after restore")
	}
	if _, err := Restore(strings.NewReader(`{"Format":99}`)); err == nil {
		t.Fatal("unknown format accepted")
	}
	if _, err := Restore(strings.NewReader("{\"Format\":1}\n{\"t\":\"bogus\",\"v\":{}}\n")); err == nil {
		t.Fatal("unknown table accepted")
	}
}

// A write retried with the same request ID applies once and answers the
// same both times; an ID that fell out of the window would apply again.
func TestRequestIDsApplyOnce(t *testing.T) {
	s := newTestStore(t)
	cas := func(id string, val string, index uint64) (bool, error) {
		s.idx++
		return s.Apply(s.idx, &structs.Command{Type: structs.KVSRequestType, KVS: &structs.KVSRequest{
			Op: structs.KVCAS, DirEnt: structs.DirEntry{Key: "k", Value: []byte(val), RaftIndex: structs.RaftIndex{ModifyIndex: index}},
			WriteRequest: structs.WriteRequest{RequestID: id}}})
	}
	if ok, err := cas("r1", "first", 0); !ok || err != nil {
		t.Fatalf("first CAS: %v %v", ok, err)
	}
	// The retry of r1 must not be refused as a CAS conflict, nor rewrite.
	if ok, err := cas("r1", "first", 0); !ok || err != nil {
		t.Fatalf("retried CAS: %v %v", ok, err)
	}
	_, e, _ := s.KVGet(nil, "k")
	if e.ModifyIndex != 1 {
		t.Fatalf("retry applied again: ModifyIndex %d", e.ModifyIndex)
	}
	// A failed CAS is remembered as failed.
	if ok, _ := cas("r2", "second", 0); ok {
		t.Fatal("CAS on an existing key succeeded")
	}
	s.kv(structs.KVDelete, "k", "", 0)
	if ok, _ := cas("r2", "second", 0); ok {
		t.Fatal("retry of a failed CAS succeeded the second time")
	}
	// Request outcomes survive a snapshot.
	r := roundTrip(t, s.Store)
	if prev, ok := r.appliedRequest("r1"); !ok || !prev.OK {
		t.Fatal("request IDs lost in a snapshot")
	}
}

// The request log forgets the oldest IDs once the window is full, and a
// snapshot carries exactly the remembered ones, in order.
func TestRequestWindowEvictsOldest(t *testing.T) {
	s := newTestStore(t)
	put := func(id string) {
		s.idx++
		if _, err := s.Apply(s.idx, &structs.Command{Type: structs.KVSRequestType, KVS: &structs.KVSRequest{
			Op: structs.KVSet, DirEnt: structs.DirEntry{Key: "k", Value: []byte(id)},
			WriteRequest: structs.WriteRequest{RequestID: id}}}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < requestWindow+10; i++ {
		put(fmt.Sprintf("r%d", i))
	}
	if _, ok := s.appliedRequest("r9"); ok {
		t.Error("r9 is still remembered past the window")
	}
	if _, ok := s.appliedRequest("r10"); !ok {
		t.Error("r10 was forgotten inside the window")
	}
	r := roundTrip(t, s.Store)
	got := r.requests.entries()
	if len(got) != requestWindow || got[0].ID != "r10" || got[len(got)-1].ID != fmt.Sprintf("r%d", requestWindow+9) {
		t.Fatalf("restored window: %d entries, first %+v", len(got), got[0])
	}
	// The restored store evicts in the same order as the original.
	put("next")
	r.Apply(s.idx, &structs.Command{Type: structs.KVSRequestType, KVS: &structs.KVSRequest{
		Op: structs.KVSet, DirEnt: structs.DirEntry{Key: "k"}, WriteRequest: structs.WriteRequest{RequestID: "next"}}})
	if _, ok := r.appliedRequest("r10"); ok {
		t.Error("the restored store kept r10 after one more request")
	}
	if _, ok := r.appliedRequest("r11"); !ok {
		t.Error("the restored store dropped r11")
	}
}

// A write that changed nothing (a delete of a missing key) still leaves its
// request ID in a snapshot, so a restored server skips its retry as the
// others do.
func TestSnapshotKeepsIDsOfWritesThatChangedNothing(t *testing.T) {
	s := newTestStore(t)
	s.kv(structs.KVSet, "a", "1", 0)
	del := &structs.Command{Type: structs.KVSRequestType, KVS: &structs.KVSRequest{Op: structs.KVDelete,
		DirEnt: structs.DirEntry{Key: "c"}, WriteRequest: structs.WriteRequest{RequestID: "del-c"}}}
	s.idx++
	if _, err := s.Apply(s.idx, del); err != nil {
		t.Fatal(err)
	}
	r := roundTrip(t, s.Store)
	for _, st := range []*Store{s.Store, r} {
		st.Apply(s.idx+1, &structs.Command{Type: structs.KVSRequestType, KVS: &structs.KVSRequest{Op: structs.KVSet,
			DirEnt: structs.DirEntry{Key: "c", Value: []byte("v")}}})
		st.Apply(s.idx+2, del) // the retry
		if _, e, _ := st.KVGet(nil, "c"); e == nil {
			t.Fatal("a retried delete applied again")
		}
	}
}

// roundTrip is s written to a snapshot and restored from it.
func roundTrip(t testing.TB, s *Store) *Store {
	t.Helper()
	var buf bytes.Buffer
	if err := s.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	r, err := Restore(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
