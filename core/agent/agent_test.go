package agent

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/core/rpc"
	"github.com/beacon-sd/beacon/core/server"
	"github.com/beacon-sd/beacon/core/structs"
	"github.com/beacon-sd/beacon/internal/waitfor"
)

// newAgent runs an agent against a real in-process server.
func newAgent(t *testing.T, tune func(*Config)) *Agent {
	t.Helper()
	srv, err := server.New(server.Config{Datacenter: "dc1", NodeName: "n1", Address: "127.0.0.1", RPCAddr: "127.0.0.1:8300", ServerPort: 8300})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	cfg := Config{Node: structs.Node{Node: "n1", Address: "127.0.0.1", Datacenter: "dc1"}, Server: true,
		SyncInterval: time.Hour, ReapInterval: 50 * time.Millisecond}
	if tune != nil {
		tune(&cfg)
	}
	a, err := New(cfg, srv)
	if err != nil {
		t.Fatal(err)
	}
	a.Start()
	t.Cleanup(a.Shutdown)
	return a
}

func (a *Agent) catalogStatus(t *testing.T, service string) []string {
	t.Helper()
	a.SyncChanges()
	var out structs.IndexedCheckServiceNodes
	if err := a.backend.HealthServiceNodes(context.Background(), &structs.ServiceSpecificRequest{ServiceName: service}, &out); err != nil {
		t.Fatal(err)
	}
	var st []string
	for _, n := range out.Nodes {
		for _, c := range n.Checks {
			if c.ServiceID != "" {
				st = append(st, c.Status)
			}
		}
	}
	return st
}

// An HTTP check follows its target, and the catalog follows the check.
func TestHTTPCheckDrivesCatalogHealth(t *testing.T) {
	var code atomic.Int32
	code.Store(200)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(int(code.Load())) }))
	defer target.Close()
	a := newAgent(t, nil)
	err := a.AddService(&structs.ServiceDefinition{Name: "web", Port: 80, Check: &structs.CheckDefinition{
		HTTP: target.URL, Interval: structs.Duration(time.Second)}}, SourceAPI)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		code int32
		want string
	}{{200, "passing"}, {429, "warning"}, {503, "critical"}, {200, "passing"}} {
		code.Store(step.code)
		waitfor.Until(t, 5*time.Second, "web "+step.want, func() bool {
			st := a.catalogStatus(t, "web")
			return len(st) == 1 && st[0] == step.want
		})
	}
}

// A service whose check stays critical past deregister_critical_service_after
// is removed, from the agent and the catalog.
func TestCriticalServiceIsReaped(t *testing.T) {
	a := newAgent(t, nil)
	err := a.AddService(&structs.ServiceDefinition{ID: "doomed-1", Name: "doomed", Check: &structs.CheckDefinition{
		TTL: structs.Duration(time.Minute), DeregisterCriticalServiceAfter: structs.Duration(200 * time.Millisecond)}}, SourceAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.AddService(&structs.ServiceDefinition{ID: "kept-1", Name: "kept", Check: &structs.CheckDefinition{
		TTL: structs.Duration(time.Minute), Status: structs.HealthPassing,
		DeregisterCriticalServiceAfter: structs.Duration(200 * time.Millisecond)}}, SourceAPI); err != nil {
		t.Fatal(err)
	}
	waitfor.Until(t, 5*time.Second, "the critical service to be reaped", func() bool { return a.Service("doomed-1") == nil })
	if len(a.catalogStatus(t, "doomed")) != 0 {
		t.Fatal("reaped service still in the catalog")
	}
	if a.Service("kept-1") == nil {
		t.Fatal("a passing service was reaped")
	}
}

// Script checks run only where the agent allows them, by source.
func TestScriptCheckPermissions(t *testing.T) {
	def := func() *structs.ServiceDefinition {
		return &structs.ServiceDefinition{Name: "s", Check: &structs.CheckDefinition{
			ScriptArgs: []string{"true"}, Interval: structs.Duration(time.Second)}}
	}
	cases := []struct {
		any, local bool
		source     string
		ok         bool
	}{
		{false, false, SourceAPI, false},
		{false, false, SourceConfig, false},
		{false, true, SourceAPI, false},
		{false, true, SourceConfig, true},
		{true, false, SourceAPI, true},
	}
	for _, c := range cases {
		a := newAgent(t, func(cfg *Config) { cfg.EnableScriptChecks, cfg.EnableLocalScriptChecks = c.any, c.local })
		err := a.AddService(def(), c.source)
		if (err == nil) != c.ok {
			t.Errorf("enable_script_checks=%v enable_local_script_checks=%v from %s: err %v", c.any, c.local, c.source, err)
		}
	}
}

// An alias check mirrors the health of the service it names.
func TestAliasCheck(t *testing.T) {
	a := newAgent(t, nil)
	a.AddService(&structs.ServiceDefinition{ID: "db-1", Name: "db", Check: &structs.CheckDefinition{
		CheckID: "db-ttl", TTL: structs.Duration(time.Minute), Status: structs.HealthPassing}}, SourceAPI)
	a.AddService(&structs.ServiceDefinition{ID: "web-1", Name: "web", Check: &structs.CheckDefinition{
		CheckID: "web-needs-db", AliasService: "db-1"}}, SourceAPI)
	status := func() string {
		for _, c := range a.Checks() {
			if c.CheckID == "web-needs-db" {
				return c.Status
			}
		}
		return ""
	}
	a.SyncChanges()
	waitfor.Until(t, 5*time.Second, "alias passing", func() bool { return status() == structs.HealthPassing })
	a.UpdateTTL("db-ttl", structs.HealthCritical, "down")
	a.SyncChanges()
	waitfor.Until(t, 5*time.Second, "alias critical", func() bool { return status() == structs.HealthCritical })
	a.UpdateTTL("db-ttl", structs.HealthPassing, "up")
	a.SyncChanges()
	waitfor.Until(t, 5*time.Second, "alias passing again", func() bool { return status() == structs.HealthPassing })
}

// Re-registering a service replaces its check runner; results of the old
// runner no longer count.
func TestReRegistrationReplacesRunner(t *testing.T) {
	a := newAgent(t, nil)
	reg := func(ttl time.Duration) {
		t.Helper()
		if err := a.AddService(&structs.ServiceDefinition{ID: "r-1", Name: "r", Check: &structs.CheckDefinition{
			CheckID: "r-ttl", TTL: structs.Duration(ttl), Status: structs.HealthPassing}}, SourceAPI); err != nil {
			t.Fatal(err)
		}
	}
	reg(100 * time.Millisecond)
	reg(time.Hour) // the short TTL must not expire the new registration
	time.Sleep(300 * time.Millisecond)
	for _, c := range a.Checks() {
		if c.CheckID == "r-ttl" && c.Status != structs.HealthPassing {
			t.Fatalf("old runner's expiry applied to the new check: %s %q", c.Status, c.Output)
		}
	}
}

// Once the agent has shut down (as a leave does before its node is taken
// out of the catalog) nothing it still holds is pushed to the catalog.
func TestNoPushAfterShutdown(t *testing.T) {
	a := newAgent(t, nil)
	a.Shutdown()
	if err := a.AddService(&structs.ServiceDefinition{Name: "late", Port: 80}, "api"); err != nil {
		t.Fatal(err)
	}
	if err := a.SyncChanges(); err == nil {
		t.Fatal("a push after shutdown reported success")
	}
	var out structs.IndexedServiceNodes
	if err := a.backend.CatalogServiceNodes(context.Background(), &structs.ServiceSpecificRequest{ServiceName: "late"}, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.ServiceNodes) != 0 {
		t.Fatalf("a service added after shutdown reached the catalog: %+v", out.ServiceNodes)
	}
}

// A push to servers that do not answer (one that accepts connections and
// reads nothing, as a frozen server does) does not hold up Shutdown, which
// a leave calls first: the push is abandoned, and says so.
func TestShutdownAbandonsAPushToServersThatDoNotAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	reached := make(chan struct{}, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			c.Read(make([]byte, 1))
			select {
			case reached <- struct{}{}:
			default:
			}
		}
	}()
	pool := rpc.NewPool()
	defer pool.Close()
	backend := &rpc.Remote{Pool: pool, Servers: func() []string { return []string{ln.Addr().String()} }}
	a, err := New(Config{Node: structs.Node{Node: "c1", Address: "127.0.0.1", Datacenter: "dc1"}, SyncInterval: time.Hour}, backend)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.AddService(&structs.ServiceDefinition{Name: "web", Port: 80}, SourceAPI); err != nil {
		t.Fatal(err)
	}
	pushed := make(chan error, 1)
	go func() { pushed <- a.SyncChanges() }()
	select {
	case <-reached:
	case <-time.After(10 * time.Second):
		t.Fatal("the push never reached the server")
	}
	stopped := make(chan struct{})
	start := time.Now()
	go func() { a.Shutdown(); close(stopped) }()
	select {
	case <-stopped:
		t.Logf("Shutdown returned %v after it was called, with a push in flight", time.Since(start).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown waited over 5 s for a push to servers that do not answer")
	}
	if err := <-pushed; !errors.Is(err, errShutDown) {
		t.Fatalf("the abandoned push: %v, want it to say the agent shut down", err)
	}
}
