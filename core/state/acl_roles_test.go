package state

import (
	"bytes"
	"testing"

	"github.com/beacon-sd/beacon/core/structs"
)

// TestACLRolesMethodsRulesSnapshot: roles, auth methods and binding rules
// survive a snapshot and its restore, with the identity of a token that
// links to a role.
func TestACLRolesMethodsRulesSnapshot(t *testing.T) {
	s := newTestStore(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.acl(&structs.ACLRequest{Op: structs.ACLPolicySet, ACLPolicy: &structs.ACLPolicy{ID: "p1", Name: "kv"}}))
	must(s.acl(&structs.ACLRequest{Op: structs.ACLRoleSet, ACLRole: &structs.ACLRole{ID: "r1", Name: "web",
		Policies: []structs.ACLLink{{ID: "p1"}}, ServiceIdentities: []*structs.ACLServiceIdentity{{ServiceName: "web"}}}}))
	must(s.acl(&structs.ACLRequest{Op: structs.ACLTokenSet, ACLToken: &structs.ACLToken{AccessorID: "a1", SecretID: "s1",
		Roles: []structs.ACLLink{{ID: "r1"}}, AuthMethod: "m1"}}))
	must(s.acl(&structs.ACLRequest{Op: structs.ACLMethodSet, ACLAuthMethod: &structs.ACLAuthMethod{Name: "m1", Type: "jwt",
		MaxTokenTTL: structs.Duration(60e9), Config: map[string]interface{}{"BoundIssuer": "x"}}}))
	must(s.acl(&structs.ACLRequest{Op: structs.ACLRuleSet, ACLBindingRule: &structs.ACLBindingRule{ID: "b1", AuthMethod: "m1",
		BindType: "service", BindName: "${value.name}", BindVars: nil}}))
	if err := s.acl(&structs.ACLRequest{Op: structs.ACLRuleSet, ACLBindingRule: &structs.ACLBindingRule{ID: "b2", AuthMethod: "nope"}}); err == nil {
		t.Fatal("a binding rule of no auth method was stored")
	}
	var buf bytes.Buffer
	must(s.Snapshot(&buf))
	r, err := Restore(&buf)
	must(err)
	if _, role, _ := r.ACLRoleGet(nil, "", "web"); role == nil || role.ID != "r1" || role.Policies[0].Name != "kv" || role.ServiceIdentities[0].ServiceName != "web" {
		t.Fatalf("role: %+v", role)
	}
	if _, m, _ := r.ACLAuthMethodGet(nil, "m1"); m == nil || m.Type != "jwt" || m.MaxTokenTTL != structs.Duration(60e9) || m.Config["BoundIssuer"] != "x" {
		t.Fatalf("auth method: %+v", m)
	}
	if _, rules, _ := r.ACLBindingRuleList(nil, "m1"); len(rules) != 1 || rules[0].BindName != "${value.name}" {
		t.Fatalf("binding rules: %+v", rules)
	}
	id, err := r.ACLIdentity("s1")
	if err != nil || id == nil || len(id.Roles) != 1 || len(id.Policies) != 1 || id.Policies[0].ID != "p1" {
		t.Fatalf("identity: %+v %v", id, err)
	}
	// Deleting the method deletes its rules and its tokens.
	s.Store = r
	must(s.acl(&structs.ACLRequest{Op: structs.ACLMethodDelete, ID: "m1"}))
	if _, rules, _ := r.ACLBindingRuleList(nil, ""); len(rules) != 0 {
		t.Fatalf("rules left: %+v", rules)
	}
	if _, tok, _ := r.ACLTokenByAccessor(nil, "a1"); tok != nil {
		t.Fatalf("token left: %+v", tok)
	}
}
