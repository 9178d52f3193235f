package config

import (
	"fmt"
	"time"

	"github.com/beacon-sd/beacon/core/acl"
)

// DefaultACLTokenTTL is how long a client agent trusts a resolved token
// (acl.token_ttl).
const DefaultACLTokenTTL = 30 * time.Second

// finalizeACL folds the pre-1.4 top-level acl_* keys into the acl block
// (the block wins where both are set) and checks the policies. Old config
// files turned ACLs on by setting them, so any of them enables ACLs.
func (c *Config) finalizeACL() error {
	a := &c.ACL
	legacy := false
	fill := func(dst *string, v, dflt string) {
		if v != "" {
			legacy = true
			if *dst == "" || *dst == dflt {
				*dst = v
			}
		}
	}
	fill(&a.DefaultPolicy, c.ACLDefaultPolicy, acl.PolicyAllow)
	fill(&a.DownPolicy, c.ACLDownPolicy, acl.DownExtendCache)
	fill(&a.Tokens.InitialManagement, c.ACLMasterToken, "")
	fill(&a.Tokens.Agent, c.ACLAgentToken, "")
	fill(&a.Tokens.AgentRecovery, c.ACLAgentMasterToken, "")
	fill(&a.Tokens.Default, c.ACLToken, "")
	fill(&a.Tokens.Replication, c.ACLReplicationToken, "")
	if c.ACLTTL != "" {
		d, err := time.ParseDuration(c.ACLTTL)
		if err != nil {
			return fmt.Errorf("acl_ttl %q: %v", c.ACLTTL, err)
		}
		if a.TokenTTL == 0 {
			a.TokenTTL = Duration(d)
		}
		legacy = true
	}
	a.Enabled = a.Enabled || legacy
	if a.DefaultPolicy == "" {
		a.DefaultPolicy = acl.PolicyAllow
	}
	if a.DownPolicy == "" {
		a.DownPolicy = acl.DownExtendCache
	}
	if !acl.ValidDefaultPolicy(a.DefaultPolicy) {
		return fmt.Errorf("acl.default_policy %q: must be allow or deny", a.DefaultPolicy)
	}
	if !acl.ValidDownPolicy(a.DownPolicy) {
		return fmt.Errorf("acl.down_policy %q: must be extend-cache, async-cache, deny or allow", a.DownPolicy)
	}
	if a.TokenTTL < 0 {
		return fmt.Errorf("acl.token_ttl %s: must not be negative", a.TokenTTL.D())
	}
	if a.TokenTTL == 0 {
		a.TokenTTL = Duration(DefaultACLTokenTTL)
	}
	return nil
}
