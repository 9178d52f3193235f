package state

import (
	"testing"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/structs"
)

func TestCatalogRegisterAndRead(t *testing.T) {
	s := newTestStore(t)
	s.register("n1", "10.0.0.1", "web", "web-1", "prod", "v1")
	s.register("n2", "10.0.0.2", "web", "web-2", "v2")
	s.register("n2", "10.0.0.2", "db", "db-1")
	s.check("n1", "web-1-http", "web-1", structs.HealthPassing)
	s.check("n2", "web-2-http", "web-2", structs.HealthCritical)
	s.check("n2", "node-disk", "", structs.HealthWarning)

	_, nodes, _ := s.Nodes(nil, nil)
	if len(nodes) != 2 {
		t.Fatalf("%d nodes", len(nodes))
	}
	_, svcs, _ := s.Services(nil, nil)
	if !structs.StringsEqual(svcs["web"], []string{"prod", "v1", "v2"}) || svcs["db"] == nil {
		t.Fatalf("services: %v", svcs)
	}
	_, sn, _ := s.ServiceNodes(nil, "WEB", []string{"PROD"}, nil)
	if len(sn) != 1 || sn[0].Address != "10.0.0.1" || sn[0].ServiceID != "web-1" {
		t.Fatalf("service nodes by tag: %+v", sn)
	}
	_, all, _ := s.CheckServiceNodes(nil, "web", nil, nil, false)
	if len(all) != 2 {
		t.Fatalf("health entries: %d", len(all))
	}
	if got := len(all[1].Checks); got != 2 {
		t.Fatalf("web-2 entry should carry its own and the node check, got %d", got)
	}
	_, passing, _ := s.CheckServiceNodes(nil, "web", nil, nil, true)
	if len(passing) != 1 || passing[0].Service.ID != "web-1" {
		t.Fatalf("passing: %+v", passing)
	}
	_, crit, _ := s.ChecksInState(nil, structs.HealthCritical, nil)
	if len(crit) != 1 || crit[0].CheckID != "web-2-http" || crit[0].ServiceName != "web" {
		t.Fatalf("critical checks: %+v", crit)
	}

	// Deleting the node takes its services and checks with it.
	s.deregister("n2", "", "")
	_, svcs, _ = s.Services(nil, nil)
	if _, ok := svcs["db"]; ok {
		t.Fatal("db survived its node")
	}
	_, crit, _ = s.ChecksInState(nil, structs.HealthAny, nil)
	if len(crit) != 1 {
		t.Fatalf("checks after node delete: %d", len(crit))
	}
}

func TestCheckNeedsItsService(t *testing.T) {
	s := newTestStore(t)
	s.register("n1", "10.0.0.1", "", "")
	_, err := s.Apply(99, &structs.Command{Type: structs.RegisterRequestType, Register: &structs.RegisterRequest{
		Node: "n1", SkipNodeUpdate: true, Check: &structs.HealthCheck{CheckID: "c", ServiceID: "ghost"},
	}})
	if err == nil {
		t.Fatal("check on a missing service was accepted")
	}
}

// Identical re-registration must not bump any index: anti-entropy re-sends
// what it has and watchers must not wake for it.
func TestIdenticalWritesAreNoOps(t *testing.T) {
	s := newTestStore(t)
	s.register("n1", "10.0.0.1", "web", "web-1", "a")
	s.check("n1", "c1", "web-1", structs.HealthPassing)
	before := s.LatestIndex()
	ws := memdb.NewWatchSet()
	s.CheckServiceNodes(ws, "web", nil, nil, false)
	s.register("n1", "10.0.0.1", "web", "web-1", "a")
	s.check("n1", "c1", "web-1", structs.HealthPassing)
	if s.LatestIndex() != before {
		t.Fatalf("identical writes moved the index %d -> %d", before, s.LatestIndex())
	}
	if fired(ws) {
		t.Fatal("identical writes woke a watcher")
	}
}

// Each read watches the scope of its own result: writes elsewhere in the
// same table leave it asleep and keep its index.
func TestCatalogWatchesFireOnlyForTheirResult(t *testing.T) {
	s := newTestStore(t)
	s.register("n1", "10.0.0.1", "web", "web-1", "a")
	s.register("n2", "10.0.0.2", "api", "api-1")
	s.check("n1", "web-check", "web-1", structs.HealthPassing)
	s.check("n2", "api-check", "api-1", structs.HealthPassing)

	type read func(memdb.WatchSet) uint64
	health := func(ws memdb.WatchSet) uint64 { i, _, _ := s.CheckServiceNodes(ws, "web", nil, nil, true); return i }
	catalog := func(ws memdb.WatchSet) uint64 { i, _, _ := s.ServiceNodes(ws, "web", nil, nil); return i }
	list := func(ws memdb.WatchSet) uint64 { i, _, _ := s.Services(ws, nil); return i }
	node1 := func(ws memdb.WatchSet) uint64 { i, _, _, _ := s.NodeServices(ws, "n1"); return i }
	nodes := func(ws memdb.WatchSet) uint64 { i, _, _ := s.Nodes(ws, nil); return i }

	cases := []struct {
		name  string
		read  read
		write func()
		fire  bool
	}{
		{"health web: api check flaps", health, func() { s.check("n2", "api-check", "api-1", structs.HealthCritical) }, false},
		{"health web: new api instance", health, func() { s.register("n3", "10.0.0.3", "api", "api-2") }, false},
		{"health web: own check fails", health, func() { s.check("n1", "web-check", "web-1", structs.HealthCritical) }, true},
		{"health web: node check on its node", health, func() { s.check("n1", "disk", "", structs.HealthPassing) }, true},
		{"catalog web: own check flaps", catalog, func() { s.check("n1", "web-check", "web-1", structs.HealthPassing) }, false},
		{"catalog web: node address changes", catalog, func() { s.register("n1", "10.0.0.9", "", "") }, true},
		{"service list: new instance, same tags", list, func() { s.register("n4", "10.0.0.4", "web", "web-4", "a") }, false},
		{"service list: new tag", list, func() { s.register("n4", "10.0.0.4", "web", "web-4", "a", "b") }, true},
		{"service list: check flaps", list, func() { s.check("n1", "web-check", "web-1", structs.HealthCritical) }, false},
		{"node n1: other node's service", node1, func() { s.register("n2", "10.0.0.2", "db", "db-1") }, false},
		{"node n1: own service", node1, func() { s.register("n1", "10.0.0.9", "db", "db-2") }, true},
		{"nodes: service write", nodes, func() { s.register("n1", "10.0.0.9", "cache", "cache-1") }, false},
		{"nodes: new node", nodes, func() { s.register("n5", "10.0.0.5", "", "") }, true},
		{"health web: deregister its instance", health, func() { s.deregister("n4", "web-4", "") }, true},
	}
	for _, c := range cases {
		ws := memdb.NewWatchSet()
		before := c.read(ws)
		c.write()
		after := c.read(nil)
		if got := fired(ws); got != c.fire {
			t.Errorf("%s: fired=%v, want %v", c.name, got, c.fire)
		}
		if changed := after != before; changed != c.fire {
			t.Errorf("%s: index %d -> %d, want changed=%v", c.name, before, after, c.fire)
		}
	}
}
