package http_test

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
)

// filterInstance is a service instance of the filter fixture, with the
// status of its one check.
type filterInstance struct {
	node, id, name string
	tags           []string
	version        string
	port           int
	status         string
}

// registerFilterFixture puts into the catalog what the official client's
// filter tests select from: three nodes with their own checks, and
// service instances tagged and versioned in their metadata.
//
//	foo  env=production os=linux    checks alive, ssh    redis v1, redis v2
//	bar  env=production os=windows  check alive          redis v1, web v1 (connect)
//	baz  env=qa         os=linux    checks alive, ssh    web v1, web v2 (connect), critical, warning
func registerFilterFixture(t *testing.T, c *api.Client) {
	t.Helper()
	nodes := []struct {
		name, addr, env, os string
		checks              []string
	}{
		{"foo", "127.0.0.2", "production", "linux", []string{"alive", "ssh"}},
		{"bar", "127.0.0.3", "production", "windows", []string{"alive"}},
		{"baz", "127.0.0.4", "qa", "linux", []string{"alive", "ssh"}},
	}
	for _, n := range nodes {
		reg := &api.CatalogRegistration{Node: n.name, Address: n.addr,
			TaggedAddresses: map[string]string{"lan": n.addr},
			NodeMeta:        map[string]string{"env": n.env, "os": n.os}}
		for _, c := range n.checks {
			reg.Checks = append(reg.Checks, &api.HealthCheck{Node: n.name, CheckID: n.name + ":" + c, Name: c, Status: api.HealthPassing})
		}
		if _, err := c.Catalog().Register(reg, nil); err != nil {
			t.Fatalf("register node %s: %v", n.name, err)
		}
	}
	instances := []filterInstance{
		{"foo", "redisV1", "redis", []string{"v1"}, "1", 1234, api.HealthPassing},
		{"foo", "redisV2", "redis", []string{"v2"}, "2", 1235, api.HealthPassing},
		{"bar", "redisV1", "redis", []string{"v1"}, "1", 1234, api.HealthPassing},
		{"bar", "webV1", "web", []string{"v1", "connect"}, "1", 443, api.HealthPassing},
		{"baz", "webV1", "web", []string{"v1", "connect"}, "1", 443, api.HealthPassing},
		{"baz", "webV2", "web", []string{"v2", "connect"}, "2", 8443, api.HealthPassing},
		{"baz", "criticalV2", "critical", []string{"v2"}, "2", 8080, api.HealthCritical},
		{"baz", "warningV2", "warning", []string{"v2"}, "2", 8081, api.HealthWarning},
	}
	for _, in := range instances {
		reg := &api.CatalogRegistration{Node: in.node, SkipNodeUpdate: true,
			Service: &api.AgentService{ID: in.id, Service: in.name, Tags: in.tags, Port: in.port,
				Meta: map[string]string{"version": in.version}},
			Check: &api.AgentCheck{Node: in.node, CheckID: in.node + ":" + in.id, Name: in.id, Status: in.status,
				ServiceID: in.id}}
		if _, err := c.Catalog().Register(reg, nil); err != nil {
			t.Fatalf("register %s on %s: %v", in.id, in.node, err)
		}
	}
}

func expectLen[T any](t *testing.T, what string, got []T, err error, want int) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
	} else if len(got) != want {
		t.Errorf("%s: %d results, want %d: %+v", what, len(got), want, got)
	}
}

func q(filter string) *api.QueryOptions { return &api.QueryOptions{Filter: filter} }

// TestFilterCatalogAndHealth runs, through the official client, the
// filters of its own catalog and health tests, with the counts Consul
// answers them with.
func TestFilterCatalogAndHealth(t *testing.T) {
	a := testagent.Start(t)
	registerFilterFixture(t, a.Client)
	cat, health := a.Client.Catalog(), a.Client.Health()

	nodes, _, err := cat.Nodes(nil)
	expectLen(t, "all nodes", nodes, err, 4) // the fixture's and the agent's
	nodes, _, err = cat.Nodes(q("Meta.env == production"))
	expectLen(t, "Meta.env == production", nodes, err, 2)
	nodes, _, err = cat.Nodes(q("Node == bar or Node == baz"))
	expectLen(t, "Node == bar or Node == baz", nodes, err, 2)
	nodes, _, err = cat.Nodes(q("Address == `10.0.0.1`"))
	expectLen(t, "no node at 10.0.0.1", nodes, err, 0)

	svcs, _, err := cat.Service("redis", "", q("ServiceMeta.version == 1"))
	expectLen(t, "redis ServiceMeta.version == 1", svcs, err, 2)
	if len(svcs) == 2 && svcs[0].Node == svcs[1].Node {
		t.Errorf("redis v1 is on foo and bar, not twice on %s", svcs[0].Node)
	}
	svcs, _, err = cat.Service("redis", "", q("NodeMeta.os != windows"))
	expectLen(t, "redis NodeMeta.os != windows", svcs, err, 2)
	for _, s := range svcs {
		if s.Node != "foo" {
			t.Errorf("redis off windows: an instance on %s", s.Node)
		}
	}
	svcs, _, err = cat.Service("redis", "", q("Address == `10.0.0.1`"))
	expectLen(t, "redis on 10.0.0.1", svcs, err, 0)

	info, _, err := cat.Node("bar", q("connect in Tags"))
	if err != nil || info == nil || len(info.Services) != 1 || info.Services["webV1"] == nil || info.Services["webV1"].Service != "web" {
		t.Errorf("bar's services tagged connect: %+v, %v", info, err)
	}
	info, _, err = cat.Node("baz", q("connect in Tags"))
	if err != nil || info == nil || len(info.Services) != 2 {
		t.Errorf("baz's services tagged connect: %+v, %v", info, err)
	}
	list, _, err := cat.NodeServiceList("baz", q(`Meta.version == "2" and Port > 8000`))
	if err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("an operator bexpr lacks: %+v, %v", list, err)
	}
	list, _, err = cat.NodeServiceList("baz", q(`Meta.version == "2" and "connect" not in Tags`))
	if err != nil || list == nil || len(list.Services) != 2 || list.Node == nil || list.Node.Node != "baz" {
		t.Errorf("baz's version 2 services without connect: %+v, %v", list, err)
	}

	checks, _, err := health.Node("foo", q("ServiceName == redis"))
	expectLen(t, "foo's redis checks", checks, err, 2)
	checks, _, err = health.Node("foo", q("ServiceID == ``"))
	expectLen(t, "foo's node checks", checks, err, 2)

	checks, _, err = health.Checks("redis", q("Node == foo"))
	expectLen(t, "redis checks on foo", checks, err, 2)
	checks, _, err = health.Checks("redis", q("Node == bar"))
	expectLen(t, "redis checks on bar", checks, err, 1)
	checks, _, err = health.Checks("redis", q("Node == foo and v1 in ServiceTags"))
	expectLen(t, "redis v1 checks on foo", checks, err, 1)

	entries, _, err := health.Service("redis", "", false, q("Service.Meta.version == 2"))
	expectLen(t, "redis entries of version 2", entries, err, 1)
	entries, _, err = health.Service("web", "", false, q("Node.Meta.os == linux"))
	expectLen(t, "web entries on linux", entries, err, 2)
	for _, e := range entries {
		if e.Node.Node != "baz" {
			t.Errorf("web on linux: an entry on %s", e.Node.Node)
		}
	}
	entries, _, err = health.Service("web", "", false, q("Node.Meta.os == linux and Service.Meta.version == 1"))
	expectLen(t, "web v1 on linux", entries, err, 1)
	entries, _, err = health.Service("critical", "", false, q("Checks.Status == critical"))
	expectLen(t, "entries with a critical check", entries, err, 1)

	checks, _, err = health.State(api.HealthAny, q("Node == baz"))
	expectLen(t, "every check on baz", checks, err, 6)
	checks, _, err = health.State(api.HealthAny, q("Status == warning or Status == critical"))
	expectLen(t, "checks warning or critical", checks, err, 2)
	checks, _, err = health.State(api.HealthCritical, q("Node == baz"))
	expectLen(t, "critical checks on baz", checks, err, 1)
	checks, _, err = health.State(api.HealthWarning, q("Node == baz"))
	expectLen(t, "warning checks on baz", checks, err, 1)
}

// TestFilterCatalogServices: /v1/catalog/services filters the service
// instances, with their node's fields, before it groups their tags by
// name; only the tags of matching instances are listed.
func TestFilterCatalogServices(t *testing.T) {
	a := testagent.Start(t, testagent.WithJSON(`{"node_meta":{"somekey":"somevalue","synthetic":"true"}}`))
	cat := a.Client.Catalog()
	for _, f := range []string{
		`NodeMeta["synthetic"] == true and NodeMeta["somekey"] == somevalue`,
		`NodeMeta.synthetic == true`,
		`NodeMeta.somekey == somevalue`,
	} {
		svcs, meta, err := cat.Services(q(f))
		if err != nil || meta.LastIndex == 0 || svcs["consul"] == nil {
			t.Errorf("%s: %v (%+v), %v; want the agent's consul service", f, svcs, meta, err)
		}
	}
	svcs, meta, err := cat.Services(q("NodeMeta.nope == nope"))
	if err != nil || meta.LastIndex == 0 || len(svcs) != 0 {
		t.Errorf("no node has nope: %v (%+v), %v", svcs, meta, err)
	}

	registerFilterFixture(t, a.Client)
	svcs, _, err = cat.Services(q(`ServiceMeta.version == "2" and "v2" in ServiceTags and NodeMeta.env == qa`))
	want := map[string][]string{"web": {"connect", "v2"}, "critical": {"v2"}, "warning": {"v2"}}
	if err != nil || !sameServices(svcs, want) {
		t.Errorf("version 2 on qa nodes: %v, %v; want %v (web without v1: its v1 instance does not match)", svcs, err, want)
	}
	svcs, _, err = cat.Services(q(`ServicePort == 1234`))
	if err != nil || !sameServices(svcs, map[string][]string{"redis": {"v1"}}) {
		t.Errorf("port 1234: %v, %v", svcs, err)
	}
	// ?node-meta and ?filter apply together.
	svcs, _, err = cat.Services(&api.QueryOptions{NodeMeta: map[string]string{"os": "windows"}, Filter: "ServiceName != redis"})
	if err != nil || !sameServices(svcs, map[string][]string{"web": {"connect", "v1"}}) {
		t.Errorf("node-meta os:windows and not redis: %v, %v", svcs, err)
	}
}

func sameServices(got map[string][]string, want map[string][]string) bool {
	if len(got) != len(want) {
		return false
	}
	for name, tags := range want {
		g := append([]string(nil), got[name]...)
		sort.Strings(g)
		if strings.Join(g, ",") != strings.Join(tags, ",") {
			return false
		}
	}
	return true
}

// TestFilterWithOtherParameters: ?filter narrows what ?tag, ?node-meta,
// ?passing and ?dc already chose.
func TestFilterWithOtherParameters(t *testing.T) {
	a := testagent.Start(t)
	registerFilterFixture(t, a.Client)
	cat, health := a.Client.Catalog(), a.Client.Health()

	svcs, _, err := cat.Service("redis", "v1", q("NodeMeta.os == linux"))
	expectLen(t, "redis tagged v1 on linux", svcs, err, 1)
	svcs, _, err = cat.Service("redis", "", &api.QueryOptions{NodeMeta: map[string]string{"env": "production"}, Filter: "ServicePort == 1235", Datacenter: "dc1"})
	expectLen(t, "redis on production nodes at 1235, dc1", svcs, err, 1)
	entries, _, err := health.Service("web", "", true, q(`Service.Port == 8443`))
	expectLen(t, "passing web at 8443", entries, err, 1)
	entries, _, err = health.ServiceMultipleTags("web", []string{"connect", "v1"}, false, q(`Node.Node == bar`))
	expectLen(t, "web tagged connect and v1 on bar", entries, err, 1)
	checks, _, err := health.State(api.HealthPassing, &api.QueryOptions{NodeMeta: map[string]string{"env": "qa"}, Filter: `ServiceID == ""`})
	expectLen(t, "passing node checks of qa nodes", checks, err, 2)
	nodes, _, err := cat.Nodes(&api.QueryOptions{NodeMeta: map[string]string{"env": "production"}, Filter: `Meta.os matches "^win"`, AllowStale: true})
	expectLen(t, "production windows nodes, stale", nodes, err, 1)
}

// TestFilterAgentLists: the agent's own services, checks and members
// take ?filter, where it was ignored before.
func TestFilterAgentLists(t *testing.T) {
	a := testagent.Start(t)
	ag := a.Client.Agent()
	for _, r := range []*api.AgentServiceRegistration{
		{Name: "foo", ID: "foo", Tags: []string{"bar", "baz"}, Port: 8000, Check: &api.AgentServiceCheck{TTL: "15s"}},
		{Name: "foo", ID: "foo2", Tags: []string{"foo", "baz"}, Port: 8001, Check: &api.AgentServiceCheck{TTL: "15s"}},
		{Name: "api", ID: "api-prod", Tags: []string{"v2"}, Port: 9000, Meta: map[string]string{"env": "prod"}},
		{Name: "api", ID: "api-dev", Tags: []string{"v2"}, Port: 9001, Meta: map[string]string{"env": "dev"}},
	} {
		if err := ag.ServiceRegister(r); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"foo-check", "bar-check"} {
		r := &api.AgentCheckRegistration{Name: name}
		r.TTL = "15s"
		if err := ag.CheckRegister(r); err != nil {
			t.Fatal(err)
		}
	}

	svcs, err := ag.ServicesWithFilter("foo in Tags")
	if err != nil || len(svcs) != 1 || svcs["foo2"] == nil {
		t.Errorf(`"foo in Tags": %v, %v`, keys(svcs), err)
	}
	svcs, err = ag.ServicesWithFilterOpts(`Meta.env == "prod" and "v2" in Tags`, &api.QueryOptions{})
	if err != nil || len(svcs) != 1 || svcs["api-prod"] == nil {
		t.Errorf("prod v2: %v, %v", keys(svcs), err)
	}
	svcs, err = ag.ServicesWithFilter(`Datacenter == dc1 and Port >= 9000`)
	if err == nil {
		t.Errorf("an operator bexpr lacks was accepted: %v", keys(svcs))
	}
	svcs, err = ag.ServicesWithFilter(`Datacenter == dc1 and Service == api`)
	if err != nil || len(svcs) != 2 {
		t.Errorf("api in dc1: %v, %v", keys(svcs), err)
	}
	// The catalog's selector is not the agent's: refused, not ignored.
	svcs, err = ag.ServicesWithFilter(`ServiceMeta.env == "prod"`)
	if err == nil || !strings.Contains(err.Error(), `Selector "ServiceMeta" is not valid`) {
		t.Errorf("a catalog selector on the agent's services: %v, %v", keys(svcs), err)
	}

	checks, err := ag.ChecksWithFilter(`Name == "foo-check"`)
	if err != nil || len(checks) != 1 || checks["foo-check"] == nil {
		t.Errorf("Name == foo-check: %v, %v", keys(checks), err)
	}
	checks, err = ag.ChecksWithFilterOpts(`ServiceName == foo and Status == critical`, &api.QueryOptions{})
	if err != nil || len(checks) != 2 {
		t.Errorf("critical checks of foo: %v, %v", keys(checks), err)
	}

	node := a.Agent.Node().Node
	members, err := ag.MembersOpts(api.MembersOpts{Filter: `Tags["dc"] == dc1 and Name == "` + node + `"`})
	if err != nil || len(members) != 1 {
		t.Errorf("members in dc1: %v, %v", members, err)
	}
	members, err = ag.MembersOpts(api.MembersOpts{Filter: `Tags["dc"] == "not-Exist"`})
	if err != nil || len(members) != 0 {
		t.Errorf("members of no dc: %v, %v", members, err)
	}
	_, err = ag.MembersOpts(api.MembersOpts{Filter: `Tags["dc"] == invalid-bexpr-value`})
	if err == nil || !strings.Contains(err.Error(), "400 (Failed to create boolean expression evaluator") {
		t.Errorf("a malformed member filter: %v", err)
	}
}

func keys[T any](m map[string]T) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestFilterRefusedWithBadRequest: a malformed expression, a selector the
// endpoint's items lack and an operation its selector does not take are
// each answered 400 with bexpr's account of the problem, on every
// endpoint that filters; an endpoint that does not filter refuses the
// parameter by name.
func TestFilterRefusedWithBadRequest(t *testing.T) {
	a := testagent.Start(t)
	node := a.Agent.Node().Node
	lists := []struct {
		path, wrongSelector string
	}{
		{"/v1/catalog/nodes", "NodeMeta"},
		{"/v1/catalog/services", "Meta"},
		{"/v1/catalog/service/consul", "Tags"},
		{"/v1/catalog/node/" + node, "ServiceName"},
		{"/v1/catalog/node-services/" + node, "ServiceTags"},
		{"/v1/health/node/" + node, "Meta"},
		{"/v1/health/checks/consul", "Tags"},
		{"/v1/health/service/consul", "ServiceMeta"},
		{"/v1/health/state/any", "Checks"},
		{"/v1/agent/services", "ServiceTags"},
		{"/v1/agent/checks", "Tags"},
		{"/v1/agent/members", "Node"},
	}
	get := func(path, filter string) (int, string) {
		return do(t, "GET", a.URL(path+"?filter="+url.QueryEscape(filter)), "", "")
	}
	for _, l := range lists {
		code, body := get(l.path, l.wrongSelector+`.x == "y"`)
		if code != http.StatusBadRequest || body != `Failed to create boolean expression evaluator: Selector "`+l.wrongSelector+`" is not valid` {
			t.Errorf("%s, unknown selector %s: %d %q", l.path, l.wrongSelector, code, body)
		}
		for _, bad := range []string{`(`, `x ==`, `"a" == "a"`, `Node == "unterminated`} {
			code, body = get(l.path, bad)
			if code != http.StatusBadRequest || !strings.HasPrefix(body, "Failed to create boolean expression evaluator: ") {
				t.Errorf("%s, malformed %q: %d %q", l.path, bad, code, body)
			}
		}
		// A blocking read is refused at once, not after its wait.
		start := time.Now()
		code, _ = do(t, "GET", a.URL(l.path+"?index=100000&wait=60s&filter=%28"), "", "")
		if code != http.StatusBadRequest || time.Since(start) > 30*time.Second {
			t.Errorf("%s: a blocking read with a malformed filter: %d after %v", l.path, code, time.Since(start))
		}
	}
	code, body := get("/v1/catalog/nodes", `Meta == "x"`)
	if code != 400 || !strings.Contains(body, `Invalid match operator "Equal" for selector "Meta"`) {
		t.Errorf("equality on a map: %d %q", code, body)
	}
	code, body = get("/v1/health/service/consul", `Service.Port == eighty`)
	if code != 400 || !strings.Contains(body, `Failed to coerce value "eighty" for selector "Service.Port"`) {
		t.Errorf("a word for a port: %d %q", code, body)
	}
	code, body = get("/v1/catalog/nodes", `Node matches "("`)
	if code != 400 || !strings.Contains(body, "Failed to compile regular expression") {
		t.Errorf("a bad regular expression: %d %q", code, body)
	}
	for _, p := range []string{"/v1/health/service/consul", "/v1/agent/checks"} {
		code, body = get(p, "(((((A00")
		if code != 400 || !strings.Contains(body, "the expression is too complex to parse") {
			t.Errorf("%s: nesting that would hold a CPU for minutes: %d %q", p, code, body)
		}
	}
	// An empty expression filters nothing.
	if code, body = get("/v1/catalog/nodes", ""); code != 200 || !strings.Contains(body, node) {
		t.Errorf("empty filter: %d %q", code, body)
	}
	for _, p := range []string{"/v1/kv/x", "/v1/session/list", "/v1/acl/tokens"} {
		code, body := get(p, "Key == x")
		if code != 400 || !strings.Contains(body, "?filter parameter is not supported by this endpoint") {
			t.Errorf("%s with ?filter: %d %q", p, code, body)
		}
	}
}
