package state

import (
	"testing"
	"time"

	"github.com/beacon-sd/beacon/core/structs"
)

func (s *testStore) session(id, node, behavior string, delay time.Duration, checks ...string) {
	s.t.Helper()
	s.apply(&structs.Command{Type: structs.SessionRequestType, Session: &structs.SessionRequest{
		Op: structs.SessionCreate,
		Session: structs.Session{ID: id, Node: node, Behavior: behavior, LockDelay: delay,
			NodeChecks: checks},
	}})
}

func (s *testStore) lock(op structs.KVOp, key, session string) bool {
	s.t.Helper()
	return s.apply(&structs.Command{Type: structs.KVSRequestType, KVS: &structs.KVSRequest{
		Op: op, DirEnt: structs.DirEntry{Key: key, Value: []byte(session), Session: session},
	}})
}

func TestLocks(t *testing.T) {
	s := newTestStore(t)
	clock := time.Unix(1000, 0)
	s.now = func() time.Time { return clock }
	s.register("n1", "10.0.0.1", "", "")
	s.check("n1", structs.SerfCheckID, "", structs.HealthPassing)
	s.session("s1", "n1", structs.SessionRelease, 15*time.Second, structs.SerfCheckID)
	s.session("s2", "n1", structs.SessionDelete, 0)

	steps := []struct {
		name    string
		op      structs.KVOp
		key     string
		session string
		ok      bool
	}{
		{"s1 acquires", structs.KVLock, "lock/a", "s1", true},
		{"s1 re-acquires its own lock", structs.KVLock, "lock/a", "s1", true},
		{"s2 cannot take a held lock", structs.KVLock, "lock/a", "s2", false},
		{"s2 cannot release s1's lock", structs.KVUnlock, "lock/a", "s2", false},
		{"s1 releases", structs.KVUnlock, "lock/a", "s1", true},
		{"s2 acquires after release", structs.KVLock, "lock/a", "s2", true},
		{"s2 releases", structs.KVUnlock, "lock/a", "s2", true},
		{"s1 takes lock/b", structs.KVLock, "lock/b", "s1", true},
	}
	for _, st := range steps {
		if got := s.lock(st.op, st.key, st.session); got != st.ok {
			t.Fatalf("%s: got %v want %v", st.name, got, st.ok)
		}
	}
	_, e, _ := s.KVGet(nil, "lock/a")
	if e.LockIndex != 2 || e.Session != "" {
		t.Fatalf("lock/a after two acquisitions: LockIndex=%d Session=%q", e.LockIndex, e.Session)
	}

	// The serfHealth check failing invalidates s1: lock/b is released and
	// enters its lock delay.
	s.check("n1", structs.SerfCheckID, "", structs.HealthCritical)
	if _, sess, _ := s.SessionGet(nil, "s1"); sess != nil {
		t.Fatal("session survived its critical check")
	}
	_, e, _ = s.KVGet(nil, "lock/b")
	if e == nil || e.Session != "" {
		t.Fatalf("lock/b not released: %+v", e)
	}
	if s.lock(structs.KVLock, "lock/b", "s2") {
		t.Fatal("lock taken during lock delay")
	}
	clock = clock.Add(16 * time.Second)
	if !s.lock(structs.KVLock, "lock/b", "s2") {
		t.Fatal("lock not available after lock delay")
	}

	// s2 has the delete behaviour: destroying it deletes what it holds.
	s.apply(&structs.Command{Type: structs.SessionRequestType, Session: &structs.SessionRequest{
		Op: structs.SessionDestroy, Session: structs.Session{ID: "s2"}}})
	if _, e, _ := s.KVGet(nil, "lock/b"); e != nil {
		t.Fatalf("delete-behaviour session left its key: %+v", e)
	}
}

func TestSessionNeedsHealthyChecks(t *testing.T) {
	s := newTestStore(t)
	s.register("n1", "10.0.0.1", "", "")
	s.check("n1", "bad", "", structs.HealthCritical)
	for _, checks := range [][]string{{"bad"}, {"missing"}} {
		_, err := s.Apply(100, &structs.Command{Type: structs.SessionRequestType, Session: &structs.SessionRequest{
			Op: structs.SessionCreate, Session: structs.Session{ID: "x", Node: "n1", NodeChecks: checks}}})
		if err == nil {
			t.Errorf("session bound to %v was created", checks)
		}
	}
	_, err := s.Apply(101, &structs.Command{Type: structs.SessionRequestType, Session: &structs.SessionRequest{
		Op: structs.SessionCreate, Session: structs.Session{ID: "y", Node: "ghost"}}})
	if err == nil {
		t.Error("session on a missing node was created")
	}
}
