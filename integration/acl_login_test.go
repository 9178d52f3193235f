package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/internal/jwtissuer"
	"github.com/beacon-sd/beacon/internal/waitfor"
)

// Three servers and a client with ACLs on: a role, a jwt auth method and
// a binding rule made through the client reach every server; a login
// through the client with a JWT signed here gets a token whose role lets
// it register its service on the client agent (which resolves the token,
// role included, through the servers) and write its keys through any
// server, and nothing else; the logout deletes it everywhere.
func TestACLLoginThroughClient(t *testing.T) {
	c := newCluster(t, 3, 1, map[string]interface{}{
		"acl": map[string]interface{}{"enabled": true, "default_policy": "deny", "token_ttl": "1s",
			"tokens": map[string]interface{}{"agent_recovery": "recovery", "initial_management": "root", "agent": "root"}},
	})
	for _, a := range c.agents {
		a.client = clientWithToken(a, "recovery")
	}
	c.ready(30 * time.Second)
	c1 := c.clients()[0]
	root := clientWithToken(c1, "root")
	waitfor.Until(t, 10*time.Second, "the initial management token", func() bool {
		_, _, err := root.ACL().TokenReadSelf(nil)
		return err == nil
	})

	pol, _, err := root.ACL().PolicyCreate(&api.ACLPolicy{Name: "pay-keys", Rules: `key_prefix "pay/" { policy = "write" }`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := root.ACL().RoleCreate(&api.ACLRole{Name: "payments", Policies: []*api.ACLRolePolicyLink{{ID: pol.ID}},
		ServiceIdentities: []*api.ACLServiceIdentity{{ServiceName: "billing"}}}, nil); err != nil {
		t.Fatal(err)
	}
	iss := jwtissuer.New(t)
	if _, _, err := root.ACL().AuthMethodCreate(&api.ACLAuthMethod{Name: "idp", Type: "jwt", Config: map[string]interface{}{
		"JWTValidationPubKeys": []string{iss.PubPEM},
		"BoundIssuer":          "idp", "ClaimMappings": map[string]string{"team": "team"}}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := root.ACL().BindingRuleCreate(&api.ACLBindingRule{AuthMethod: "idp", BindType: "role", BindName: "${value.team}"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, s := range c.servers() {
		waitfor.Until(t, 10*time.Second, s.name+" to have the binding rule", func() bool {
			rules, _, err := clientWithToken(s, "root").ACL().BindingRuleList("idp", &api.QueryOptions{AllowStale: true})
			return err == nil && len(rules) == 1
		})
	}

	now := time.Now()
	bearer := iss.Sign("idp", nil, now, now.Add(time.Hour), map[string]interface{}{"team": "payments"})
	tok, _, err := clientWithToken(c1, "").ACL().Login(&api.ACLLoginParams{AuthMethod: "idp", BearerToken: bearer}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok.Roles) != 1 || tok.Roles[0].Name != "payments" || tok.AuthMethod != "idp" {
		t.Fatalf("login token: %+v", tok)
	}
	mine := clientWithToken(c1, tok.SecretID)
	if err := mine.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "billing", Port: 8080}); err != nil {
		t.Fatalf("register the role's service on the client: %v", err)
	}
	if err := mine.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "db", Port: 5432}); err == nil || !strings.Contains(err.Error(), "Permission denied") {
		t.Fatalf("register another service on the client: %v", err)
	}
	for _, s := range c.servers() {
		kv := clientWithToken(s, tok.SecretID).KV()
		waitfor.Until(t, 10*time.Second, "a write through "+s.name, func() bool {
			_, err := kv.Put(&api.KVPair{Key: "pay/" + s.name, Value: []byte("1")}, nil)
			return err == nil
		})
		if _, err := kv.Put(&api.KVPair{Key: "ops/" + s.name, Value: []byte("1")}, nil); err == nil || !strings.Contains(err.Error(), "Permission denied") {
			t.Fatalf("write outside the role through %s: %v", s.name, err)
		}
	}
	if _, err := mine.ACL().Logout(nil); err != nil {
		t.Fatal(err)
	}
	for _, s := range c.servers() {
		waitfor.Until(t, 10*time.Second, s.name+" to forget the token", func() bool {
			_, err := clientWithToken(s, tok.SecretID).KV().Put(&api.KVPair{Key: "pay/x", Value: []byte("1")}, nil)
			return err != nil && strings.Contains(err.Error(), "ACL not found")
		})
	}
}
