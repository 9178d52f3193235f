package http_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
)

// TestBuiltinPolicies: both builtin policies exist with Consul's IDs,
// names and descriptions; neither can be changed or deleted; the
// read-only one reads everything and writes nothing.
func TestBuiltinPolicies(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(aclDenyHCL))
	acl := tokenClient(t, a, "root").ACL()
	for _, p := range []string{"p1", "p2", "p3"} {
		if _, _, err := acl.PolicyCreate(&api.ACLPolicy{Name: p, Rules: `acl = "read"`}, nil); err != nil {
			t.Fatal(err)
		}
	}
	list, qm, err := acl.PolicyList(nil)
	if err != nil || len(list) != 5 || qm.LastIndex == 0 || !qm.KnownLeader {
		t.Fatalf("list: %+v %v", list, err)
	}
	mgmt, _, err := acl.PolicyRead("00000000-0000-0000-0000-000000000001", nil)
	if err != nil || mgmt.Name != "global-management" || mgmt.Description != "A built-in policy that grants read and write access to all Consul features" {
		t.Fatalf("global-management: %+v %v", mgmt, err)
	}
	ro, _, err := acl.PolicyReadByName("builtin/global-read-only", nil)
	if err != nil || ro.ID != "00000000-0000-0000-0000-000000000002" || ro.Description != "A built-in policy that grants read-only access to all Consul features" ||
		!strings.Contains(ro.Rules, `key_prefix "" {`+"\n\tpolicy = \"read\"") {
		t.Fatalf("global-read-only: %+v %v", ro, err)
	}
	for _, p := range []*api.ACLPolicy{mgmt, ro} {
		changed := *p
		changed.Rules = `key_prefix "" { policy = "deny" }`
		_, _, err := acl.PolicyUpdate(&changed, nil)
		wantErr(t, "rules of "+p.Name, err, "400", "Changing the Rules for the builtin "+p.Name+" policy is not permitted")
		changed = *p
		changed.Datacenters = []string{"dc2"}
		_, _, err = acl.PolicyUpdate(&changed, nil)
		wantErr(t, "datacenters of "+p.Name, err, "400", "Changing the Datacenters of the "+p.Name+" policy is not permitted")
		// The client closes a delete's answer before reading it: curl it.
		if code, body := do(t, "DELETE", a.URL("/v1/acl/policy/"+p.ID), "root", ""); code != 400 || body != "Delete operation not permitted on the builtin "+p.Name+" policy" {
			t.Fatalf("delete of %s: %d %q", p.Name, code, body)
		}
		changed = *p
		changed.Description = "ours"
		if up, _, err := acl.PolicyUpdate(&changed, nil); err != nil || up.Description != "ours" {
			t.Fatalf("description of %s: %+v %v", p.Name, up, err)
		}
	}
	_, _, err = acl.PolicyCreate(&api.ACLPolicy{Name: "builtin/mine"}, nil)
	wantErr(t, "reserved name", err, "400", "names starting with 'builtin/' are reserved")
	if p, _, err := acl.PolicyCreate(&api.ACLPolicy{Name: "team/ops"}, nil); err != nil || p.Name != "team/ops" {
		t.Fatalf("a name with one slash: %+v %v", p, err)
	}
	tok, _, err := acl.TokenCreate(&api.ACLToken{Policies: []*api.ACLTokenPolicyLink{{Name: "builtin/global-read-only"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := tokenClient(t, a, tok.SecretID)
	if _, err := tokenClient(t, a, "root").KV().Put(&api.KVPair{Key: "k", Value: []byte("v")}, nil); err != nil {
		t.Fatal(err)
	}
	if kv, _, err := c.KV().Get("k", nil); err != nil || kv == nil {
		t.Fatalf("read-only read: %+v %v", kv, err)
	}
	if toks, _, err := c.ACL().TokenList(nil); err != nil || len(toks) < 3 {
		t.Fatalf("read-only acl read: %v", err)
	}
	_, err = c.KV().Put(&api.KVPair{Key: "k", Value: []byte("w")}, nil)
	wantErr(t, "read-only write", err, "403", "lacks permission 'key:write'")
}

// TestACLBootstrapTexts follows the official client's bootstrap test: the
// denials before the bootstrap, then the two tokens after it.
func TestACLBootstrapTexts(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(`acl { enabled = true  default_policy = "deny" }`))
	_, _, err := tokenClient(t, a, "").ACL().TokenList(nil)
	if err == nil || err.Error() != "Unexpected response code: 403 (Permission denied: anonymous token lacks permission 'acl:read'. The anonymous token is used implicitly when a request does not specify a token.)" {
		t.Fatalf("anonymous: %v", err)
	}
	_, _, err = tokenClient(t, a, "root").ACL().TokenList(nil)
	if err == nil || err.Error() != "Unexpected response code: 403 (ACL system must be bootstrapped before making any requests that require authorization: ACL not found)" {
		t.Fatalf("unknown token before bootstrap: %v", err)
	}
	mgmt, _, err := tokenClient(t, a, "").ACL().Bootstrap()
	if err != nil {
		t.Fatal(err)
	}
	toks, _, err := tokenClient(t, a, mgmt.SecretID).ACL().TokenList(nil)
	if err != nil || len(toks) != 2 {
		t.Fatalf("after bootstrap: %+v %v", toks, err)
	}
	_, _, err = tokenClient(t, a, "root").ACL().TokenList(nil)
	if err == nil || err.Error() != "Unexpected response code: 403 (ACL not found)" {
		t.Fatalf("unknown token after bootstrap: %v", err)
	}
}

// TestACLTokenListFiltered follows the official client's test of token
// list filters, and the other filters.
func TestACLTokenListFiltered(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(aclDenyHCL))
	acl := tokenClient(t, a, "root").ACL()
	for _, c := range []struct {
		desc string
		svcs []string
	}{{"token1", []string{"s1"}}, {"token2", []string{"s2"}}, {"token3", []string{"s1", "s2"}}} {
		var ids []*api.ACLServiceIdentity
		for _, s := range c.svcs {
			ids = append(ids, &api.ACLServiceIdentity{ServiceName: s})
		}
		if _, _, err := acl.TokenCreate(&api.ACLToken{Description: c.desc, ServiceIdentities: ids}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for svc, want := range map[string]string{"s1": "token1,token3", "s2": "token2,token3", "nothing": ""} {
		toks, qm, err := acl.TokenListFiltered(api.ACLTokenFilterOptions{ServiceName: svc}, nil)
		if err != nil || qm.LastIndex == 0 || !qm.KnownLeader {
			t.Fatalf("%s: %v", svc, err)
		}
		var got []string
		for _, tk := range toks {
			got = append(got, tk.Description)
		}
		sort.Strings(got)
		if strings.Join(got, ",") != want {
			t.Errorf("tokens of %s: %v, want %s", svc, got, want)
		}
	}
	_, _, err := acl.TokenListFiltered(api.ACLTokenFilterOptions{ServiceName: "s", AuthMethod: "a"}, nil)
	wantErr(t, "two filters", err, "400", "can only filter by one of")
}

func TestTemplatedPolicies(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(aclDenyHCL))
	acl := tokenClient(t, a, "root").ACL()
	list, _, err := acl.TemplatedPolicyList(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"builtin/service", "builtin/node", "builtin/dns", "builtin/nomad-server", "builtin/api-gateway", "builtin/nomad-client"} {
		if tp, ok := list[name]; !ok || tp.TemplateName != name || tp.Template == "" || tp.Description == "" {
			t.Errorf("%s: %+v", name, tp)
		}
	}
	if len(list) != 6 {
		t.Errorf("%d templates: %v", len(list), list)
	}
	svc, _, err := acl.TemplatedPolicyReadByName("builtin/service", nil)
	if err != nil || !strings.Contains(svc.Schema, `"required": ["name"]`) || !strings.Contains(svc.Template, `service "{{.Name}}-sidecar-proxy"`) {
		t.Fatalf("read: %+v %v", svc, err)
	}
	if dns, _, err := acl.TemplatedPolicyReadByName("builtin/dns", nil); err != nil || dns.Schema != "" {
		t.Fatalf("read dns: %+v %v", dns, err)
	}
	_, _, err = acl.TemplatedPolicyReadByName("builtin/nope", nil)
	wantErr(t, "read of no template", err, "400", "Invalid templated policy Name: builtin/nope")
	p, _, err := acl.TemplatedPolicyPreview(&api.ACLTemplatedPolicy{TemplateName: "builtin/service",
		TemplateVariables: &api.ACLTemplatedPolicyVariables{Name: "api"}}, nil)
	if err != nil || p.Rules != "\nservice \"api\" {\n\tpolicy = \"write\"\n}\nservice \"api-sidecar-proxy\" {\n\tpolicy = \"write\"\n}\nservice_prefix \"\" {\n\tpolicy = \"read\"\n}\nnode_prefix \"\" {\n\tpolicy = \"read\"\n}" ||
		!strings.HasPrefix(p.Name, "synthetic-policy-") || p.Description != "synthetic policy generated from templated policy: builtin/service" {
		t.Fatalf("preview: %+v %v", p, err)
	}
	_, _, err = acl.TemplatedPolicyPreview(&api.ACLTemplatedPolicy{TemplateName: "builtin/service"}, nil)
	wantErr(t, "preview without a name", err, "400", `templated policy "builtin/service" needs the variable name`)
	_, _, err = tokenClient(t, a, "").ACL().TemplatedPolicyList(nil)
	wantErr(t, "list without acl:read", err, "403", "lacks permission 'acl:read'")
}
