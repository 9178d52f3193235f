package watch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/core/structs"
	"github.com/beacon-sd/beacon/core/testagent"
	"github.com/beacon-sd/beacon/watcher/consul"
	"github.com/beacon-sd/beacon/watcher/watch"
)

// call is one run of a handler: the index and the result as JSON.
type call struct {
	index uint64
	json  string
}

// recorder is a handler that keeps what it was given and can be told to
// fail.
type recorder struct {
	mu    sync.Mutex
	calls []call
	fail  int // fail this many calls first
}

func (r *recorder) handle(_ context.Context, index uint64, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call{index, string(b)})
	if r.fail > 0 {
		r.fail--
		return errors.New("handler failed on purpose")
	}
	return nil
}

// wait returns the n-th call (from 1), waiting for it.
func (r *recorder) wait(t *testing.T, n int) call {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		if len(r.calls) >= n {
			c := r.calls[n-1]
			r.mu.Unlock()
			return c
		}
		r.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Fatalf("handler ran %d times, waited for run %d: %+v", len(r.calls), n, r.calls)
	return call{}
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

// run starts a watch of def against a, with a recording handler.
func run(t *testing.T, a *testagent.Agent, def structs.WatchDefinition) *recorder {
	t.Helper()
	c, err := consul.New(consul.Config{Address: a.HTTPAddr})
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	w, err := watch.New(&def, c, r.handle, watch.Options{Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; c.Close() })
	return r
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func decode[T any](t *testing.T, c call) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(c.json), &v); err != nil {
		t.Fatalf("%s: %v", c.json, err)
	}
	return v
}

func TestKeyWatches(t *testing.T) {
	a := testagent.Start(t)
	kv := a.Client.KV()
	key := run(t, a, structs.WatchDefinition{Type: "key", Key: "app/config"})
	prefix := run(t, a, structs.WatchDefinition{Type: "keyprefix", Prefix: "app/"})
	// The first result is handled too: the key does not exist yet.
	if c := key.wait(t, 1); c.json != "null" || c.index == 0 {
		t.Fatalf("first result of a missing key: %+v", c)
	}
	if c := prefix.wait(t, 1); c.json != "null" {
		t.Fatalf("first result of an empty prefix: %+v", c)
	}
	_, err := kv.Put(&api.KVPair{Key: "app/config", Value: []byte("v1")}, nil)
	must(t, err)
	c := key.wait(t, 2)
	if p := decode[api.KVPair](t, c); p.Key != "app/config" || string(p.Value) != "v1" || c.index != p.ModifyIndex {
		t.Fatalf("key after a put: %+v (index %d)", p, c.index)
	}
	_, err = kv.Put(&api.KVPair{Key: "app/other", Value: []byte("x")}, nil)
	must(t, err)
	if ps := decode[api.KVPairs](t, prefix.wait(t, 3)); len(ps) != 2 || ps[1].Key != "app/other" {
		t.Fatalf("prefix after two puts: %+v", ps)
	}
	// A write elsewhere changes nothing the key watch sees.
	time.Sleep(500 * time.Millisecond)
	if n := key.count(); n != 2 {
		t.Fatalf("key watch ran %d times; a write to another key ran it", n)
	}
}

func TestCatalogWatches(t *testing.T) {
	a := testagent.Start(t)
	node := a.Agent.Node().Node
	services := run(t, a, structs.WatchDefinition{Type: "services"})
	nodes := run(t, a, structs.WatchDefinition{Type: "nodes"})
	web := run(t, a, structs.WatchDefinition{Type: "service", Service: "web", Tag: []string{"blue"}, PassingOnly: true})
	critical := run(t, a, structs.WatchDefinition{Type: "checks", State: "critical"})
	webChecks := run(t, a, structs.WatchDefinition{Type: "checks", Service: "web"})
	local := run(t, a, structs.WatchDefinition{Type: "agent_service", ServiceID: "web-1"})

	if m := decode[map[string][]string](t, services.wait(t, 1)); m["consul"] == nil {
		t.Fatalf("services: %v", m)
	}
	if ns := decode[[]*api.Node](t, nodes.wait(t, 1)); len(ns) != 1 || ns[0].Node != node {
		t.Fatalf("nodes: %+v", ns)
	}
	if c := web.wait(t, 1); c.json != "[]" {
		t.Fatalf("service without instances: %s", c.json)
	}
	if c := local.wait(t, 1); c.json != "null" {
		t.Fatalf("local service before it exists: %s", c.json)
	}
	reg := func(id string, tags []string, status string) {
		t.Helper()
		must(t, a.Client.Agent().ServiceRegister(&api.AgentServiceRegistration{ID: id, Name: "web", Port: 80, Tags: tags,
			Check: &api.AgentServiceCheck{CheckID: id + "-ttl", TTL: "10m", Status: status}}))
		must(t, a.Agent.SyncNow())
	}
	reg("web-1", []string{"blue"}, "passing")
	reg("web-2", []string{"blue"}, "critical")
	reg("web-3", []string{"green"}, "passing")
	if m := decode[map[string][]string](t, services.wait(t, 2)); m["web"] == nil {
		t.Fatalf("services after registering web: %v", m)
	}
	// Blue and passing: web-1 only.
	var entries []*api.ServiceEntry
	for n := 2; ; n++ {
		entries = decode[[]*api.ServiceEntry](t, web.wait(t, n))
		if len(entries) > 0 {
			break
		}
	}
	if len(entries) != 1 || entries[0].Service.ID != "web-1" {
		t.Fatalf("service web, tag blue, passing only: %+v", entries)
	}
	var crit []*api.HealthCheck
	for n := 1; ; n++ {
		crit = decode[[]*api.HealthCheck](t, critical.wait(t, n))
		if len(crit) > 0 {
			break
		}
	}
	if len(crit) != 1 || crit[0].CheckID != "web-2-ttl" {
		t.Fatalf("critical checks: %+v", crit)
	}
	var checks []*api.HealthCheck
	for n := 1; len(checks) < 3; n++ {
		checks = decode[[]*api.HealthCheck](t, webChecks.wait(t, n))
	}
	if s := decode[api.AgentService](t, local.wait(t, 2)); s.ID != "web-1" || s.Service != "web" {
		t.Fatalf("local service: %+v", s)
	}
}

// TestEventWatch: the first run gets the events the agent has, each later
// run only those fired since, and the index of the whole list.
func TestEventWatch(t *testing.T) {
	a := testagent.Start(t)
	ev := a.Client.Event()
	fire := func(name, payload string) string {
		t.Helper()
		id, _, err := ev.Fire(&api.UserEvent{Name: name, Payload: []byte(payload)}, nil)
		must(t, err)
		return id
	}
	first := fire("deploy", "1")
	fire("other", "x")
	w := run(t, a, structs.WatchDefinition{Type: "event", Name: "deploy"})
	all := run(t, a, structs.WatchDefinition{Type: "event"})
	c := w.wait(t, 1)
	if evs := decode[[]*api.UserEvent](t, c); len(evs) != 1 || evs[0].ID != first || c.index != ev.IDToIndex(first) {
		t.Fatalf("first run: %s (index %d)", c.json, c.index)
	}
	if evs := decode[[]*api.UserEvent](t, all.wait(t, 1)); len(evs) != 2 {
		t.Fatalf("first run of a watch of every event: %+v", evs)
	}
	second := fire("deploy", "2")
	third := fire("deploy", "3")
	var got []string
	for n := 2; len(got) < 2; n++ {
		c := w.wait(t, n)
		evs := decode[[]*api.UserEvent](t, c)
		for _, e := range evs {
			got = append(got, e.ID)
		}
		if len(evs) == 0 || c.index != ev.IDToIndex(evs[len(evs)-1].ID) {
			t.Fatalf("run %d: %s, index %d", n, c.json, c.index)
		}
	}
	if strings.Join(got, ",") != second+","+third {
		t.Fatalf("later runs got %v, want only the new events %s, %s", got, second, third)
	}
}

// TestFailingHandlerRunsAgain: a handler that fails is run again at the
// next change, and the watch goes on.
func TestFailingHandlerRunsAgain(t *testing.T) {
	a := testagent.Start(t)
	c, err := consul.New(consul.Config{Address: a.HTTPAddr})
	must(t, err)
	r := &recorder{fail: 2}
	w, err := watch.New(&structs.WatchDefinition{Type: "key", Key: "k"}, c, r.handle, watch.Options{})
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)
	r.wait(t, 1)
	for i := 1; i <= 2; i++ {
		_, err := a.Client.KV().Put(&api.KVPair{Key: "k", Value: []byte(fmt.Sprint(i))}, nil)
		must(t, err)
		if p := decode[api.KVPair](t, r.wait(t, i+1)); string(p.Value) != fmt.Sprint(i) {
			t.Fatalf("run %d after failures: %+v", i+1, p)
		}
	}
}

func TestOnceEndsAfterTheFirstResult(t *testing.T) {
	a := testagent.Start(t)
	c, err := consul.New(consul.Config{Address: a.HTTPAddr})
	must(t, err)
	r := &recorder{}
	w, err := watch.New(&structs.WatchDefinition{Type: "nodes"}, c, r.handle, watch.Options{Once: true})
	must(t, err)
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background()) }()
	select {
	case err := <-done:
		if err != nil || r.count() != 1 {
			t.Fatalf("once: %v after %d runs", err, r.count())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a watch with Once did not end after its first result")
	}
}

func TestNewRefusesBadViews(t *testing.T) {
	for _, def := range []structs.WatchDefinition{
		{Type: "key"}, {Type: "service"}, {Type: "checks", Service: "a", State: "passing"}, {Type: "connect_leaf"},
		{Type: "nodes", Key: "k"}, {Type: "event", Stale: true},
	} {
		if _, err := watch.New(&def, nil, nil, watch.Options{}); err == nil {
			t.Errorf("%+v accepted", def)
		}
	}
}

// TestRefusedWatchEnds: a query the agent answers 400 (here a filter that
// is not an expression) ends the watch with the agent's reason instead of
// being retried for ever.
func TestRefusedWatchEnds(t *testing.T) {
	a := testagent.Start(t)
	c, err := consul.New(consul.Config{Address: a.HTTPAddr})
	must(t, err)
	r := &recorder{}
	w, err := watch.New(&structs.WatchDefinition{Type: "nodes", Filter: "((( not an expression"}, c, r.handle, watch.Options{})
	must(t, err)
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background()) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "the agent refuses this watch") || !strings.Contains(err.Error(), "400") {
			t.Fatalf("refused watch: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a watch the agent refuses kept running")
	}
}
