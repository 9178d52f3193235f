package http_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
)

// TestAuthMethodList follows the official client's test of the auth
// method list, with jwt methods: beacon has no kubernetes methods.
func TestAuthMethodList(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(aclDenyHCL))
	acl := tokenClient(t, a, "root").ACL()
	iss := newJWTIssuer(t)
	created, wm, err := acl.AuthMethodCreate(&api.ACLAuthMethod{Name: "test_1", Type: "jwt", Description: "test 1",
		MaxTokenTTL: 260 * time.Second, TokenLocality: "global", Config: iss.config()}, nil)
	if err != nil || created.Name != "test_1" || wm.RequestTime == 0 || created.MaxTokenTTL != 260*time.Second || created.CreateIndex == 0 {
		t.Fatalf("create: %+v %v", created, err)
	}
	if _, _, err := acl.AuthMethodCreate(&api.ACLAuthMethod{Name: "test_2", Type: "jwt", Description: "test 2",
		TokenLocality: "local", Config: iss.config()}, nil); err != nil {
		t.Fatal(err)
	}
	entries, _, err := acl.AuthMethodList(nil)
	if err != nil || len(entries) != 2 {
		t.Fatalf("list: %+v %v", entries, err)
	}
	if e := entries[0]; e.Name != "test_1" || e.MaxTokenTTL != 260*time.Second || e.TokenLocality != "global" || e.Type != "jwt" {
		t.Fatalf("first: %+v", e)
	}
	if e := entries[1]; e.Name != "test_2" || e.MaxTokenTTL != 0 || e.TokenLocality != "local" {
		t.Fatalf("second: %+v", e)
	}
	read, _, err := acl.AuthMethodRead("test_1", nil)
	if err != nil || read.Config["BoundIssuer"] != "https://idp.test" || read.Description != "test 1" {
		t.Fatalf("read: %+v %v", read, err)
	}
	if m, _, err := acl.AuthMethodRead("nope", nil); err != nil || m != nil {
		t.Fatalf("read of no method: %+v %v", m, err)
	}
	read.Description = "updated"
	read.Type = ""
	up, _, err := acl.AuthMethodUpdate(read, nil)
	if err != nil || up.Description != "updated" || up.Type != "jwt" || up.CreateIndex != created.CreateIndex {
		t.Fatalf("update: %+v %v", up, err)
	}
	if _, err := acl.AuthMethodDelete("test_2", nil); err != nil {
		t.Fatal(err)
	}
	if code, body := do(t, "DELETE", a.URL("/v1/acl/auth-method/test_2"), "root", ""); code != 404 || body != "Cannot find auth method to delete" {
		t.Fatalf("delete of no method: %d %q", code, body)
	}
}

func TestAuthMethodBadInput(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(aclDenyHCL))
	acl := tokenClient(t, a, "root").ACL()
	iss := newJWTIssuer(t)
	// The official client's own kubernetes configuration.
	_, _, err := acl.AuthMethodCreate(&api.ACLAuthMethod{Name: "k8s", Type: "kubernetes",
		Config: map[string]interface{}{"Host": "https://192.0.2.42:8443", "CACert": "x", "ServiceAccountJWT": "y"}}, nil)
	wantErr(t, "kubernetes", err, "400", `Type "kubernetes" is not supported by beacon`)
	_, _, err = acl.AuthMethodCreate(&api.ACLAuthMethod{Name: "x", Type: "ldap", Config: iss.config()}, nil)
	wantErr(t, "unknown type", err, "400", "Type should be one of: [jwt]")
	cfg := iss.config()
	cfg["JWTValidationPubKeys"] = []string{"not a key"}
	_, _, err = acl.AuthMethodCreate(&api.ACLAuthMethod{Name: "x", Type: "jwt", Config: cfg}, nil)
	wantErr(t, "bad key", err, "400", "error parsing public key JWTValidationPubKeys[0]")
	cfg = iss.config()
	cfg["BoundIssuers"] = "typo"
	_, _, err = acl.AuthMethodCreate(&api.ACLAuthMethod{Name: "x", Type: "jwt", Config: cfg}, nil)
	wantErr(t, "unknown config key", err, "400", `unknown configuration key "BoundIssuers"`)
	cfg = iss.config()
	cfg["JWKSURL"] = "https://idp.test/keys"
	_, _, err = acl.AuthMethodCreate(&api.ACLAuthMethod{Name: "x", Type: "jwt", Config: cfg}, nil)
	wantErr(t, "JWKS URL", err, "400", "JWKSURL", "not supported")
	cfg = iss.config()
	cfg["JWTSupportedAlgs"] = []string{"HS256"}
	_, _, err = acl.AuthMethodCreate(&api.ACLAuthMethod{Name: "x", Type: "jwt", Config: cfg}, nil)
	wantErr(t, "symmetric algorithm", err, "400", "Invalid supported algorithm: HS256")
	_, _, err = acl.AuthMethodCreate(&api.ACLAuthMethod{Name: "x", Type: "jwt", TokenLocality: "planet", Config: iss.config()}, nil)
	wantErr(t, "bad locality", err, "400", "TokenLocality should be one of 'local' or 'global'")
	_, _, err = acl.AuthMethodCreate(&api.ACLAuthMethod{Name: "x", Type: "jwt", MaxTokenTTL: time.Second, Config: iss.config()}, nil)
	wantErr(t, "short TTL", err, "400", "MaxTokenTTL 1s must be between 1m0s and 24h0m0s")
	_, _, err = acl.AuthMethodCreate(&api.ACLAuthMethod{Name: "a b", Type: "jwt", Config: iss.config()}, nil)
	wantErr(t, "bad name", err, "400", `Invalid Auth Method: invalid Name "a b"`)
	code, body := do(t, "PUT", a.URL("/v1/acl/auth-method"), "root", `{"Name":"x","Type":"jwt","Confg":{}}`)
	if code != 400 || !strings.Contains(body, `unknown key "Confg"`) {
		t.Fatalf("unknown field: %d %q", code, body)
	}
	if _, _, err := acl.AuthMethodCreate(&api.ACLAuthMethod{Name: "m", Type: "jwt", Config: iss.config()}, nil); err != nil {
		t.Fatal(err)
	}
	code, body = do(t, "PUT", a.URL("/v1/acl/auth-method/m"), "root", `{"Type":"kubernetes"}`)
	if code != 400 || !strings.Contains(body, `the Type field of an Auth Method is immutable (it is "jwt")`) {
		t.Fatalf("type change: %d %q", code, body)
	}
	for _, c := range []struct {
		what string
		rule api.ACLBindingRule
		want string
	}{
		{"no method", api.ACLBindingRule{BindType: "service", BindName: "x"}, "no AuthMethod is set"},
		{"unknown method", api.ACLBindingRule{AuthMethod: "nope", BindType: "service", BindName: "x"}, `cannot find auth method with name "nope"`},
		{"no bind type", api.ACLBindingRule{AuthMethod: "m", BindName: "x"}, "no BindType is set"},
		{"unknown bind type", api.ACLBindingRule{AuthMethod: "m", BindType: "group", BindName: "x"}, `unknown BindType "group"`},
		{"no bind name", api.ACLBindingRule{AuthMethod: "m", BindType: "service"}, "no BindName is set"},
		{"unknown variable", api.ACLBindingRule{AuthMethod: "m", BindType: "service", BindName: "${value.nope}"}, "unknown variable accessed: value.nope"},
		{"bad selector", api.ACLBindingRule{AuthMethod: "m", BindType: "service", BindName: "x", Selector: `nope.team == "x"`}, "Selector is invalid"},
		{"vars without a template", api.ACLBindingRule{AuthMethod: "m", BindType: "service", BindName: "x", BindVars: &api.ACLTemplatedPolicyVariables{Name: "x"}}, "BindVars cannot be set"},
		{"unknown template", api.ACLBindingRule{AuthMethod: "m", BindType: "templated-policy", BindName: "builtin/nope"}, "does not match an existing template name"},
	} {
		_, _, err := acl.BindingRuleCreate(&c.rule, nil)
		wantErr(t, c.what, err, "400", c.want)
	}
}

// loginWorld is an agent with a jwt auth method trusting a test issuer.
func loginWorld(t *testing.T) (*testagent.Agent, *api.ACL, *jwtIssuer) {
	a := testagent.Start(t, testagent.WithHCL(`acl { enabled = true  default_policy = "deny"  tokens { initial_management = "root"  agent = "root" } }`))
	acl := tokenClient(t, a, "root").ACL()
	iss := newJWTIssuer(t)
	if _, _, err := acl.AuthMethodCreate(&api.ACLAuthMethod{Name: "idp", Type: "jwt", MaxTokenTTL: time.Hour,
		TokenLocality: "global", Config: iss.config()}, nil); err != nil {
		t.Fatal(err)
	}
	return a, acl, iss
}

// TestLoginBindsPerRules: a login's token has what the matching binding
// rules grant, with the claims interpolated, and can do exactly that.
func TestLoginBindsPerRules(t *testing.T) {
	a, acl, iss := loginWorld(t)
	if _, _, err := acl.PolicyCreate(&api.ACLPolicy{Name: "ops-keys", Rules: `key_prefix "ops/" { policy = "write" }`}, nil); err != nil {
		t.Fatal(err)
	}
	role, _, err := acl.RoleCreate(&api.ACLRole{Name: "payments-readers", TemplatedPolicies: []*api.ACLTemplatedPolicy{{TemplateName: "builtin/dns"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rules := []*api.ACLBindingRule{
		{AuthMethod: "idp", Description: "each service its identity", BindType: "service", BindName: "${value.service}", Selector: `value.team == "payments"`},
		{AuthMethod: "idp", BindType: "node", BindName: "${value.node}", Selector: `value.node != ""`},
		{AuthMethod: "idp", BindType: "role", BindName: "${value.team}-readers"},
		{AuthMethod: "idp", BindType: "policy", BindName: "ops-keys", Selector: `"ops" in list.groups`},
		{AuthMethod: "idp", BindType: "templated-policy", BindName: "builtin/service", BindVars: &api.ACLTemplatedPolicyVariables{Name: "${value.service}-admin"}},
		{AuthMethod: "idp", BindType: "policy", BindName: "no-such-policy"},
	}
	for _, r := range rules {
		if _, _, err := acl.BindingRuleCreate(r, nil); err != nil {
			t.Fatal(err)
		}
	}
	list, _, err := acl.BindingRuleList("idp", nil)
	if err != nil || len(list) != len(rules) || list[0].Description != "each service its identity" || list[0].ID == "" {
		t.Fatalf("rules: %+v %v", list, err)
	}
	if got, _, err := acl.BindingRuleRead(list[0].ID, nil); err != nil || got.BindName != "${value.service}" {
		t.Fatalf("rule read: %+v %v", got, err)
	}
	anon := tokenClient(t, a, "").ACL()
	bearer := iss.valid(map[string]interface{}{"service": "Billing", "team": "payments", "groups": []string{"dev", "ops"},
		"meta": map[string]string{"node": "pay-1"}})
	tok, _, err := anon.Login(&api.ACLLoginParams{AuthMethod: "idp", BearerToken: bearer, Meta: map[string]string{"pod": "billing-0"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok.AuthMethod != "idp" || tok.Local || tok.ExpirationTime == nil || tok.ExpirationTime.Sub(tok.CreateTime) != time.Hour ||
		tok.Description != `token created via login: {"pod":"billing-0"}` {
		t.Fatalf("login token: %+v", tok)
	}
	if len(tok.ServiceIdentities) != 1 || tok.ServiceIdentities[0].ServiceName != "billing" {
		t.Fatalf("service identity (lower-cased): %+v", tok.ServiceIdentities)
	}
	if len(tok.NodeIdentities) != 1 || tok.NodeIdentities[0].NodeName != "pay-1" || tok.NodeIdentities[0].Datacenter != "dc1" {
		t.Fatalf("node identity: %+v", tok.NodeIdentities)
	}
	if len(tok.Roles) != 1 || tok.Roles[0].ID != role.ID || len(tok.Policies) != 1 || tok.Policies[0].Name != "ops-keys" {
		t.Fatalf("role and policy: %+v %+v", tok.Roles, tok.Policies)
	}
	if len(tok.TemplatedPolicies) != 1 || tok.TemplatedPolicies[0].TemplateVariables.Name != "billing-admin" {
		t.Fatalf("templated policy: %+v", tok.TemplatedPolicies)
	}
	c := tokenClient(t, a, tok.SecretID)
	if _, err := c.KV().Put(&api.KVPair{Key: "ops/x", Value: []byte("1")}, nil); err != nil {
		t.Fatalf("write the bound policy grants: %v", err)
	}
	_, err = c.KV().Put(&api.KVPair{Key: "app/x", Value: []byte("1")}, nil)
	wantErr(t, "write nothing grants", err, "403", "lacks permission 'key:write' on \"app/x\"")
	for _, svc := range []string{"billing", "billing-admin"} {
		if _, err := c.Catalog().Register(&api.CatalogRegistration{Node: "pay-1", Address: "10.0.0.1",
			Service: &api.AgentService{ID: svc, Service: svc}}, nil); err != nil {
			t.Fatalf("register %s: %v", svc, err)
		}
	}
	_, err = c.Catalog().Register(&api.CatalogRegistration{Node: "pay-1", Address: "10.0.0.1", Service: &api.AgentService{ID: "db", Service: "db"}}, nil)
	wantErr(t, "service nothing grants", err, "403", "lacks permission 'service:write' on \"db\"")
	if self, _, err := c.ACL().TokenReadSelf(nil); err != nil || self.AccessorID != tok.AccessorID {
		t.Fatalf("self: %+v %v", self, err)
	}
	byMethod, _, err := acl.TokenListFiltered(api.ACLTokenFilterOptions{AuthMethod: "idp"}, nil)
	if err != nil || len(byMethod) != 1 || byMethod[0].AccessorID != tok.AccessorID {
		t.Fatalf("tokens of the method: %+v %v", byMethod, err)
	}

	// A login matching only the catch-all rules gets only what they grant.
	other, _, err := anon.Login(&api.ACLLoginParams{AuthMethod: "idp", BearerToken: iss.valid(map[string]interface{}{"service": "web", "team": "search"})}, nil)
	if err != nil || len(other.ServiceIdentities) != 0 || len(other.Roles) != 0 || len(other.TemplatedPolicies) != 1 {
		t.Fatalf("second login: %+v %v", other, err)
	}

	// Logout deletes the token; a token no login made cannot log out.
	if _, err := c.ACL().Logout(nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := acl.TokenRead(tok.AccessorID, nil); err == nil {
		t.Fatal("the token outlived its logout")
	}
	_, err = tokenClient(t, a, "root").ACL().Logout(nil)
	wantErr(t, "logout of a token no login made", err, "403", "Permission denied: token wasn't created via login")
	_, err = tokenClient(t, a, "no-such-secret").ACL().Logout(nil)
	wantErr(t, "logout of no token", err, "403", "ACL not found")

	// Deleting the method deletes its rules and the tokens it made.
	if _, err := acl.AuthMethodDelete("idp", nil); err != nil {
		t.Fatal(err)
	}
	if rules, _, err := acl.BindingRuleList("", nil); err != nil || len(rules) != 0 {
		t.Fatalf("rules after the method's delete: %+v %v", rules, err)
	}
	if _, _, err := acl.TokenRead(other.AccessorID, nil); err == nil {
		t.Fatal("a login's token outlived its auth method")
	}
}

// TestLoginRefusals: a bearer token the method does not accept is
// refused with 403 and the reason; a login no rule grants anything too.
func TestLoginRefusals(t *testing.T) {
	a, acl, iss := loginWorld(t)
	if _, _, err := acl.BindingRuleCreate(&api.ACLBindingRule{AuthMethod: "idp", BindType: "service", BindName: "${value.service}",
		Selector: `value.team == "payments"`}, nil); err != nil {
		t.Fatal(err)
	}
	anon := tokenClient(t, a, "").ACL()
	login := func(bearer string) error {
		_, _, err := anon.Login(&api.ACLLoginParams{AuthMethod: "idp", BearerToken: bearer}, nil)
		return err
	}
	claims := map[string]interface{}{"service": "web", "team": "payments"}
	now := time.Now()
	if err := login(iss.valid(claims)); err != nil {
		t.Fatalf("valid token: %v", err)
	}
	wantErr(t, "wrong issuer", login(iss.sign("https://evil.test", []string{"beacon"}, now, now.Add(time.Hour), claims)), "403",
		`Permission denied: auth method "idp" did not accept the bearer token: token issuer "https://evil.test" is not the bound issuer "https://idp.test"`)
	wantErr(t, "wrong audience", login(iss.sign("https://idp.test", []string{"other"}, now, now.Add(time.Hour), claims)), "403",
		`token audience ["other"] matches none of the bound audiences ["beacon"]`)
	wantErr(t, "expired", login(iss.sign("https://idp.test", []string{"beacon"}, now.Add(-2*time.Hour), now.Add(-time.Hour), claims)), "403",
		"token is expired")
	wantErr(t, "not yet valid", login(iss.sign("https://idp.test", []string{"beacon"}, now.Add(time.Hour), now.Add(2*time.Hour), claims)), "403",
		"token is not valid yet")
	wantErr(t, "another key", login(newJWTIssuer(t).valid(claims)), "403", "no known key successfully validated the token signature")
	wantErr(t, "not a JWT", login("garbage"), "403", "bearer token is not a JWT")
	wantErr(t, "no rule matches", login(iss.valid(map[string]interface{}{"service": "web", "team": "search"})), "403",
		`no binding rule of auth method "idp" grants anything to this login`)
	_, _, err := anon.Login(&api.ACLLoginParams{AuthMethod: "nope", BearerToken: iss.valid(claims)}, nil)
	wantErr(t, "unknown method", err, "403", `ACL not found: auth method "nope" not found`)
	code, body := do(t, "POST", a.URL("/v1/acl/login"), "", `{"AuthMethod":"idp"}`)
	if code != 400 || body != "Invalid Login request: missing BearerToken" {
		t.Fatalf("no bearer token: %d %q", code, body)
	}
	code, body = do(t, "POST", a.URL("/v1/acl/login"), "", `{"AuthMethod":"idp","BearerToken":"x","Extra":1}`)
	if code != 400 || !strings.Contains(body, `unknown key "Extra"`) {
		t.Fatalf("unknown field: %d %q", code, body)
	}
	code, body = do(t, "PUT", a.URL("/v1/acl/token"), "root", `{"AuthMethod":"idp"}`)
	if code != 400 || body != "AuthMethod field is disallowed outside of login" {
		t.Fatalf("token claiming a method: %d %q", code, body)
	}
	if code, body := do(t, "POST", a.URL("/v1/acl/logout"), "", ""); code != 401 || body != "Supplied token does not exist" {
		t.Fatalf("logout without a token: %d %q", code, body)
	}
}
