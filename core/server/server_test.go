package server

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/structs"
)

func newServer(t *testing.T) *Server {
	t.Helper()
	s, err := New(Config{Datacenter: "dc1", NodeName: "srv", Address: "127.0.0.1", RPCAddr: "127.0.0.1:8300", ServerPort: 8300})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

func TestServerRegistersItself(t *testing.T) {
	s := newServer(t)
	var out structs.IndexedCheckServiceNodes
	err := s.HealthServiceNodes(context.Background(), &structs.ServiceSpecificRequest{ServiceName: "consul", PassingOnly: true}, &out)
	if err != nil || len(out.Nodes) != 1 || out.Nodes[0].Node.Node != "srv" || out.Nodes[0].Service.Port != 8300 {
		t.Fatalf("consul service: %+v %v", out.Nodes, err)
	}
	before := s.Store().LatestIndex()
	if err := s.reconcileSelf(); err != nil {
		t.Fatal(err)
	}
	if s.Store().LatestIndex() != before {
		t.Fatal("reconciling an unchanged server wrote to the store")
	}
}

// A session whose TTL runs out without a renew is destroyed and its locks
// released.
func TestSessionTTLExpiry(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	id, err := s.SessionApply(ctx, &structs.SessionRequest{Op: structs.SessionCreate,
		Session: structs.Session{Node: "srv", TTL: "10s", NodeChecks: []string{structs.SerfCheckID}}})
	if err != nil {
		t.Fatal(err)
	}
	ok, err := s.KVApply(ctx, &structs.KVSRequest{Op: structs.KVLock, DirEnt: structs.DirEntry{Key: "lock", Session: id}})
	if err != nil || !ok {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	// Stand in a short TTL for the 10s minimum so the test does not wait.
	s.sessions.reset(id, 25*time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for {
		var out structs.IndexedSessions
		s.SessionGet(ctx, &structs.SessionSpecificRequest{SessionID: id}, &out)
		if len(out.Sessions) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("session did not expire")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var kv structs.IndexedDirEntries
	s.KVGet(ctx, &structs.KeyRequest{Key: "lock"}, &kv)
	if len(kv.Entries) != 1 || kv.Entries[0].Session != "" {
		t.Fatalf("lock not released on expiry: %+v", kv.Entries)
	}
}

func TestSessionValidation(t *testing.T) {
	s := newServer(t)
	cases := []structs.Session{
		{Node: "srv", TTL: "5s"},
		{Node: "srv", TTL: "48h"},
		{Node: "srv", TTL: "soon"},
		{Node: "srv", Behavior: "explode"},
		{Node: "srv", LockDelay: 2 * time.Minute},
		{Node: ""},
	}
	for _, sess := range cases {
		_, err := s.SessionApply(context.Background(), &structs.SessionRequest{Op: structs.SessionCreate, Session: sess})
		if err == nil {
			t.Errorf("session %+v accepted", sess)
		}
	}
}

func TestTombstoneGCReapsByAge(t *testing.T) {
	g := newTombstoneGC(15 * time.Minute)
	now := time.Unix(10_000, 0)
	g.now = func() time.Time { return now }
	g.hint(5)
	g.hint(7)
	now = now.Add(2 * time.Minute)
	g.hint(9)
	if idx := g.due(now); idx != 0 {
		t.Fatalf("reaped too early: %d", idx)
	}
	if idx := g.due(now.Add(15 * time.Minute)); idx != 7 {
		t.Fatalf("first bucket: %d, want 7", idx)
	}
	if idx := g.due(now.Add(20 * time.Minute)); idx != 9 {
		t.Fatalf("second bucket: %d, want 9", idx)
	}
	if idx := g.due(now.Add(time.Hour)); idx != 0 {
		t.Fatalf("nothing left, got %d", idx)
	}
}

func TestBlockingQueryReturnsAtOnceForAFutureIndex(t *testing.T) {
	s := newServer(t)
	start := time.Now()
	var out structs.IndexedDirEntries
	err := s.KVGet(context.Background(), &structs.KeyRequest{Key: "k",
		QueryOptions: structs.QueryOptions{MinIndex: 1 << 40, MaxWait: time.Minute}}, &out)
	if err != nil || time.Since(start) > time.Second || out.Index >= 1<<40 {
		t.Fatalf("future index: idx %d after %v, err %v", out.Index, time.Since(start), err)
	}
}

func TestWaitOnManyChannels(t *testing.T) {
	for _, n := range []int{1, 3, 5} {
		ws := memdb.NewWatchSet()
		chs := make([]chan struct{}, n)
		for i := range chs {
			chs[i] = make(chan struct{})
			ws.Add(chs[i])
		}
		if wait(context.Background(), ws, time.After(20*time.Millisecond)) {
			t.Fatalf("n=%d: woke without a change", n)
		}
		close(chs[n-1])
		if !wait(context.Background(), ws, time.After(5*time.Second)) {
			t.Fatalf("n=%d: did not wake on a change", n)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		ws2 := memdb.NewWatchSet()
		ws2.Add(make(chan struct{}))
		if wait(ctx, ws2, nil) {
			t.Fatalf("n=%d: cancelled wait reported a change", n)
		}
	}
}
