package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
	"github.com/beacon-sd/beacon/internal/jwtissuer"
)

// TestRoleAuthMethodLoginCommands: roles, an auth method and its binding
// rule from the command line, then a login with a JWT signed here and a
// logout.
func TestRoleAuthMethodLoginCommands(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(`acl { enabled = true  default_policy = "deny"  tokens { initial_management = "root" } }`))
	t.Setenv(api.HTTPAddrEnvName, a.HTTPAddr)
	t.Setenv(api.HTTPTokenEnvName, "root")
	t.Setenv(api.HTTPTokenFileEnvName, "")
	e := &env{t: t, addr: a.HTTPAddr, client: a.Client}
	dir := t.TempDir()

	if r := e.beacon("acl", "policy", "create", "-name", "app", "-rules", `key_prefix "app/" { policy = "write" }`); r.code != 0 {
		t.Fatalf("policy: %+v", r)
	}
	r := e.beacon("acl", "role", "create", "-name", "deployer", "-description", "deploys", "-policy-name", "app",
		"-service-identity", "web:dc1", "-node-identity", "edge-1:dc1", "-templated-policy", "builtin/service", "-var", "name:api")
	if r.code != 0 || !strings.Contains(r.stdout, "Name:         deployer") || !strings.Contains(r.stdout, " - app") ||
		!strings.Contains(r.stdout, "web (Datacenters: dc1)") || !strings.Contains(r.stdout, "edge-1 (Datacenter: dc1)") || !strings.Contains(r.stdout, "      Name: api") {
		t.Fatalf("role create: %+v", r)
	}
	id := field(r.stdout, "ID:")
	if r := e.beacon("acl", "role", "read", "-name", "deployer", "-format", "json"); r.code != 0 || !strings.Contains(r.stdout, `"ID": "`+id+`"`) {
		t.Fatalf("role read: %+v", r)
	}
	if r := e.beacon("acl", "role", "update", "-id", id, "-description", "ships"); r.code != 0 || !strings.Contains(r.stdout, "Description:  ships") || !strings.Contains(r.stdout, " - app") {
		t.Fatalf("role update: %+v", r)
	}
	if r := e.beacon("acl", "role", "list"); r.code != 0 || !strings.Contains(r.stdout, "deployer") {
		t.Fatalf("role list: %+v", r)
	}
	if r := e.beacon("acl", "role", "create", "-name", "x", "-node-identity", "nodc"); r.code != 1 || !strings.Contains(r.stderr, "want NAME:DATACENTER") {
		t.Fatalf("bad node identity: %+v", r)
	}

	iss := jwtissuer.New(t)
	cfg, _ := json.Marshal(map[string]interface{}{"JWTValidationPubKeys": []string{iss.PubPEM},
		"BoundIssuer": "ci", "ClaimMappings": map[string]string{"role": "role"}})
	cfgFile := filepath.Join(dir, "method.json")
	os.WriteFile(cfgFile, cfg, 0o600)
	r = e.beacon("acl", "auth-method", "create", "-type", "jwt", "-name", "ci", "-max-token-ttl", "10m", "-config", "@"+cfgFile)
	if r.code != 0 || !strings.Contains(r.stdout, "Name:          ci") || !strings.Contains(r.stdout, "MaxTokenTTL:   10m0s") || !strings.Contains(r.stdout, `"BoundIssuer": "ci"`) {
		t.Fatalf("auth-method create: %+v", r)
	}
	if r := e.beacon("acl", "auth-method", "create", "-type", "kubernetes", "-name", "k8s"); r.code != 1 || !strings.Contains(r.stderr, `Type "kubernetes" is not supported by beacon`) {
		t.Fatalf("kubernetes: %+v", r)
	}
	if r := e.beacon("acl", "auth-method", "update", "-name", "ci", "-description", "pipelines"); r.code != 0 || !strings.Contains(r.stdout, "Description:   pipelines") {
		t.Fatalf("auth-method update: %+v", r)
	}
	if r := e.beacon("acl", "auth-method", "list"); r.code != 0 || !strings.Contains(r.stdout, "ci:\n   Type:         jwt") {
		t.Fatalf("auth-method list: %+v", r)
	}
	r = e.beacon("acl", "binding-rule", "create", "-method", "ci", "-bind-type", "role", "-bind-name", "${value.role}", "-selector", `value.role != ""`)
	if r.code != 0 || !strings.Contains(r.stdout, "BindName:     ${value.role}") {
		t.Fatalf("binding-rule create: %+v", r)
	}
	ruleID := field(r.stdout, "ID:")
	if r := e.beacon("acl", "binding-rule", "list", "-method", "ci"); r.code != 0 || !strings.Contains(r.stdout, ruleID) {
		t.Fatalf("binding-rule list: %+v", r)
	}
	if r := e.beacon("acl", "binding-rule", "update", "-id", ruleID, "-description", "by role"); r.code != 0 || !strings.Contains(r.stdout, "Description:  by role") {
		t.Fatalf("binding-rule update: %+v", r)
	}
	if r := e.beacon("acl", "binding-rule", "create", "-method", "ci", "-bind-type", "group", "-bind-name", "x"); r.code != 1 || !strings.Contains(r.stderr, `unknown BindType "group"`) {
		t.Fatalf("bad bind type: %+v", r)
	}

	now := time.Now()
	bearer := iss.Sign("ci", nil, now, now.Add(time.Hour), map[string]interface{}{"role": "deployer"})
	bearerFile, sink := filepath.Join(dir, "jwt"), filepath.Join(dir, "token")
	os.WriteFile(bearerFile, []byte(bearer+"\n"), 0o600)
	t.Setenv(api.HTTPTokenEnvName, "")
	if r := e.beacon("login", "-method", "ci", "-bearer-token-file", bearerFile, "-token-sink-file", sink, "-meta", "host=ci-1"); r.code != 0 {
		t.Fatalf("login: %+v", r)
	}
	secret, _ := os.ReadFile(sink)
	r = e.beacon("acl", "token", "read", "-self", "-token", string(secret))
	if r.code != 0 || !strings.Contains(r.stdout, `token created via login: {"host":"ci-1"}`) || !strings.Contains(r.stdout, " - deployer") ||
		!strings.Contains(r.stdout, "Auth Method:      ci") {
		t.Fatalf("the login's token: %+v", r)
	}
	if r := e.beacon("kv", "put", "-token", string(secret), "app/x", "1"); r.code != 0 {
		t.Fatalf("write the role allows: %+v", r)
	}
	if r := e.beacon("login", "-method", "ci", "-bearer-token-file", bearerFile); r.code != 1 || !strings.Contains(r.stderr, "Missing required '-token-sink-file' flag") {
		t.Fatalf("login without a sink: %+v", r)
	}
	if r := e.beacon("logout", "-token", string(secret)); r.code != 0 {
		t.Fatalf("logout: %+v", r)
	}
	if r := e.beacon("kv", "put", "-token", string(secret), "app/x", "2"); r.code == 0 || !strings.Contains(r.stderr, "ACL not found") {
		t.Fatalf("the token after logout: %+v", r)
	}
	if r := e.beacon("logout", "-token", "root"); r.code != 1 || !strings.Contains(r.stderr, "token wasn't created via login") {
		t.Fatalf("logout of a token no login made: %+v", r)
	}
	t.Setenv(api.HTTPTokenEnvName, "root")
	if r := e.beacon("acl", "binding-rule", "delete", "-id", ruleID); r.code != 0 {
		t.Fatalf("binding-rule delete: %+v", r)
	}
	if r := e.beacon("acl", "auth-method", "delete", "-name", "ci"); r.code != 0 || r.stdout != "Auth-method \"ci\" deleted successfully\n" {
		t.Fatalf("auth-method delete: %+v", r)
	}
	if r := e.beacon("acl", "role", "delete", "-name", "deployer"); r.code != 0 || !strings.Contains(r.stdout, "deleted successfully") {
		t.Fatalf("role delete: %+v", r)
	}
}
