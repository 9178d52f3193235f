package config

import (
	"strings"
	"testing"
	"time"
)

func TestACLBlock(t *testing.T) {
	cfg, err := Build(true, []Source{{Name: "a.hcl", Format: "hcl", Data: []byte(`
acl {
  enabled = true
  default_policy = "deny"
  down_policy = "async-cache"
  token_ttl = "45s"
  enable_token_persistence = true
  tokens { master = "m"  agent = "a"  default = "d"  agent_master = "r" }
}`)}})
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.ACL
	if !a.Enabled || a.DefaultPolicy != "deny" || a.DownPolicy != "async-cache" || a.TokenTTL.D() != 45*time.Second ||
		!a.EnableTokenPersistence || a.Tokens.InitialManagement != "m" || a.Tokens.Agent != "a" ||
		a.Tokens.Default != "d" || a.Tokens.AgentRecovery != "r" {
		t.Fatalf("acl block: %+v", a)
	}
}

func TestLegacyACLKeys(t *testing.T) {
	cfg, err := Build(true, []Source{{Name: "old.json", Format: "json", Data: []byte(`{
  "acl_datacenter": "dc1", "acl_default_policy": "deny", "acl_down_policy": "allow",
  "acl_master_token": "m", "acl_agent_token": "a", "acl_token": "d", "acl_agent_master_token": "r", "acl_ttl": "10s"
}`)}})
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.ACL
	if !a.Enabled || a.DefaultPolicy != "deny" || a.DownPolicy != "allow" || a.TokenTTL.D() != 10*time.Second ||
		a.Tokens.InitialManagement != "m" || a.Tokens.Agent != "a" || a.Tokens.Default != "d" || a.Tokens.AgentRecovery != "r" {
		t.Fatalf("legacy keys: %+v", a)
	}
	// Without ACL settings, ACLs stay off with Consul's defaults.
	cfg, _ = Build(true, nil)
	if cfg.ACL.Enabled || cfg.ACL.DefaultPolicy != "allow" || cfg.ACL.DownPolicy != "extend-cache" || cfg.ACL.TokenTTL.D() != 30*time.Second {
		t.Fatalf("defaults: %+v", cfg.ACL)
	}
}

func TestACLBadPolicies(t *testing.T) {
	for body, want := range map[string]string{
		`{"acl": {"default_policy": "maybe"}}`: `acl.default_policy "maybe"`,
		`{"acl": {"down_policy": "retry"}}`:    `acl.down_policy "retry"`,
		`{"acl_ttl": "soon"}`:                  `acl_ttl "soon"`,
	} {
		_, err := Build(true, []Source{{Name: "x.json", Format: "json", Data: []byte(body)}})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
}
