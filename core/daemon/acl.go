package daemon

import (
	"context"
	"path/filepath"

	"github.com/beacon-sd/beacon/core/acl"
	"github.com/beacon-sd/beacon/core/agent"
	"github.com/beacon-sd/beacon/core/structs"
)

// aclConfig is how this agent authorizes requests.
func (d *Daemon) aclConfig() acl.Config {
	c := d.Config().ACL
	return acl.Config{Enabled: c.Enabled, Datacenter: d.Config().Datacenter, DefaultPolicy: c.DefaultPolicy,
		DownPolicy: c.DownPolicy, TokenTTL: c.TokenTTL.D(), Logger: d.Logger.Named("acl")}
}

// aclTokens are the agent's configured tokens, with those set through the
// API over them when enable_token_persistence is on.
func (d *Daemon) aclTokens() (*agent.Tokens, error) {
	cfg := d.Config()
	t := cfg.ACL.Tokens
	persist := ""
	if cfg.ACL.EnableTokenPersistence && cfg.DataDir != "" {
		persist = filepath.Join(cfg.DataDir, "acl-tokens.json")
	}
	return agent.NewTokens(map[string]string{
		agent.TokenDefault: t.Default, agent.TokenAgent: t.Agent,
		agent.TokenAgentRecovery: t.AgentRecovery, agent.TokenReplication: t.Replication,
	}, persist)
}

// agentResolver resolves tokens for the agent's own endpoints. A server
// agent asks its server every time; a client agent asks the servers and
// keeps the answer for acl.token_ttl, leaning on down_policy when none
// answers.
func (d *Daemon) agentResolver() *acl.Resolver {
	cfg := d.aclConfig()
	if d.Server != nil {
		cfg.TokenTTL = 0
	}
	backend := d.Agent.Backend()
	return acl.NewResolver(cfg, func(ctx context.Context, secret string) (*structs.ACLIdentity, error) {
		return backend.ACLResolve(ctx, &structs.ACLResolveRequest{Datacenter: cfg.Datacenter, Secret: secret})
	})
}
