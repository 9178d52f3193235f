package cli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
)

// startACLAgent starts an agent with ACLs on under default_policy deny
// and points the commands at it without a token.
func startACLAgent(t *testing.T) (*testagent.Agent, *env) {
	a := testagent.Start(t, testagent.WithHCL(`acl { enabled = true  default_policy = "deny" }`))
	t.Setenv(api.HTTPAddrEnvName, a.HTTPAddr)
	t.Setenv(api.HTTPTokenEnvName, "")
	t.Setenv(api.HTTPTokenFileEnvName, "")
	return a, &env{t: t, addr: a.HTTPAddr, client: a.Client}
}

// TestACLCommands runs the secured-cluster walkthrough from the command
// line: bootstrap once, CONSUL_HTTP_TOKEN and -token, policies from a
// rules file, tokens linking them by name.
func TestACLCommands(t *testing.T) {
	a, e := startACLAgent(t)

	r := e.beacon("acl", "bootstrap")
	if r.code != 0 || !strings.Contains(r.stdout, "Description:      Bootstrap Token (Global Management)") ||
		!strings.Contains(r.stdout, "00000000-0000-0000-0000-000000000001 - global-management") {
		t.Fatalf("bootstrap: %+v", r)
	}
	secret := field(r.stdout, "SecretID:")
	if r := e.beacon("acl", "bootstrap"); r.code != 1 || !strings.Contains(r.stderr, "ACL bootstrap no longer allowed") {
		t.Fatalf("second bootstrap: %+v", r)
	}
	if r := e.beacon("members"); r.code == 0 {
		t.Fatalf("members without a token under deny: %+v", r)
	}
	if r := e.beacon("members", "-token="+secret); r.code != 0 || !strings.Contains(r.stdout, "alive") {
		t.Fatalf("members -token: %+v", r)
	}
	t.Setenv(api.HTTPTokenEnvName, secret)
	if r := e.beacon("kv", "put", "app/x", "1"); r.code != 0 {
		t.Fatalf("kv put with CONSUL_HTTP_TOKEN: %+v", r)
	}

	rules := filepath.Join(t.TempDir(), "rules.hcl")
	os.WriteFile(rules, []byte(`key_prefix "app/" { policy = "read" }`), 0o644)
	r = e.beacon("acl", "policy", "create", "-name", "app-read", "-description", "app keys", "-rules", "@"+rules)
	if r.code != 0 || !strings.Contains(r.stdout, "Name:         app-read") || !strings.Contains(r.stdout, `key_prefix "app/"`) {
		t.Fatalf("policy create: %+v", r)
	}
	if r := e.beacon("acl", "policy", "create", "-name", "bad", "-rules", `key "a" { policy = "nope" }`); r.code != 1 || !strings.Contains(r.stderr, `invalid policy "nope"`) {
		t.Fatalf("bad rules: %+v", r)
	}
	r = e.beacon("acl", "token", "create", "-description", "reader", "-policy-name", "app-read")
	if r.code != 0 || !strings.Contains(r.stdout, " - app-read") {
		t.Fatalf("token create: %+v", r)
	}
	reader, accessor := field(r.stdout, "SecretID:"), field(r.stdout, "AccessorID:")
	if r := e.beacon("kv", "get", "-token", reader, "app/x"); r.code != 0 || r.stdout != "1\n" {
		t.Fatalf("kv get with the reader: %+v", r)
	}
	if r := e.beacon("kv", "put", "-token", reader, "app/x", "2"); r.code == 0 || !strings.Contains(r.stderr, "Permission denied") {
		t.Fatalf("kv put with the reader: %+v", r)
	}
	if r := e.beacon("acl", "token", "read", "-self", "-token", reader); r.code != 0 || field(r.stdout, "AccessorID:") != accessor {
		t.Fatalf("token read -self: %+v", r)
	}
	if r := e.beacon("acl", "set-agent-token", "default", reader); r.code != 0 || r.stdout != "ACL token \"default\" set successfully\n" {
		t.Fatalf("set-agent-token: %+v", r)
	}
	if p, _, err := a.Client.KV().Get("app/x", nil); err != nil || p == nil {
		t.Fatalf("a request without a token after set-agent-token default: %v %v", p, err)
	}
	if r := e.beacon("acl", "set-agent-token", "nope", reader); r.code != 1 || !strings.Contains(r.stderr, `Unknown token type "nope"`) {
		t.Fatalf("set-agent-token of an unknown type: %+v", r)
	}
	if r := e.beacon("acl", "token", "update", "-id", accessor, "-description", "renamed"); r.code != 0 || !strings.Contains(r.stdout, "renamed") {
		t.Fatalf("token update: %+v", r)
	}
	if r := e.beacon("acl", "token", "list"); r.code != 0 || !strings.Contains(r.stdout, accessor) {
		t.Fatalf("token list: %+v", r)
	}
	if r := e.beacon("acl", "policy", "list", "-format", "json"); r.code != 0 || !strings.Contains(r.stdout, `"Name": "app-read"`) {
		t.Fatalf("policy list: %+v", r)
	}
	if r := e.beacon("acl", "token", "delete", "-id", accessor); r.code != 0 || !strings.Contains(r.stdout, "deleted successfully") {
		t.Fatalf("token delete: %+v", r)
	}
	if r := e.beacon("acl", "policy", "delete", "-name", "app-read"); r.code != 0 {
		t.Fatalf("policy delete: %+v", r)
	}
	if r := e.beacon("acl", "bootstrap", "-format", "yaml"); r.code != 1 {
		t.Fatalf("bad -format: %+v", r)
	}
}

// field is the value after a "Name:" label in pretty output.
func field(out, label string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, label); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestACLPrettyOutput pins the pretty output of the commands users script
// around to Consul's: the labels, their padding, their order, the policy
// lines, and the refusal of a second bootstrap.
func TestACLPrettyOutput(t *testing.T) {
	_, e := startACLAgent(t)
	const (
		uuid = `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`
		when = `\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? [+-]\d{4} \S+`
	)
	match := func(what, out, pattern string) {
		t.Helper()
		if !regexp.MustCompile(`^` + pattern + `$`).MatchString(out) {
			t.Fatalf("%s output:\n%s\nwant:\n%s", what, out, pattern)
		}
	}

	r := e.beacon("acl", "bootstrap")
	match("acl bootstrap", r.stdout, `AccessorID:       `+uuid+`
SecretID:         `+uuid+`
Description:      Bootstrap Token \(Global Management\)
Local:            false
Create Time:      `+when+`
Policies:
   00000000-0000-0000-0000-000000000001 - global-management
`)
	t.Setenv(api.HTTPTokenEnvName, field(r.stdout, "SecretID:"))
	r = e.beacon("acl", "bootstrap")
	match("second acl bootstrap", r.stderr,
		`Failed ACL bootstrapping: Unexpected response code: 403 \(Permission denied: ACL bootstrap no longer allowed \(reset index: \d+\)\)
`)

	r = e.beacon("acl", "policy", "create", "-name", "acl-replication", "-description", "Token capable of replicating ACL policies", "-rules", `acl = "read"`)
	match("acl policy create", r.stdout, `ID:           (`+uuid+`)
Name:         acl-replication
Description:  Token capable of replicating ACL policies
Datacenters:  
Rules:
acl = "read"
`)
	policyID := field(r.stdout, "ID:")
	r = e.beacon("acl", "token", "create", "-description", "Agent Policy Replication - my-agent", "-policy-name", "acl-replication")
	match("acl token create", r.stdout, `AccessorID:       `+uuid+`
SecretID:         `+uuid+`
Description:      Agent Policy Replication - my-agent
Local:            false
Create Time:      `+when+`
Policies:
   `+policyID+` - acl-replication
`)
	r = e.beacon("acl", "token", "create", "-description", "no policies", "-local")
	match("acl token create without policies", r.stdout, `AccessorID:       `+uuid+`
SecretID:         `+uuid+`
Description:      no policies
Local:            true
Create Time:      `+when+`
`)
	// The secret is the second field of its line, as `awk '/SecretID/ {print $2}'` reads it.
	if f := strings.Fields(strings.Split(r.stdout, "\n")[1]); len(f) != 2 || f[0] != "SecretID:" {
		t.Fatalf("SecretID line: %q", f)
	}
}
