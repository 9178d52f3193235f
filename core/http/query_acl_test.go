package http_test

import (
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
)

// TestPreparedQueryACL: writes need query:write on the query's name, as
// it is and as it was; reads need query:read on it (a query without a name
// is read by whoever has its ID, listed only for ACL managers); a query's
// token is shown only to ACL managers; execute runs with the query's token
// when it has one, else the caller's.
func TestPreparedQueryACL(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(`acl {
  enabled = true
  default_policy = "deny"
  tokens { initial_management = "root"  agent = "root" }
}`))
	mc := tokenClient(t, a, "root")
	pol, _, err := mc.ACL().PolicyCreate(&api.ACLPolicy{Name: "team", Rules: `
query_prefix "team-" { policy = "write" }
service_prefix "" { policy = "read" }
node_prefix "" { policy = "read" }`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := mc.ACL().TokenCreate(&api.ACLToken{Policies: []*api.ACLTokenPolicyLink{{ID: pol.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	team := tokenClient(t, a, tok.SecretID)
	registerInstance(t, mc, "web-1", "10.0.0.1", "web")

	create := func(c *api.Client, def *api.PreparedQueryDefinition) (string, error) {
		id, _, err := c.PreparedQuery().Create(def, nil)
		return id, err
	}
	denied := func(what string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "Permission denied") {
			t.Fatalf("%s: %v, want 403 Permission denied", what, err)
		}
	}
	teamA, err := create(team, &api.PreparedQueryDefinition{Name: "team-a", Service: api.ServiceQuery{Service: "web"}})
	if err != nil {
		t.Fatalf("create team-a: %v", err)
	}
	_, err = create(team, &api.PreparedQueryDefinition{Name: "other", Service: api.ServiceQuery{Service: "web"}})
	denied("create other", err)
	_, err = create(team, &api.PreparedQueryDefinition{Template: api.QueryTemplate{Type: "name_prefix_match"}, Service: api.ServiceQuery{Service: "${name.full}"}})
	denied("create a catch-all template", err)
	_, err = team.PreparedQuery().Update(&api.PreparedQueryDefinition{ID: teamA, Name: "other", Service: api.ServiceQuery{Service: "web"}}, nil)
	denied("rename team-a to other", err)
	other, err := create(mc, &api.PreparedQueryDefinition{Name: "other", Service: api.ServiceQuery{Service: "web"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = team.PreparedQuery().Update(&api.PreparedQueryDefinition{ID: other, Name: "team-b", Service: api.ServiceQuery{Service: "web"}}, nil)
	denied("rename other to team-b", err)
	_, err = team.PreparedQuery().Delete(other, nil)
	denied("delete other", err)
	_, _, err = team.PreparedQuery().Get(other, nil)
	denied("get other", err)

	// The token a query runs with: shown to managers only.
	withTok, err := create(mc, &api.PreparedQueryDefinition{Name: "team-tok", Token: tok.SecretID, Service: api.ServiceQuery{Service: "web"}})
	if err != nil {
		t.Fatal(err)
	}
	if defs, _, err := mc.PreparedQuery().Get(withTok, nil); err != nil || defs[0].Token != tok.SecretID {
		t.Fatalf("management reads the token: %+v %v", defs, err)
	}
	if defs, _, err := team.PreparedQuery().Get(withTok, nil); err != nil || defs[0].Token != "<hidden>" {
		t.Fatalf("team reads the token: %+v %v", defs, err)
	}
	code, body := do(t, "GET", a.URL("/v1/query/team-tok/explain"), tok.SecretID, "")
	if code != 200 || !strings.Contains(body, `"Token":"\u003chidden\u003e"`) || strings.Contains(body, tok.SecretID) {
		t.Fatalf("explain as team: %d %s", code, body)
	}

	// Execute: the query's token, else the caller's.
	anon := tokenClient(t, a, "")
	if res, _, err := anon.PreparedQuery().Execute("team-tok", nil); err != nil || len(res.Nodes) != 1 {
		t.Fatalf("anonymous execute of a query with a token: %+v %v", res, err)
	}
	res, meta, err := anon.PreparedQuery().Execute("team-a", nil)
	if err != nil || len(res.Nodes) != 0 || !meta.ResultsFilteredByACLs {
		t.Fatalf("anonymous execute of a query without a token: %+v %+v %v", res, meta, err)
	}
	if res, _, err := team.PreparedQuery().Execute("team-a", nil); err != nil || len(res.Nodes) != 1 {
		t.Fatalf("team execute: %+v %v", res, err)
	}

	// A query without a name: read by its ID, listed for managers only.
	sess, _, err := mc.Session().Create(&api.SessionEntry{Name: "s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	nameless, err := create(mc, &api.PreparedQueryDefinition{Session: sess, Service: api.ServiceQuery{Service: "web"}})
	if err != nil {
		t.Fatal(err)
	}
	if defs, _, err := team.PreparedQuery().Get(nameless, nil); err != nil || len(defs) != 1 {
		t.Fatalf("team gets the nameless query by ID: %+v %v", defs, err)
	}
	ids := func(c *api.Client) map[string]bool {
		defs, _, err := c.PreparedQuery().List(nil)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, d := range defs {
			out[d.ID] = true
		}
		return out
	}
	if got := ids(team); len(got) != 2 || !got[teamA] || !got[withTok] {
		t.Fatalf("team lists %v", got)
	}
	if got := ids(mc); len(got) != 4 || !got[nameless] || !got[other] {
		t.Fatalf("management lists %v", got)
	}
}
