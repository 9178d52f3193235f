package http_test

import (
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
)

// TestPreparedQueryBadInput: every malformed definition or parameter is
// answered with a 400 (404 for what does not exist, 405 for a method a
// route does not take) that names what was wrong, and nothing is stored.
func TestPreparedQueryBadInput(t *testing.T) {
	a := testagent.Start(t)
	id, _, err := a.Client.PreparedQuery().Create(&api.PreparedQueryDefinition{Name: "dup", Service: api.ServiceQuery{Service: "web"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	const unknown = "6f1c1c8e-3b8e-4c0e-9a2f-2b1f7e0c9d11"
	tmpl := func(svc string) string {
		return `{"Name":"t-","Template":{"Type":"name_prefix_match"},"Service":{"Service":"` + svc + `"}}`
	}
	for _, c := range []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"POST", "/v1/query", `{"Name":`, 400, "decode"},
		{"POST", "/v1/query", `{"Name":"x","Service":{"Servce":"web"}}`, 400, `"Service.Servce"`},
		{"POST", "/v1/query", `{"Name":"x","Service":{"Service":7}}`, 400, "Service"},
		{"POST", "/v1/query", `{"Name":"x"}`, 400, "Must provide a Service name"},
		{"POST", "/v1/query", `{"Service":{"Service":"web"}}`, 400, "Session"},
		{"POST", "/v1/query", `{"ID":"` + unknown + `","Name":"x","Service":{"Service":"web"}}`, 400, "ID must be empty"},
		{"POST", "/v1/query", `{"Name":"DUP","Service":{"Service":"web"}}`, 400, "aliases an existing query name"},
		{"POST", "/v1/query", `{"Name":"` + id + `","Service":{"Service":"web"}}`, 400, "aliases an existing query ID"},
		{"POST", "/v1/query", `{"Name":"x","Session":"` + unknown + `","Service":{"Service":"web"}}`, 400, "invalid session"},
		{"POST", "/v1/query", `{"Name":"x","Token":"<hidden>","Service":{"Service":"web"}}`, 400, "<hidden>"},
		{"POST", "/v1/query", `{"Name":"x","Service":{"Service":"web","Connect":true}}`, 400, "Service.Connect"},
		{"POST", "/v1/query", `{"Name":"x","Service":{"Service":"web","SamenessGroup":"g"}}`, 400, "SamenessGroup"},
		{"POST", "/v1/query", `{"Name":"x","Service":{"Service":"web","Namespace":"team"}}`, 400, "namespaces"},
		{"POST", "/v1/query", `{"Name":"x","Service":{"Service":"web","Failover":{"NearestN":-1}}}`, 400, "NearestN"},
		{"POST", "/v1/query", `{"Name":"x","Service":{"Service":"web","Failover":{"NearestN":1,"Targets":[{"Datacenter":"dc2"}]}}}`, 400, "Targets"},
		{"POST", "/v1/query", `{"Name":"x","Service":{"Service":"web","Failover":{"Targets":[{"Peer":"p"}]}}}`, 400, "Peer"},
		{"POST", "/v1/query", `{"Name":"x","Service":{"Service":"web","NodeMeta":{"bad key":"v"}}}`, 400, "NodeMeta"},
		{"POST", "/v1/query", `{"Name":"x","Service":{"Service":"web"},"DNS":{"TTL":"soon"}}`, 400, "DNS.TTL"},
		{"POST", "/v1/query", `{"Name":"x","Service":{"Service":"web"},"DNS":{"TTL":"-5s"}}`, 400, "DNS.TTL"},
		{"POST", "/v1/query", `{"Name":"x","Template":{"Type":"regex"},"Service":{"Service":"web"}}`, 400, "Template.Type"},
		{"POST", "/v1/query", `{"Name":"x","Template":{"Type":"name_prefix_match","Regexp":"("},"Service":{"Service":"web"}}`, 400, "Template.Regexp"},
		{"POST", "/v1/query", tmpl("${nope}"), 400, "${nope}"},
		{"POST", "/v1/query", tmpl("${name.full"), 400, "not closed"},
		{"POST", "/v1/query", tmpl("${match(x)}"), 400, "match"},
		{"GET", "/v1/query/" + unknown, "", 404, "Query not found"},
		{"PUT", "/v1/query/" + unknown, `{"Name":"x","Service":{"Service":"web"}}`, 404, "Query not found"},
		{"DELETE", "/v1/query/" + unknown, "", 404, "Query not found"},
		{"PUT", "/v1/query/" + id, `{"ID":"` + unknown + `","Name":"dup","Service":{"Service":"web"}}`, 400, "URL"},
		{"PUT", "/v1/query/" + id, `{"Name":"dup"}`, 400, "Service name"},
		{"GET", "/v1/query/", "", 400, "Missing prepared query ID"},
		{"GET", "/v1/query/nosuch/execute", "", 404, "Query not found"},
		{"GET", "/v1/query/nosuch/explain", "", 404, "Query not found"},
		{"GET", "/v1/query/dup/execute?limit=-1", "", 400, "limit"},
		{"GET", "/v1/query/dup/execute?limit=two", "", 400, "limit"},
		{"GET", "/v1/query/dup/execute?connect", "", 400, "connect"},
		{"GET", "/v1/query/dup/execute?filter=x", "", 400, "filter"},
		{"GET", "/v1/query/dup/execute?dc=dc9", "", 500, "No path to datacenter"},
		{"PUT", "/v1/query/dup/execute", "", 405, "not allowed"},
		{"DELETE", "/v1/query/" + id + "/explain", "", 405, "not allowed"},
		{"PUT", "/v1/query", `{"Name":"x","Service":{"Service":"web"}}`, 405, "not allowed"},
	} {
		code, body := do(t, c.method, a.URL(c.path), "", c.body)
		if code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%s %s %s: %d %q, want %d mentioning %q", c.method, c.path, c.body, code, body, c.code, c.want)
		}
	}
	defs, _, err := a.Client.PreparedQuery().List(nil)
	if err != nil || len(defs) != 1 || defs[0].Name != "dup" || defs[0].Service.Service != "web" {
		t.Fatalf("after the bad requests: %+v %v", defs, err)
	}
}

// TestPreparedQuerySessionInvalidation: a query bound to a session goes
// with the session, destroyed or invalidated by its check.
func TestPreparedQuerySessionInvalidation(t *testing.T) {
	a := testagent.Start(t)
	c := a.Client
	pq := c.PreparedQuery()
	sess, _, err := c.Session().Create(&api.SessionEntry{Name: "owner"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A query without a name is allowed when bound to a session.
	anon, _, err := pq.Create(&api.PreparedQueryDefinition{Session: sess, Service: api.ServiceQuery{Service: "web"}}, nil)
	if err != nil {
		t.Fatalf("create bound query: %v", err)
	}
	other, _, err := pq.Create(&api.PreparedQueryDefinition{Name: "stays", Service: api.ServiceQuery{Service: "web"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if defs, _, err := pq.Get(anon, nil); err != nil || len(defs) != 1 || defs[0].Session != sess {
		t.Fatalf("get: %+v %v", defs, err)
	}
	if _, err := c.Session().Destroy(sess, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := pq.Get(anon, nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("the query outlived its destroyed session: %v", err)
	}

	// A session invalidated by its check going critical takes its query.
	reg := &api.CatalogRegistration{Node: "n2", Address: "10.0.0.2",
		Check: &api.AgentCheck{Node: "n2", CheckID: "alive", Name: "alive", Status: api.HealthPassing}}
	if _, err := c.Catalog().Register(reg, nil); err != nil {
		t.Fatal(err)
	}
	sess2, _, err := c.Session().Create(&api.SessionEntry{Node: "n2", Checks: []string{"alive"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	bound, _, err := pq.Create(&api.PreparedQueryDefinition{Name: "bound", Session: sess2, Service: api.ServiceQuery{Service: "web"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg.Check.Status = api.HealthCritical
	if _, err := c.Catalog().Register(reg, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := pq.Get(bound, nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("the query outlived its invalidated session: %v", err)
	}
	if defs, _, err := pq.List(nil); err != nil || len(defs) != 1 || defs[0].ID != other {
		t.Fatalf("left: %+v %v", defs, err)
	}
}
