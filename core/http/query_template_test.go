package http_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
)

// registerInstance registers one instance of svc on its own node.
func registerInstance(t *testing.T, c *api.Client, node, addr, svc string, tags ...string) {
	t.Helper()
	reg := &api.CatalogRegistration{Node: node, Address: addr,
		Service: &api.AgentService{ID: svc, Service: svc, Tags: tags, Port: 80}}
	if _, err := c.Catalog().Register(reg, nil); err != nil {
		t.Fatalf("register %s on %s: %v", svc, node, err)
	}
}

func explain(t *testing.T, a *testagent.Agent, name string) api.ServiceQuery {
	t.Helper()
	code, body := do(t, "GET", a.URL("/v1/query/"+name+"/explain"), "", "")
	if code != 200 {
		t.Fatalf("explain %s: %d %s", name, code, body)
	}
	var out struct{ Query api.PreparedQueryDefinition }
	mustJSON(t, body, &out)
	return out.Query.Service
}

// TestPreparedQueryTemplates resolves names through templates: the longest
// name prefix wins, a static query beats any template, every string of the
// Service is interpolated (${name.*}, ${match(N)}, ${agent.segment}), and
// RemoveEmptyTags drops tags that came out empty.
func TestPreparedQueryTemplates(t *testing.T) {
	a := testagent.Start(t)
	c := a.Client
	registerInstance(t, c, "db-1", "10.0.1.1", "mysql-customer", "primary")
	registerInstance(t, c, "db-2", "10.0.1.2", "mysql-customer", "replica")
	registerInstance(t, c, "web-1", "10.0.2.1", "web")
	registerInstance(t, c, "static-1", "10.0.3.1", "static-svc")
	pq := c.PreparedQuery()
	mk := func(def *api.PreparedQueryDefinition) string {
		t.Helper()
		id, _, err := pq.Create(def, nil)
		if err != nil {
			t.Fatalf("create %q: %v", def.Name, err)
		}
		return id
	}
	geo := mk(&api.PreparedQueryDefinition{
		Name:     "geo-db",
		Template: api.QueryTemplate{Type: "name_prefix_match", Regexp: `^geo-db-(.*?)-([^\-]+?)$`},
		Service: api.ServiceQuery{Service: "mysql-${match(1)}", Tags: []string{"${match(2)}"},
			NodeMeta: map[string]string{"segment": "${agent.segment}"}},
	})
	mk(&api.PreparedQueryDefinition{Name: "", Template: api.QueryTemplate{Type: "name_prefix_match"},
		Service: api.ServiceQuery{Service: "${name.full}", Tags: []string{"${name.prefix}", "${name.suffix}"}},
	})
	mk(&api.PreparedQueryDefinition{Name: "geo-db-static", Service: api.ServiceQuery{Service: "static-svc"}})
	mk(&api.PreparedQueryDefinition{Name: "opt-",
		Template: api.QueryTemplate{Type: "name_prefix_match", Regexp: `^opt-([a-z]+)(?:-([a-z]+))?$`, RemoveEmptyTags: true},
		Service:  api.ServiceQuery{Service: "mysql-${match(1)}", Tags: []string{"${match(2)}"}},
	})

	got := explain(t, a, "geo-db-customer-primary")
	want := api.ServiceQuery{Service: "mysql-customer", Tags: []string{"primary"}, NodeMeta: map[string]string{"segment": ""}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rendered geo-db template:\n got %+v\nwant %+v", got, want)
	}
	// NodeMeta segment="" is asked for and no node has it: nothing.
	if res, _, err := pq.Execute("geo-db-customer-primary", nil); err != nil || len(res.Nodes) != 0 || res.Service != "mysql-customer" {
		t.Fatalf("execute geo-db-customer-primary: %+v %v", res, err)
	}
	// The prefix matches without regard to case; the Regexp, as
	// written, does not match upper case.
	if got := explain(t, a, "GEO-DB-customer-replica"); got.Service != "mysql-" || !reflect.DeepEqual(got.Tags, []string{""}) {
		t.Fatalf("GEO-DB-customer-replica: %+v", got)
	}
	if got := explain(t, a, "geo-db-static"); got.Service != "static-svc" {
		t.Fatalf("a static query loses to a template: %+v", got)
	}
	if got := explain(t, a, "web"); got.Service != "web" || !reflect.DeepEqual(got.Tags, []string{"", "web"}) {
		t.Fatalf("catch-all template for web: %+v", got)
	}
	res, _, err := pq.Execute("opt-customer-primary", nil)
	if err != nil || len(res.Nodes) != 1 || res.Nodes[0].Node.Node != "db-1" {
		t.Fatalf("execute opt-customer-primary: %+v %v", res, err)
	}
	// No second group: the empty tag is removed, and every instance is
	// an answer.
	if got := explain(t, a, "opt-customer"); !reflect.DeepEqual(got.Tags, []string{}) {
		t.Fatalf("RemoveEmptyTags kept %q", got.Tags)
	}
	if res, _, err := pq.Execute("opt-customer", nil); err != nil || len(res.Nodes) != 2 {
		t.Fatalf("execute opt-customer: %+v %v", res, err)
	}

	// A template is read by its ID, but executed by name only.
	if defs, _, err := pq.Get(geo, nil); err != nil || len(defs) != 1 || defs[0].Service.Service != "mysql-${match(1)}" {
		t.Fatalf("get template: %+v %v", defs, err)
	}
	code, body := do(t, "GET", a.URL("/v1/query/"+geo+"/execute"), "", "")
	if code != 400 || !strings.Contains(body, "template") {
		t.Fatalf("execute a template by ID: %d %s", code, body)
	}
	// One catch-all template at most.
	code, body = do(t, "POST", a.URL("/v1/query"), "", `{"Template":{"Type":"name_prefix_match"},"Service":{"Service":"${name.full}"}}`)
	if code != 400 || !strings.Contains(body, "empty name already exists") {
		t.Fatalf("second catch-all: %d %s", code, body)
	}
}
