package server

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/core/structs"
)

// gossipView is a settable member list standing in for the gossip pool.
type gossipView struct {
	mu      sync.Mutex
	members map[string]structs.MemberStatus
}

func (g *gossipView) set(name string, st structs.MemberStatus) {
	g.mu.Lock()
	g.members[name] = st
	g.mu.Unlock()
}

func (g *gossipView) list() []structs.Member {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []structs.Member
	for name, st := range g.members {
		out = append(out, structs.Member{Name: name, Addr: "127.0.0.2", Status: st,
			Tags: map[string]string{"dc": "dc1", "role": "node", "id": name + "-id"}})
	}
	return out
}

func inCatalog(t *testing.T, s *Server, name string) bool {
	t.Helper()
	_, node, _, err := s.Store().NodeServices(nil, name)
	if err != nil {
		t.Fatal(err)
	}
	return node != nil
}

// A node whose agent asked to leave stays out of the catalog while the
// leader's gossip view still has it alive, until gossip has it gone; after
// that it can join again. A client that announced its leave is removed at
// once, without asking.
func TestNodeLeaveIsNotUndoneByAStaleView(t *testing.T) {
	s := newServer(t)
	g := &gossipView{members: map[string]structs.MemberStatus{"c1": structs.MemberAlive, "c2": structs.MemberAlive}}
	s.cfg.Members = g.list
	if !s.reconcile() || !inCatalog(t, s, "c1") || !inCatalog(t, s, "c2") {
		t.Fatal("alive clients not registered")
	}
	ctx := context.Background()
	if err := s.NodeLeave(ctx, &structs.DeregisterRequest{Node: "c1"}); err != nil {
		t.Fatal(err)
	}
	if inCatalog(t, s, "c1") {
		t.Fatal("c1 still in the catalog once its leave was acknowledged")
	}
	if !s.reconcile() || inCatalog(t, s, "c1") {
		t.Fatal("a gossip view that still has c1 alive put it back in the catalog")
	}
	g.set("c1", structs.MemberLeft)
	s.reconcile()
	g.set("c1", structs.MemberAlive) // joined again
	if !s.reconcile() || !inCatalog(t, s, "c1") {
		t.Fatal("c1, back after it left, not registered")
	}

	g.set("c2", structs.MemberLeaving)
	if !s.reconcile() || inCatalog(t, s, "c2") {
		t.Fatal("a client that announced its leave stayed in the catalog")
	}

	// A node still alive long after it asked to leave did not leave.
	if err := s.NodeLeave(ctx, &structs.DeregisterRequest{Node: "c1"}); err != nil {
		t.Fatal(err)
	}
	s.reconcileMu.Lock()
	s.leaving["c1"] = time.Now().Add(-leaveHold - time.Second)
	s.reconcileMu.Unlock()
	if !s.reconcile() || !inCatalog(t, s, "c1") {
		t.Fatal("c1, alive long after it asked to leave, not registered again")
	}

	for _, bad := range []*structs.DeregisterRequest{{}, {Node: "c1", ServiceID: "web"}} {
		if err := s.NodeLeave(ctx, bad); err == nil {
			t.Errorf("NodeLeave %+v accepted", bad)
		}
	}
}
