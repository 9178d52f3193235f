package http_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
)

// registerRedis registers a node running redis, as the API client's own
// prepared query test does; check, when set, is a check on the instance.
func registerRedis(t *testing.T, c *api.Client, node string, check *api.AgentCheck) {
	t.Helper()
	reg := &api.CatalogRegistration{
		Datacenter: "dc1", Node: node, Address: "192.168.10.10",
		TaggedAddresses: map[string]string{"wan": "127.0.0.1"},
		NodeMeta:        map[string]string{"somekey": "somevalue"},
		Service: &api.AgentService{ID: "redis1", Service: "redis", Tags: []string{"primary", "v1"},
			Meta: map[string]string{"redis-version": "4.0"}, Port: 8000},
		Check: check,
	}
	if _, err := c.Catalog().Register(reg, nil); err != nil {
		t.Fatalf("register %s: %v", node, err)
	}
}

func nodeNames(entries []api.ServiceEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Node.Node)
	}
	sort.Strings(out)
	return out
}

// TestPreparedQueryClientFlow walks what the official client's
// TestAPI_PreparedQuery expects: create, read back equal, list, update,
// execute by ID and by name, unhealthy instances left out unless their
// check is ignored, delete.
func TestPreparedQueryClientFlow(t *testing.T) {
	a := testagent.Start(t)
	c := a.Client
	registerRedis(t, c, "foobar", nil)
	def := &api.PreparedQueryDefinition{
		Name: "test",
		Service: api.ServiceQuery{Service: "redis",
			NodeMeta:    map[string]string{"somekey": "somevalue"},
			ServiceMeta: map[string]string{"redis-version": "4.0"}},
	}
	pq := c.PreparedQuery()
	var err error
	if def.ID, _, err = pq.Create(def, nil); err != nil || def.ID == "" {
		t.Fatalf("create: %q %v", def.ID, err)
	}
	same := func(what string, defs []*api.PreparedQueryDefinition, err error) {
		t.Helper()
		if err != nil || len(defs) != 1 || !reflect.DeepEqual(defs[0], def) {
			t.Fatalf("%s: %v\n got %+v\nwant %+v", what, err, defs, def)
		}
	}
	defs, _, err := pq.Get(def.ID, nil)
	same("get", defs, err)
	defs, _, err = pq.List(nil)
	same("list", defs, err)

	def.Name = "my-query"
	if _, err := pq.Update(def, nil); err != nil {
		t.Fatalf("update: %v", err)
	}
	defs, _, err = pq.Get(def.ID, nil)
	same("get after update", defs, err)

	for _, key := range []string{def.ID, "my-query"} {
		res, _, err := pq.Execute(key, nil)
		if err != nil || len(res.Nodes) != 1 || res.Nodes[0].Node.Node != "foobar" {
			t.Fatalf("execute %s: %+v %v", key, res, err)
		}
		n := res.Nodes[0].Node
		if n.TaggedAddresses["wan"] != "127.0.0.1" || n.Datacenter != "dc1" || res.Datacenter != "dc1" ||
			res.Service != "redis" || res.Failovers != 0 {
			t.Fatalf("execute %s: %+v %+v", key, res, n)
		}
	}
	if _, _, err := pq.Execute("test", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("the old name still executes: %v", err)
	}

	registerRedis(t, c, "failingnode", &api.AgentCheck{Node: "failingnode", CheckID: "failingcheck",
		Name: "failingcheck", ServiceID: "redis1", ServiceName: "redis", Status: "critical"})
	res, _, err := pq.Execute(def.ID, nil)
	if err != nil || !reflect.DeepEqual(nodeNames(res.Nodes), []string{"foobar"}) {
		t.Fatalf("execute with a failing instance: %+v %v", res, err)
	}
	def.Service.IgnoreCheckIDs = []string{"failingcheck"}
	if _, err := pq.Update(def, nil); err != nil {
		t.Fatal(err)
	}
	res, _, err = pq.Execute(def.ID, nil)
	if err != nil || !reflect.DeepEqual(nodeNames(res.Nodes), []string{"failingnode", "foobar"}) {
		t.Fatalf("execute ignoring the failing check: %+v %v", res, err)
	}

	if _, err := pq.Delete(def.ID, nil); err != nil {
		t.Fatal(err)
	}
	if defs, _, err := pq.List(nil); err != nil || len(defs) != 0 {
		t.Fatalf("list after delete: %+v %v", defs, err)
	}
}

// TestPreparedQueryRemoveEmptyTagsRoundTrip is the client's
// TestAPI_PreparedQueryRemoveEmptyTags: the flag is stored and updated.
func TestPreparedQueryRemoveEmptyTagsRoundTrip(t *testing.T) {
	a := testagent.Start(t)
	pq := a.Client.PreparedQuery()
	def := &api.PreparedQueryDefinition{Name: "test", Service: api.ServiceQuery{Service: "redis"}}
	var err error
	if def.ID, _, err = pq.Create(def, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []bool{false, true} {
		def.Template.RemoveEmptyTags = want
		if _, err := pq.Update(def, nil); err != nil {
			t.Fatal(err)
		}
		got, _, err := pq.Get(def.ID, nil)
		if err != nil || len(got) != 1 || got[0].Template.RemoveEmptyTags != want {
			t.Fatalf("RemoveEmptyTags %v: %+v %v", want, got, err)
		}
	}
}

func mustJSON(t *testing.T, body string, out interface{}) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), out); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
}

// TestPreparedQueryExecuteOptions: ?limit cuts the shuffled answer, ?near
// (a node, _agent, _ip from X-Forwarded-For) puts that node first, "!tag"
// leaves instances out, and a query with failover datacenters and nothing
// healthy here answers no nodes and no failovers: beacon knows no other
// datacenter, and Consul skips the ones it does not know.
func TestPreparedQueryExecuteOptions(t *testing.T) {
	a := testagent.Start(t)
	c := a.Client
	self := a.Agent.Node().Node
	for i := 1; i <= 5; i++ {
		registerInstance(t, c, fmt.Sprintf("web-%d", i), fmt.Sprintf("10.0.0.%d", i), "web", "v1")
	}
	registerInstance(t, c, "web-old", "10.0.0.9", "web", "v0")
	if _, err := c.Catalog().Register(&api.CatalogRegistration{Node: self, Address: "127.0.0.1",
		Service: &api.AgentService{ID: "web", Service: "web", Tags: []string{"v1"}, Port: 80}}, nil); err != nil {
		t.Fatal(err)
	}
	pq := c.PreparedQuery()
	for _, def := range []*api.PreparedQueryDefinition{
		{Name: "web", Service: api.ServiceQuery{Service: "web", Tags: []string{"!v0"}}},
		{Name: "none", Service: api.ServiceQuery{Service: "nothing-here",
			Failover: api.QueryFailoverOptions{NearestN: 3, Datacenters: []string{"dc2", "dc1"}}}},
	} {
		if _, _, err := pq.Create(def, nil); err != nil {
			t.Fatal(err)
		}
	}
	first := func(path, fwd string) string {
		t.Helper()
		req := mustReq(t, "GET", a.URL(path), "")
		if fwd != "" {
			req.Header.Set("X-Forwarded-For", fwd)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out api.PreparedQueryExecuteResponse
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || len(out.Nodes) != 6 {
			t.Fatalf("%s: %d %+v %v", path, resp.StatusCode, out, err)
		}
		for _, e := range out.Nodes {
			if e.Node.Node == "web-old" {
				t.Fatalf("%s: the !v0 instance is answered", path)
			}
		}
		return out.Nodes[0].Node.Node
	}
	seen := map[string]bool{}
	for i := 0; i < 30; i++ {
		seen[first("/v1/query/web/execute", "")] = true
		if n := first("/v1/query/web/execute?near=web-3", ""); n != "web-3" {
			t.Fatalf("near=web-3: %s first", n)
		}
		if n := first("/v1/query/web/execute?near=_agent", ""); n != self {
			t.Fatalf("near=_agent: %s first, want %s", n, self)
		}
		if n := first("/v1/query/web/execute?near=_ip", "10.0.0.4, 10.9.9.9"); n != "web-4" {
			t.Fatalf("near=_ip from 10.0.0.4: %s first", n)
		}
	}
	if len(seen) < 2 {
		t.Fatalf("30 executions all answered %v first: not shuffled", seen)
	}
	code, body := do(t, "GET", a.URL("/v1/query/web/execute?limit=2"), "", "")
	var limited api.PreparedQueryExecuteResponse
	if mustJSON(t, body, &limited); code != 200 || len(limited.Nodes) != 2 {
		t.Fatalf("limit=2: %d %s", code, body)
	}
	if res, _, err := pq.Execute("web", &api.QueryOptions{Near: "web-2"}); err != nil || res.Nodes[0].Node.Node != "web-2" {
		t.Fatalf("the client's Near: %+v %v", res, err)
	}
	code, body = do(t, "GET", a.URL("/v1/query/none/execute"), "", "")
	if code != 200 || !strings.Contains(body, `"Nodes":[]`) || !strings.Contains(body, `"Failovers":0`) ||
		!strings.Contains(body, `"Datacenter":"dc1"`) {
		t.Fatalf("failover with no other datacenter: %d %s", code, body)
	}
}

// TestPreparedQueryBlockingExecute: an execute with ?index waits for the
// query's service (or the query) to change.
func TestPreparedQueryBlockingExecute(t *testing.T) {
	a := testagent.Start(t)
	pq := a.Client.PreparedQuery()
	if _, _, err := pq.Create(&api.PreparedQueryDefinition{Name: "web", Service: api.ServiceQuery{Service: "web"}}, nil); err != nil {
		t.Fatal(err)
	}
	res, meta, err := pq.Execute("web", nil)
	if err != nil || len(res.Nodes) != 0 {
		t.Fatalf("execute: %+v %v", res, err)
	}
	exec := func(o *api.QueryOptions) (uint64, error) {
		_, m, err := pq.Execute("web", o)
		if err != nil {
			return 0, err
		}
		return m.LastIndex, nil
	}
	ch := block(exec, meta.LastIndex, 30*time.Second)
	a.Client.KV().Put(&api.KVPair{Key: "unrelated", Value: []byte("1")}, nil)
	select {
	case r := <-ch:
		t.Fatalf("woken by a KV write: %+v", r)
	case <-time.After(300 * time.Millisecond):
	}
	registerInstance(t, a.Client, "web-1", "10.0.0.1", "web")
	select {
	case r := <-ch:
		if r.err != nil || r.index <= meta.LastIndex {
			t.Fatalf("after the service changed: %+v", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("not woken by the query's service")
	}
}

// TestPreparedQuerySnapshot: a snapshot carries prepared queries, the
// session they are bound to, and templates, which resolve after a restore.
func TestPreparedQuerySnapshot(t *testing.T) {
	a := testagent.Start(t)
	c := a.Client
	pq := c.PreparedQuery()
	registerInstance(t, c, "web-1", "10.0.0.1", "web")
	sess, _, err := c.Session().Create(&api.SessionEntry{Name: "owner"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kept := &api.PreparedQueryDefinition{Name: "kept", Session: sess, Service: api.ServiceQuery{Service: "web"}, DNS: api.QueryDNSOptions{TTL: "5s"}}
	if kept.ID, _, err = pq.Create(kept, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := pq.Create(&api.PreparedQueryDefinition{Name: "tmpl-", Template: api.QueryTemplate{Type: "name_prefix_match"},
		Service: api.ServiceQuery{Service: "${name.suffix}"}}, nil); err != nil {
		t.Fatal(err)
	}
	snap, _, err := c.Snapshot().Save(nil)
	if err != nil {
		t.Fatal(err)
	}
	archive, _ := io.ReadAll(snap)
	snap.Close()
	if _, err := pq.Delete(kept.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := pq.Create(&api.PreparedQueryDefinition{Name: "later", Service: api.ServiceQuery{Service: "web"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Snapshot().Restore(nil, bytes.NewReader(archive)); err != nil {
		t.Fatal(err)
	}
	defs, _, err := pq.List(nil)
	if err != nil || len(defs) != 2 {
		t.Fatalf("after restore: %+v %v", defs, err)
	}
	if got, _, err := pq.Get(kept.ID, nil); err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], kept) {
		t.Fatalf("restored query: %+v %v", got, err)
	}
	if res, _, err := pq.Execute("tmpl-web", nil); err != nil || len(res.Nodes) != 1 || res.Service != "web" {
		t.Fatalf("restored template: %+v %v", res, err)
	}
	if _, err := c.Session().Destroy(sess, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := pq.Get(kept.ID, nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("a restored query outlived its session: %v", err)
	}
}
