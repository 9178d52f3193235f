package http_test

import (
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
)

// wantErr fails unless err carries the status code and every word.
func wantErr(t *testing.T, what string, err error, code string, words ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %s", what, code)
	}
	msg := err.Error()
	if !strings.Contains(msg, "Unexpected response code: "+code) {
		t.Fatalf("%s: %v, want status %s", what, err, code)
	}
	for _, w := range words {
		if !strings.Contains(msg, w) {
			t.Fatalf("%s: %v, want it to say %q", what, err, w)
		}
	}
}

func TestACLRoleCRUD(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(aclDenyHCL))
	acl := tokenClient(t, a, "root").ACL()
	p1, _, err := acl.PolicyCreate(&api.ACLPolicy{Name: "p1", Rules: `key_prefix "app/" { policy = "write" }`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p2, _, err := acl.PolicyCreate(&api.ACLPolicy{Name: "p2", Rules: `key_prefix "other/" { policy = "read" }`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	role, wm, err := acl.RoleCreate(&api.ACLRole{Name: "web-role", Description: "the web tier",
		Policies:          []*api.ACLRolePolicyLink{{ID: p1.ID}, {Name: "p2"}, {Name: "p1"}},
		ServiceIdentities: []*api.ACLServiceIdentity{{ServiceName: "web"}, {ServiceName: "web"}},
		NodeIdentities:    []*api.ACLNodeIdentity{{NodeName: "node-1", Datacenter: "dc1"}},
		TemplatedPolicies: []*api.ACLTemplatedPolicy{{TemplateName: api.ACLTemplatedPolicyDNSName}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if role.ID == "" || wm.RequestTime == 0 || len(role.Hash) == 0 || role.CreateIndex == 0 || role.Description != "the web tier" {
		t.Fatalf("created: %+v", role)
	}
	// Policies linked by name or ID, once each, named as they are.
	if len(role.Policies) != 2 || role.Policies[0].ID != p1.ID || role.Policies[0].Name != "p1" || role.Policies[1].ID != p2.ID || role.Policies[1].Name != "p2" {
		t.Fatalf("policy links: %+v %+v", role.Policies[0], role.Policies)
	}
	if len(role.ServiceIdentities) != 1 || len(role.NodeIdentities) != 1 || len(role.TemplatedPolicies) != 1 {
		t.Fatalf("identities: %+v", role)
	}
	read, qm, err := acl.RoleRead(role.ID, nil)
	if err != nil || read.Name != "web-role" || qm.LastIndex == 0 || !qm.KnownLeader {
		t.Fatalf("read: %+v %+v %v", read, qm, err)
	}
	byName, _, err := acl.RoleReadByName("web-role", nil)
	if err != nil || byName.ID != role.ID {
		t.Fatalf("read by name: %+v %v", byName, err)
	}
	if r, _, err := acl.RoleRead("00000000-1111-2222-3333-444444444444", nil); err != nil || r != nil {
		t.Fatalf("read of no role: %+v %v", r, err)
	}
	if r, _, err := acl.RoleReadByName("nope", nil); err != nil || r != nil {
		t.Fatalf("read by name of no role: %+v %v", r, err)
	}
	other, _, err := acl.RoleCreate(&api.ACLRole{Name: "other", Policies: []*api.ACLRolePolicyLink{{ID: p2.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	list, _, err := acl.RoleList(nil)
	if err != nil || len(list) != 2 || list[0].Name != "other" || list[1].Name != "web-role" {
		t.Fatalf("list: %+v %v", list, err)
	}
	code, body := do(t, "GET", a.URL("/v1/acl/roles?policy="+p1.ID), "root", "")
	if code != 200 || !strings.Contains(body, "web-role") || strings.Contains(body, `"other"`) {
		t.Fatalf("list by policy: %d %s", code, body)
	}

	// A token links to the role by name; renaming the role renames the
	// link, deleting it drops the link.
	tok, _, err := acl.TokenCreate(&api.ACLToken{Description: "t", Roles: []*api.ACLTokenRoleLink{{Name: "web-role"}}}, nil)
	if err != nil || len(tok.Roles) != 1 || tok.Roles[0].ID != role.ID || tok.Roles[0].Name != "web-role" {
		t.Fatalf("token with a role: %+v %v", tok, err)
	}
	byRole, _, err := acl.TokenListFiltered(api.ACLTokenFilterOptions{Role: role.ID}, nil)
	if err != nil || len(byRole) != 1 || byRole[0].AccessorID != tok.AccessorID {
		t.Fatalf("tokens of the role: %+v %v", byRole, err)
	}
	read.Name = "web-tier"
	read.Policies = []*api.ACLRolePolicyLink{{ID: p2.ID}}
	up, _, err := acl.RoleUpdate(read, nil)
	if err != nil || up.Name != "web-tier" || up.CreateIndex != role.CreateIndex || up.ModifyIndex == role.ModifyIndex ||
		len(up.Policies) != 1 || up.Policies[0].ID != p2.ID || string(up.Hash) == string(role.Hash) {
		t.Fatalf("update: %+v %v", up, err)
	}
	if got, _, err := acl.TokenRead(tok.AccessorID, nil); err != nil || got.Roles[0].Name != "web-tier" {
		t.Fatalf("token after the rename: %+v %v", got, err)
	}
	if _, err := acl.RoleDelete(role.ID, nil); err != nil {
		t.Fatal(err)
	}
	if r, _, err := acl.RoleRead(role.ID, nil); err != nil || r != nil {
		t.Fatalf("read after delete: %+v %v", r, err)
	}
	if got, _, err := acl.TokenRead(tok.AccessorID, nil); err != nil || len(got.Roles) != 0 {
		t.Fatalf("token after the role's delete: %+v %v", got, err)
	}
	code, body = do(t, "DELETE", a.URL("/v1/acl/role/"+role.ID), "root", "")
	if code != 404 || body != "Cannot find role to delete" {
		t.Fatalf("delete of no role: %d %q", code, body)
	}
	// Deleting a policy drops the roles' links to it.
	if _, err := acl.PolicyDelete(p2.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got, _, err := acl.RoleRead(other.ID, nil); err != nil || len(got.Policies) != 0 {
		t.Fatalf("role after its policy's delete: %+v %v", got, err)
	}
}

func TestACLRoleBadInput(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(aclDenyHCL))
	acl := tokenClient(t, a, "root").ACL()
	if _, _, err := acl.RoleCreate(&api.ACLRole{Name: "taken"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what  string
		body  string
		words []string
	}{
		{"no name", `{"Description":"x"}`, []string{"Invalid Role: no Name is set"}},
		{"bad name", `{"Name":"a b"}`, []string{`invalid Name "a b"`}},
		{"taken name", `{"Name":"taken"}`, []string{`A Role with Name "taken" already exists`}},
		{"unknown field", `{"Name":"x","Polices":[]}`, []string{"Role decode failed", `unknown key "Polices"`}},
		{"malformed JSON", `{"Name":`, []string{"Role decode failed"}},
		{"unknown policy", `{"Name":"x","Policies":[{"Name":"nope"}]}`, []string{`No such ACL policy with name "nope"`}},
		{"empty policy link", `{"Name":"x","Policies":[{}]}`, []string{"a policy link needs an ID or a Name"}},
		{"bad service identity", `{"Name":"x","ServiceIdentities":[{"ServiceName":"Web!"}]}`, []string{`Service identity "Web!" has an invalid name`}},
		{"node identity without datacenter", `{"Name":"x","NodeIdentities":[{"NodeName":"n1"}]}`, []string{"Node identity is missing the datacenter field on this role"}},
		{"unknown template", `{"Name":"x","TemplatedPolicies":[{"TemplateName":"builtin/nope"}]}`, []string{`no such ACL templated policy with Name "builtin/nope"`}},
		{"template without its name", `{"Name":"x","TemplatedPolicies":[{"TemplateName":"builtin/service"}]}`, []string{`templated policy "builtin/service" needs the variable name`}},
		{"a namespace", `{"Name":"x","Namespace":"team-a"}`, []string{`Namespace "team-a"`, "Enterprise"}},
		{"an ID at create", `{"ID":"00000000-1111-2222-3333-444444444444","Name":"x"}`, []string{"Cannot specify an ID when creating a role"}},
	} {
		code, body := do(t, "PUT", a.URL("/v1/acl/role"), "root", c.body)
		if code != 400 {
			t.Errorf("%s: %d %q, want 400", c.what, code, body)
			continue
		}
		for _, w := range c.words {
			if !strings.Contains(body, w) {
				t.Errorf("%s: %q does not say %q", c.what, body, w)
			}
		}
	}
	code, body := do(t, "PUT", a.URL("/v1/acl/role/00000000-1111-2222-3333-444444444444"), "root", `{"Name":"x"}`)
	if code != 400 || !strings.Contains(body, "cannot find role 00000000-1111-2222-3333-444444444444") {
		t.Fatalf("update of no role: %d %q", code, body)
	}
	code, body = do(t, "PUT", a.URL("/v1/acl/token"), "root", `{"Roles":[{"Name":"nope"}]}`)
	if code != 400 || !strings.Contains(body, `No such ACL role with name "nope"`) {
		t.Fatalf("token linking no role: %d %q", code, body)
	}
}

// TestACLRoleRights: a token with only a role can do what the role's
// policies, identities and templated policies allow, and nothing else.
func TestACLRoleRights(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(`acl { enabled = true  default_policy = "deny"  tokens { initial_management = "root"  agent = "root" } }`))
	root := tokenClient(t, a, "root")
	p, _, err := root.ACL().PolicyCreate(&api.ACLPolicy{Name: "app-keys", Rules: `key_prefix "app/" { policy = "write" }`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	role, _, err := root.ACL().RoleCreate(&api.ACLRole{Name: "web",
		Policies:          []*api.ACLRolePolicyLink{{ID: p.ID}},
		ServiceIdentities: []*api.ACLServiceIdentity{{ServiceName: "web"}},
		NodeIdentities:    []*api.ACLNodeIdentity{{NodeName: "edge-1", Datacenter: "dc1"}},
		TemplatedPolicies: []*api.ACLTemplatedPolicy{{TemplateName: api.ACLTemplatedPolicyServiceName, TemplateVariables: &api.ACLTemplatedPolicyVariables{Name: "api"}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := root.ACL().TokenCreate(&api.ACLToken{Description: "web", Roles: []*api.ACLTokenRoleLink{{ID: role.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := tokenClient(t, a, tok.SecretID)
	if _, err := c.KV().Put(&api.KVPair{Key: "app/x", Value: []byte("1")}, nil); err != nil {
		t.Fatalf("key the role's policy grants: %v", err)
	}
	_, err = c.KV().Put(&api.KVPair{Key: "other/x", Value: []byte("1")}, nil)
	wantErr(t, "key outside the role", err, "403", `Permission denied: token with AccessorID '`+tok.AccessorID+`' lacks permission 'key:write' on "other/x"`)
	reg := func(node, svc string) error {
		_, err := c.Catalog().Register(&api.CatalogRegistration{Node: node, Address: "10.0.0.1",
			Service: &api.AgentService{ID: svc, Service: svc, Port: 80}}, nil)
		return err
	}
	// The node identity: node edge-1; the service identity and the
	// templated policy: services web and api.
	if err := reg("edge-1", "web"); err != nil {
		t.Fatalf("service identity: %v", err)
	}
	if err := reg("edge-1", "api"); err != nil {
		t.Fatalf("templated policy: %v", err)
	}
	wantErr(t, "service the role does not name", reg("edge-1", "db"), "403", "lacks permission 'service:write' on \"db\"")
	wantErr(t, "node the role does not name", reg("edge-2", "web"), "403", "lacks permission 'node:write' on \"edge-2\"")
	// Every identity grants reading services.
	if svcs, _, err := c.Catalog().Services(nil); err != nil || len(svcs) < 2 {
		t.Fatalf("services: %v %v", svcs, err)
	}
	// A node identity of another datacenter grants nothing here.
	role.NodeIdentities = []*api.ACLNodeIdentity{{NodeName: "edge-1", Datacenter: "dc2"}}
	if _, _, err := root.ACL().RoleUpdate(role, nil); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "node identity of another datacenter", reg("edge-1", "web"), "403", "lacks permission 'node:write' on \"edge-1\"")
}
