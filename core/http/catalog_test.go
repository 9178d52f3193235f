package http_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
)

// Seed 000: register an exporter through the agent, read it back from the
// catalog in Consul's shape.
func TestAgentRegistrationShowsInCatalog(t *testing.T) {
	a := testagent.Start(t)
	body := `{"ID":"node_exporter01","Name":"node_exporter","Address":"192.168.1.220","Port":9100,"Tags":["prod"],"EnableTagOverride":false}`
	resp, err := http.DefaultClient.Do(mustReq(t, "PUT", a.URL("/v1/agent/service/register"), body))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("register: %v %v", resp, err)
	}
	svcs, _, err := a.Client.Catalog().Service("node_exporter", "", nil)
	if err != nil || len(svcs) != 1 {
		t.Fatalf("catalog service: %v %v", svcs, err)
	}
	s := svcs[0]
	if s.ServiceID != "node_exporter01" || s.ServiceAddress != "192.168.1.220" || s.ServicePort != 9100 ||
		s.ServiceTags[0] != "prod" || s.Node != a.Agent.Node().Node || s.Datacenter != "dc1" ||
		s.ServiceWeights.Passing != 1 || s.NodeMeta["consul-network-segment"] != "" {
		t.Fatalf("catalog entry: %+v", s)
	}
	// Raw JSON carries the fields the seed's output shows.
	raw := getBody(t, a.URL("/v1/catalog/service/node_exporter"))
	for _, f := range []string{`"ServiceEnableTagOverride":false`, `"ServiceProxy":{`, `"ServiceConnect":{}`, `"TaggedAddresses":{`, `"ModifyIndex":`} {
		if !strings.Contains(raw, f) {
			t.Errorf("catalog JSON lacks %s: %s", f, raw)
		}
	}
	all, _, _ := a.Client.Catalog().Services(nil)
	if _, ok := all["consul"]; !ok {
		t.Errorf("the server's consul service is missing from %v", all)
	}
	if tags := all["node_exporter"]; len(tags) != 1 || tags[0] != "prod" {
		t.Errorf("services map: %v", all)
	}
	local, _ := a.Client.Agent().Services()
	if local["node_exporter01"] == nil || local["node_exporter01"].Datacenter != "dc1" {
		t.Errorf("agent services: %v", local)
	}
	if node, _, _ := a.Client.Catalog().Node(a.Agent.Node().Node, nil); node == nil || node.Services["node_exporter01"] == nil {
		t.Errorf("catalog node: %+v", node)
	}
	tagged, _, _ := a.Client.Catalog().Service("node_exporter", "nope", nil)
	if len(tagged) != 0 {
		t.Errorf("tag filter let through %d", len(tagged))
	}
}

// A deregistration through the agent is final: anti-entropy does not bring
// the service back, and a copy someone put in the catalog on the agent's
// node behind its back is removed.
func TestDeregistrationIsFinal(t *testing.T) {
	a := testagent.Start(t)
	ag := a.Client.Agent()
	if err := ag.ServiceRegister(&api.AgentServiceRegistration{ID: "svc-1", Name: "svc", Port: 1}); err != nil {
		t.Fatal(err)
	}
	if err := ag.ServiceDeregister("svc-1"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := a.Agent.SyncNow(); err != nil {
			t.Fatal(err)
		}
	}
	if svcs, _, _ := a.Client.Catalog().Service("svc", "", nil); len(svcs) != 0 {
		t.Fatalf("deregistered service came back: %+v", svcs)
	}
	if err := ag.ServiceDeregister("svc-1"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("second deregister: %v", err)
	}

	// A stray catalog registration on the agent's node is cleaned up.
	_, err := a.Client.Catalog().Register(&api.CatalogRegistration{
		Node: a.Agent.Node().Node, Address: a.Agent.Node().Address, SkipNodeUpdate: true,
		Service: &api.AgentService{ID: "stray", Service: "stray"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Agent.SyncNow()
	if svcs, _, _ := a.Client.Catalog().Service("stray", "", nil); len(svcs) != 0 {
		t.Fatal("anti-entropy kept a service the agent does not own")
	}

	// A service registered elsewhere is explained, not just "unknown".
	a.Client.Catalog().Register(&api.CatalogRegistration{Node: "other-node", Address: "10.0.0.9",
		Service: &api.AgentService{ID: "remote-1", Service: "remote"}}, nil)
	err = ag.ServiceDeregister("remote-1")
	if err == nil || !strings.Contains(err.Error(), "other-node") {
		t.Fatalf("deregistering another node's service: %v", err)
	}
}

func TestCatalogAndHealthEndpoints(t *testing.T) {
	a := testagent.Start(t)
	c := a.Client.Catalog()
	for i, st := range []string{"passing", "warning", "critical"} {
		_, err := c.Register(&api.CatalogRegistration{
			Node: "ext-" + st, Address: "10.0.0." + string(rune('1'+i)),
			NodeMeta: map[string]string{"rack": st},
			Service:  &api.AgentService{ID: "db-" + st, Service: "db", Tags: []string{st}, Port: 5432},
			Check:    &api.AgentCheck{CheckID: "db-" + st, Name: "db", Status: st, ServiceID: "db-" + st},
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	h := a.Client.Health()
	all, _, _ := h.Service("db", "", false, nil)
	passing, _, _ := h.Service("db", "", true, nil)
	if len(all) != 3 || len(passing) != 1 || passing[0].Service.ID != "db-passing" {
		t.Fatalf("health service: all=%d passing=%d", len(all), len(passing))
	}
	crit, _, _ := h.State("critical", nil)
	found := false
	for _, ch := range crit {
		found = found || ch.CheckID == "db-critical"
	}
	if !found {
		t.Fatalf("state critical: %+v", crit)
	}
	checks, _, _ := h.Checks("db", nil)
	if len(checks) != 3 {
		t.Fatalf("health checks: %d", len(checks))
	}
	nodeChecks, _, _ := h.Node("ext-warning", nil)
	if len(nodeChecks) != 1 || nodeChecks[0].Status != "warning" {
		t.Fatalf("health node: %+v", nodeChecks)
	}
	nodes, _, _ := c.Nodes(&api.QueryOptions{NodeMeta: map[string]string{"rack": "warning"}})
	if len(nodes) != 1 || nodes[0].Node != "ext-warning" {
		t.Fatalf("nodes by meta: %+v", nodes)
	}
	dcs, _ := c.Datacenters()
	if len(dcs) != 1 || dcs[0] != "dc1" {
		t.Fatalf("datacenters: %v", dcs)
	}
	if _, err := c.Deregister(&api.CatalogDeregistration{Node: "ext-critical"}, nil); err != nil {
		t.Fatal(err)
	}
	if all, _, _ = h.Service("db", "", false, nil); len(all) != 2 {
		t.Fatalf("after node deregister: %d", len(all))
	}
	leader, _ := a.Client.Status().Leader()
	peers, _ := a.Client.Status().Peers()
	if leader == "" || len(peers) != 1 || peers[0] != leader {
		t.Fatalf("status: leader %q peers %v", leader, peers)
	}
	if body := getBody(t, a.URL("/v1/status/leader")); !strings.HasPrefix(body, `"`) {
		t.Fatalf("leader must be a quoted address (seed 001 readiness probe): %s", body)
	}
}

func TestTTLChecksAndMaintenance(t *testing.T) {
	a := testagent.Start(t)
	ag := a.Client.Agent()
	err := ag.ServiceRegister(&api.AgentServiceRegistration{ID: "web-1", Name: "web", Port: 80,
		Check: &api.AgentServiceCheck{TTL: "30s"}})
	if err != nil {
		t.Fatal(err)
	}
	checks, _ := ag.Checks()
	chk := checks["service:web-1"]
	if chk == nil || chk.Status != "critical" || chk.ServiceName != "web" {
		t.Fatalf("initial check: %+v", chk)
	}
	if err := ag.UpdateTTL("service:web-1", "all good", "pass"); err != nil {
		t.Fatal(err)
	}
	a.Agent.SyncNow()
	entries, _, _ := a.Client.Health().Service("web", "", true, nil)
	if len(entries) != 1 || entries[0].Checks[len(entries[0].Checks)-1].Output == "" {
		t.Fatalf("after pass: %+v", entries)
	}
	if err := ag.UpdateTTL("nope", "", "pass"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("update of a missing check: %v", err)
	}
	if err := ag.EnableNodeMaintenance("deploy"); err != nil {
		t.Fatal(err)
	}
	a.Agent.SyncNow()
	if entries, _, _ := a.Client.Health().Service("web", "", true, nil); len(entries) != 0 {
		t.Fatal("node in maintenance still listed as passing")
	}
	ag.DisableNodeMaintenance()
	if err := ag.EnableServiceMaintenance("web-1", ""); err != nil {
		t.Fatal(err)
	}
	a.Agent.SyncNow()
	if entries, _, _ := a.Client.Health().Service("web", "", true, nil); len(entries) != 0 {
		t.Fatal("service in maintenance still listed as passing")
	}
	ag.DisableServiceMaintenance("web-1")
	a.Agent.SyncNow()
	if entries, _, _ := a.Client.Health().Service("web", "", true, nil); len(entries) != 1 {
		t.Fatal("service not back after maintenance")
	}
	// A TTL that is not renewed turns critical by itself.
	ag.CheckRegister(&api.AgentCheckRegistration{ID: "short", Name: "short", AgentServiceCheck: api.AgentServiceCheck{TTL: "200ms", Status: "passing"}})
	deadline := time.Now().Add(5 * time.Second)
	for {
		checks, _ := ag.Checks()
		if c := checks["short"]; c != nil && c.Status == "critical" && strings.Contains(c.Output, "TTL expired") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("TTL check did not expire: %+v", checks["short"])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBadRequestBodies(t *testing.T) {
	a := testagent.Start(t)
	cases := []struct {
		path, body string
		code       int
		want       string
	}{
		{"/v1/agent/service/register", `{"Name":`, 400, "decode"},
		{"/v1/agent/service/register", `{"Name":"x","Port":"eighty"}`, 400, "Port"},
		{"/v1/agent/service/register", `{"Port":80}`, 400, "name"},
		{"/v1/agent/service/register", `{"Name":"x","Check":{"Args":["true"],"Interval":"10s"}}`, 400, "enable_script_checks"},
		{"/v1/agent/check/register", `{"Name":"c"}`, 400, "ttl"},
		{"/v1/catalog/register", `{"Node":"n"}`, 400, "address"},
		{"/v1/catalog/register", `{"Node":"n","Address":"1.2.3.4","Check":{"ServiceID":"ghost","CheckID":"c"}}`, 400, "service"},
		{"/v1/session/create", `{"Node":"no-such-node"}`, 400, "node"},
		{"/v1/session/create", `{"TTL":"1s"}`, 400, "TTL"},
		{"/v1/agent/check/update/x", `{"Status":"weird"}`, 400, "status"},
	}
	for _, c := range cases {
		resp, err := http.DefaultClient.Do(mustReq(t, "PUT", a.URL(c.path), c.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code || !strings.Contains(strings.ToLower(string(b)), strings.ToLower(c.want)) {
			t.Errorf("PUT %s %s: %d %q, want %d mentioning %q", c.path, c.body, resp.StatusCode, b, c.code, c.want)
		}
	}
	// Still serving after all that.
	if _, err := a.Client.Status().Leader(); err != nil {
		t.Fatal(err)
	}
}

func TestMetrics(t *testing.T) {
	a := testagent.Start(t)
	a.Client.KV().Put(&api.KVPair{Key: "m", Value: []byte("1")}, nil)
	m, err := a.Client.Agent().Metrics()
	if err != nil || m.Timestamp == "" || len(m.Gauges) == 0 {
		t.Fatalf("JSON metrics: %+v %v", m, err)
	}
	// Invented methods must not add metric series.
	for i := 0; i < 3; i++ {
		req, _ := http.NewRequest(fmt.Sprintf("XM%d", i), a.URL("/v1/kv/m"), nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	prom := getBody(t, a.URL("/v1/agent/metrics?format=prometheus"))
	if strings.Contains(prom, `method="XM`) {
		t.Fatal("a client-invented method became a metric label")
	}
	if !strings.Contains(prom, "beacon_kvs_apply_total 1") || !strings.Contains(prom, "go_goroutines") {
		t.Fatalf("prometheus metrics:\n%.500s", prom)
	}
	self, err := a.Client.Agent().Self()
	if err != nil || self["Config"]["NodeName"] != a.Agent.Node().Node {
		t.Fatalf("self: %v %v", self, err)
	}
	members, err := a.Client.Agent().Members(false)
	if err != nil || len(members) != 1 || members[0].Tags["role"] != "consul" {
		t.Fatalf("members: %+v %v", members, err)
	}
}

func mustReq(t *testing.T, method, url, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// Service mesh parts of a registration (a proxy or gateway kind, proxy or
// connect settings) are refused naming what was asked, through the agent
// and the catalog alike; a plain service registered by the same client,
// which always sends those fields empty, is accepted.
func TestMeshRegistrationsRefused(t *testing.T) {
	a := testagent.Start(t)
	proxy := &api.AgentServiceConnectProxyConfig{DestinationServiceName: "web", LocalServicePort: 8080}
	agentCases := []struct {
		name string
		reg  *api.AgentServiceRegistration
		want string
	}{
		{"proxy kind", &api.AgentServiceRegistration{Name: "web-proxy", Kind: api.ServiceKindConnectProxy, Port: 9000, Proxy: proxy}, `kind "connect-proxy" is service mesh`},
		{"sidecar", &api.AgentServiceRegistration{Name: "web", Port: 80, Connect: &api.AgentServiceConnect{SidecarService: &api.AgentServiceRegistration{}}}, "Connect settings are service mesh"},
		{"native", &api.AgentServiceRegistration{Name: "web", Port: 80, Connect: &api.AgentServiceConnect{Native: true}}, "Connect settings are service mesh"},
		{"gateway", &api.AgentServiceRegistration{Name: "gw", Kind: api.ServiceKindMeshGateway, Port: 443}, `kind "mesh-gateway" is service mesh`},
	}
	for _, c := range agentCases {
		err := a.Client.Agent().ServiceRegister(c.reg)
		if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("agent, %s: error %v, want a 400 saying %q", c.name, err, c.want)
		}
	}
	node := a.Agent.Node().Node
	_, err := a.Client.Catalog().Register(&api.CatalogRegistration{Node: node, Address: "127.0.0.1", SkipNodeUpdate: true,
		Service: &api.AgentService{Kind: api.ServiceKindConnectProxy, ID: "web-proxy1", Service: "web-proxy", Port: 9000, Proxy: proxy}}, nil)
	if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "service mesh") {
		t.Errorf("catalog proxy registration: %v", err)
	}
	_, err = a.Client.Catalog().Register(&api.CatalogRegistration{Node: node, Address: "127.0.0.1", SkipNodeUpdate: true,
		Service: &api.AgentService{ID: "web1", Service: "web", Port: 80, Proxy: &api.AgentServiceConnectProxyConfig{}, Connect: &api.AgentServiceConnect{}}}, nil)
	if err != nil {
		t.Errorf("a plain service with empty proxy and connect settings: %v", err)
	}
	if err := a.Client.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "plain", Port: 80}); err != nil {
		t.Errorf("a plain agent service: %v", err)
	}
	if svcs, _, _ := a.Client.Catalog().Service("web-proxy", "", nil); len(svcs) != 0 {
		t.Errorf("a refused proxy is in the catalog: %+v", svcs)
	}
}

// A check registered in the catalog keeps the Name it was sent (none if
// none) and, without a Type, takes the one its definition says, as the
// official client's tests expect; UDP, TCP-over-TLS and OS service
// definitions are kept.
func TestCatalogCheckTypeFromDefinition(t *testing.T) {
	a := testagent.Start(t)
	_, err := a.Client.Catalog().Register(&api.CatalogRegistration{Node: "foo", Address: "2.2.2.2", Checks: api.HealthChecks{
		{CheckID: "tcp", Status: "passing", Definition: api.HealthCheckDefinition{TCP: "1.1.1.1:80", TCPUseTLS: true, Interval: api.ReadableDuration(time.Second)}},
		{CheckID: "udp", Status: "passing", Definition: api.HealthCheckDefinition{UDP: "1.1.1.1:53"}},
		{CheckID: "os", Name: "Windows service", Status: "passing", Definition: api.HealthCheckDefinition{OSService: "w3svc"}},
		{CheckID: "typed", Status: "passing", Type: "script", Definition: api.HealthCheckDefinition{TCP: "1.1.1.1:81"}},
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	checks, _, err := a.Client.Health().Node("foo", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*api.HealthCheck{}
	for _, c := range checks {
		got[c.CheckID] = c
	}
	for id, want := range map[string]string{"tcp": "tcp", "udp": "udp", "os": "os_service", "typed": "script"} {
		if c := got[id]; c == nil || c.Type != want {
			t.Errorf("check %s: %+v, want type %s", id, c, want)
		}
	}
	if c := got["tcp"]; c.Name != "" || !c.Definition.TCPUseTLS {
		t.Errorf("tcp check: name %q, definition %+v", c.Name, c.Definition)
	}
	if got["udp"].Definition.UDP != "1.1.1.1:53" || got["os"].Definition.OSService != "w3svc" || got["os"].Name != "Windows service" {
		t.Errorf("definitions lost: %+v %+v", got["udp"], got["os"])
	}
}
