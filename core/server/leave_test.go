package server

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/core/structs"
)

// gossipView is a settable member list standing in for the gossip pool.
type gossipView struct {
	mu      sync.Mutex
	members map[string]structs.MemberStatus
	runs    map[string]string // the run of each member's agent
	servers map[string]bool
}

func (g *gossipView) set(name string, st structs.MemberStatus) {
	g.mu.Lock()
	g.members[name] = st
	g.mu.Unlock()
}

// restart lists name as alive, run by another run of its agent.
func (g *gossipView) restart(name, run string) {
	g.mu.Lock()
	g.members[name] = structs.MemberAlive
	if g.runs == nil {
		g.runs = map[string]string{}
	}
	g.runs[name] = run
	g.mu.Unlock()
}

func (g *gossipView) list() []structs.Member {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []structs.Member
	for name, st := range g.members {
		role := "node"
		if g.servers[name] {
			role = "consul"
		}
		run := g.runs[name]
		if run == "" {
			run = name + "-run1"
		}
		out = append(out, structs.Member{Name: name, Addr: "127.0.0.2", Status: st, Run: run,
			Tags: map[string]string{"dc": "dc1", "role": role, "id": name + "-id"}})
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
	s.leaving["c1"] = leaveRequest{at: time.Now().Add(-leaveHold - time.Second), run: "c1-run1"}
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

// A node that asked to leave and whose agent started again at once (gossip
// lists another run of it alive before the leader saw it gone) is listed
// again at once, not held out of the catalog until leaveHold ends.
func TestNodeLeaveHoldEndsWhenTheAgentStartsAgain(t *testing.T) {
	s := newServer(t)
	g := &gossipView{members: map[string]structs.MemberStatus{"c1": structs.MemberAlive}}
	s.cfg.Members = g.list
	if !s.reconcile() || !inCatalog(t, s, "c1") {
		t.Fatal("alive client not registered")
	}
	if err := s.NodeLeave(context.Background(), &structs.DeregisterRequest{Node: "c1"}); err != nil {
		t.Fatal(err)
	}
	if !s.reconcile() || inCatalog(t, s, "c1") {
		t.Fatal("the run that asked to leave, still alive in the leader's view, was put back")
	}
	g.restart("c1", "c1-run2")
	if !s.reconcile() || !inCatalog(t, s, "c1") {
		t.Fatal("c1, started again after its leave, kept out of the catalog")
	}
}

// NodeLeave refuses a server's node, whether the catalog or gossip says it
// is one, and leaves it in the catalog: a server leaves through gossip.
func TestNodeLeaveRefusesServers(t *testing.T) {
	s := newServer(t)
	g := &gossipView{members: map[string]structs.MemberStatus{"s2": structs.MemberAlive},
		servers: map[string]bool{"s2": true}}
	s.cfg.Members = g.list
	s.reconcile()
	for _, name := range []string{"srv", "s2"} {
		err := s.NodeLeave(context.Background(), &structs.DeregisterRequest{Node: name})
		var in *structs.InputError
		if !errors.As(err, &in) || !strings.Contains(err.Error(), `node "`+name+`" is a server`) {
			t.Errorf("NodeLeave of server %s: %v, want an input error naming it a server", name, err)
		}
	}
	if !inCatalog(t, s, "srv") {
		t.Fatal("the server's own node left the catalog")
	}
	s.reconcileMu.Lock()
	held := len(s.leaving)
	s.reconcileMu.Unlock()
	if held != 0 {
		t.Fatalf("a refused leave holds %d nodes out of the catalog", held)
	}
}
