package http_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
)

const aclDenyHCL = `acl { enabled = true  default_policy = "deny"  tokens { initial_management = "root" } }`

// do sends one request and returns its status and body.
func do(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Consul-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func tokenClient(t *testing.T, a *testagent.Agent, token string) *api.Client {
	t.Helper()
	cfg := api.DefaultNonPooledConfig()
	cfg.Address = a.HTTPAddr
	cfg.Token = token
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var policySeq atomic.Int64

// ruleToken makes, with the management client root, a token whose one
// policy has rules.
func ruleToken(t *testing.T, root *api.Client, rules string) string {
	t.Helper()
	pol, _, err := root.ACL().PolicyCreate(&api.ACLPolicy{Name: fmt.Sprintf("rules-%d", policySeq.Add(1)), Rules: rules}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := root.ACL().TokenCreate(&api.ACLToken{Policies: []*api.ACLTokenPolicyLink{{ID: pol.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok.SecretID
}

func TestACLBootstrapOnce(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(`acl { enabled = true  default_policy = "deny" }`))
	tok, _, err := a.Client.ACL().Bootstrap()
	if err != nil {
		t.Fatal(err)
	}
	if tok.SecretID == "" || tok.AccessorID == "" || tok.Description != "Bootstrap Token (Global Management)" ||
		len(tok.Policies) != 1 || tok.Policies[0].Name != "global-management" ||
		tok.Policies[0].ID != "00000000-0000-0000-0000-000000000001" || tok.CreateTime.IsZero() {
		t.Fatalf("bootstrap token: %+v", tok)
	}
	code, body := do(t, "PUT", a.URL("/v1/acl/bootstrap"), "", "")
	if code != 403 || !strings.HasPrefix(body, "Permission denied: ACL bootstrap no longer allowed (reset index: ") {
		t.Fatalf("second bootstrap: %d %q", code, body)
	}
	self, _, err := tokenClient(t, a, tok.SecretID).ACL().TokenReadSelf(nil)
	if err != nil || self.AccessorID != tok.AccessorID {
		t.Fatalf("self: %+v %v", self, err)
	}
}

// TestSeedACLFlow follows the secured-cluster walkthrough: a read policy,
// a token linking it by name, the legacy create, token/self, and a KV read
// refused to a token without the right.
func TestSeedACLFlow(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(aclDenyHCL))
	root := "root"
	code, body := do(t, "PUT", a.URL("/v1/kv/foo?token="+root), "", "hello consul")
	if code != 200 {
		t.Fatalf("management put: %d %s", code, body)
	}
	code, body = do(t, "PUT", a.URL("/v1/acl/policy?token="+root), "", `{
  "Name": "client-read-policy",
  "Description": "Grants read access to all node information",
  "Rules": "key_prefix \"\" { policy = \"read\"}",
  "Datacenters": ["dc1"]
}`)
	if code != 200 || !strings.Contains(body, `"Hash"`) || !strings.Contains(body, `"CreateIndex"`) {
		t.Fatalf("policy create: %d %s", code, body)
	}
	code, body = do(t, "PUT", a.URL("/v1/acl/token?token="+root), "", `{
   "Description": "client read token",
   "Policies": [{"Name": "client-read-policy"}],
   "Local": false
}`)
	if code != 200 || !strings.Contains(body, `"SecretID"`) || !strings.Contains(body, `"Name":"client-read-policy"`) {
		t.Fatalf("token create: %d %s", code, body)
	}
	mgmt, _, err := tokenClient(t, a, root).ACL().Create(&api.ACLEntry{Name: "dc1", Type: "management"}, nil)
	if err != nil || mgmt == "" {
		t.Fatalf("legacy create: %q %v", mgmt, err)
	}
	writer, _, err := tokenClient(t, a, mgmt).ACL().Create(&api.ACLEntry{Name: "client-write-policy", Type: "client",
		Rules: `key "foo/test" { policy = "write" }`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	code, body = do(t, "GET", a.URL("/v1/acl/token/self"), writer, "")
	if code != 200 || !strings.Contains(body, `"Rules":"key \"foo/test\" { policy = \"write\" }"`) || !strings.Contains(body, `"Description":"client-write-policy"`) {
		t.Fatalf("legacy token self: %d %s", code, body)
	}
	code, body = do(t, "GET", a.URL("/v1/kv/foo?token="+writer), "", "")
	if code != 403 || !strings.HasPrefix(body, "Permission denied") {
		t.Fatalf("read without the right: %d %q", code, body)
	}
	if code, _ = do(t, "PUT", a.URL("/v1/kv/foo/test"), writer, "x"); code != 200 {
		t.Fatalf("write with the right: %d", code)
	}
	code, body = do(t, "GET", a.URL("/v1/kv/foo"), "no-such-secret", "")
	if code != 403 || body != "ACL not found" {
		t.Fatalf("unknown secret: %d %q", code, body)
	}
	entries, _, err := tokenClient(t, a, root).ACL().List(nil)
	if err != nil || len(entries) < 4 {
		t.Fatalf("legacy list: %d entries, %v", len(entries), err)
	}
}

func TestACLTokenAndPolicyCRUD(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(aclDenyHCL))
	acl := tokenClient(t, a, "root").ACL()
	p, _, err := acl.PolicyCreate(&api.ACLPolicy{Name: "kv-app", Rules: `key_prefix "app/" { policy = "write" }`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := acl.PolicyReadByName("kv-app", nil); err != nil || got.ID != p.ID {
		t.Fatalf("by name: %+v %v", got, err)
	}
	p.Description = "app keys"
	if up, _, err := acl.PolicyUpdate(p, nil); err != nil || up.Description != "app keys" || up.CreateIndex != p.CreateIndex {
		t.Fatalf("update: %+v %v", up, err)
	}
	if _, _, err := acl.PolicyCreate(&api.ACLPolicy{Name: "bad", Rules: "key \"a\" {\n policy = \"rwite\"\n}"}, nil); err == nil ||
		!strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), `line 2: key "a": invalid policy "rwite"`) {
		t.Fatalf("bad rules: %v", err)
	}
	tok, _, err := acl.TokenCreate(&api.ACLToken{Description: "app", Policies: []*api.ACLTokenPolicyLink{{ID: p.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	clone, _, err := acl.TokenClone(tok.AccessorID, "app clone", nil)
	if err != nil || clone.SecretID == tok.SecretID || len(clone.Policies) != 1 || clone.Description != "app clone" {
		t.Fatalf("clone: %+v %v", clone, err)
	}
	tok.Description = "app v2"
	if up, _, err := acl.TokenUpdate(tok, nil); err != nil || up.Description != "app v2" || up.SecretID != tok.SecretID {
		t.Fatalf("token update: %+v %v", up, err)
	}
	list, _, err := acl.TokenList(nil)
	if err != nil || len(list) != 4 { // anonymous, initial management, app, clone
		t.Fatalf("token list: %d %v", len(list), err)
	}
	if _, err := acl.TokenDelete(clone.AccessorID, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := acl.TokenRead(clone.AccessorID, nil); err == nil || !strings.Contains(err.Error(), "ACL not found") {
		t.Fatalf("read deleted: %v", err)
	}
	if _, err := acl.PolicyDelete("00000000-0000-0000-0000-000000000001", nil); err == nil {
		t.Fatal("deleted the builtin policy")
	}
	if _, err := acl.TokenDelete("00000000-0000-0000-0000-000000000002", nil); err == nil {
		t.Fatal("deleted the anonymous token")
	}
	// A token without acl:write sees no secrets.
	reader, _, _ := acl.PolicyCreate(&api.ACLPolicy{Name: "acl-read", Rules: `acl = "read"`}, nil)
	rt, _, _ := acl.TokenCreate(&api.ACLToken{Policies: []*api.ACLTokenPolicyLink{{Name: reader.Name}}}, nil)
	got, _, err := tokenClient(t, a, rt.SecretID).ACL().TokenRead(tok.AccessorID, nil)
	if err != nil || got.SecretID == tok.SecretID {
		t.Fatalf("acl:read token saw a secret: %+v %v", got, err)
	}
	if code, _ := do(t, "PUT", a.URL("/v1/acl/policy"), rt.SecretID, `{"Name":"x"}`); code != 403 {
		t.Fatalf("acl:read token created a policy: %d", code)
	}
	if code, body := do(t, "PUT", a.URL("/v1/acl/token"), "root", `{"Policies":[{"Name":"nope"}]}`); code != 400 || !strings.Contains(body, "nope") {
		t.Fatalf("token with a missing policy: %d %s", code, body)
	}
	if code, body := do(t, "PUT", a.URL("/v1/acl/token"), "root", `{"Policies":`); code != 400 || !strings.Contains(body, "decode") {
		t.Fatalf("malformed JSON: %d %s", code, body)
	}
}

func TestACLDisabled(t *testing.T) {
	a := testagent.Start(t)
	if code, body := do(t, "PUT", a.URL("/v1/acl/bootstrap"), "", ""); code != 401 || body != "ACL support disabled" {
		t.Fatalf("bootstrap with ACLs off: %d %q", code, body)
	}
	if code, _ := do(t, "PUT", a.URL("/v1/kv/x"), "whatever", "1"); code != 200 {
		t.Fatal("with ACLs off a token must not matter")
	}
}

// TestACLNoServersSaysSo: a client agent that knows no server cannot
// resolve any token. It says why, rather than judging the token as the
// anonymous one; the agent_recovery token still opens its own endpoints.
func TestACLNoServersSaysSo(t *testing.T) {
	a := testagent.Start(t, testagent.Client(t), testagent.WithHCL(`acl {
  enabled = true
  default_policy = "deny"
  tokens { agent_recovery = "recover" }
}`))
	for _, p := range []string{"/v1/agent/self", "/v1/agent/members", "/v1/agent/metrics", "/v1/kv/x"} {
		code, body := do(t, "GET", a.URL(p), "a-valid-management-secret", "")
		if code != 500 || !strings.HasPrefix(body, "No known Consul servers") || strings.Contains(body, "anonymous") {
			t.Errorf("%s with a token: %d %q, want 500 naming the missing servers", p, code, body)
		}
	}
	if code, body := do(t, "GET", a.URL("/v1/agent/self"), "", ""); code != 500 || !strings.Contains(body, "No known Consul servers") {
		t.Errorf("agent/self without a token: %d %q", code, body)
	}
	if code, body := do(t, "GET", a.URL("/v1/agent/self"), "recover", ""); code != 200 {
		t.Errorf("agent/self with the agent_recovery token: %d %q", code, body)
	}
	// The official client sees the cause as well.
	_, err := tokenClient(t, a, "a-valid-management-secret").Agent().Self()
	if err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "No known Consul servers") {
		t.Errorf("api client: %v", err)
	}
}
