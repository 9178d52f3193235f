package agent

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Token kinds an agent holds, by their names in acl.tokens and in
// PUT /v1/agent/token/<kind>.
const (
	TokenDefault       = "default"
	TokenAgent         = "agent"
	TokenAgentRecovery = "agent_recovery"
	TokenReplication   = "replication"
)

// tokenAliases maps the older names of token kinds (API paths and
// settings) to the current ones.
var tokenAliases = map[string]string{
	TokenDefault: TokenDefault, "acl_token": TokenDefault,
	TokenAgent: TokenAgent, "acl_agent_token": TokenAgent,
	TokenAgentRecovery: TokenAgentRecovery, "agent_master": TokenAgentRecovery, "acl_agent_master_token": TokenAgentRecovery,
	TokenReplication: TokenReplication, "acl_replication_token": TokenReplication,
}

// TokenKind returns the current name of a token kind, false if unknown.
func TokenKind(name string) (string, bool) {
	k, ok := tokenAliases[name]
	return k, ok
}

// Tokens are the agent's own ACL tokens: default for requests that carry
// none (DNS included), agent for the agent's own catalog writes and reads,
// agent_recovery for its local endpoints when no server can be asked.
// Tokens set through the API are kept in the data dir when persistence is
// on, and win over the configured ones at the next start.
type Tokens struct {
	mu      sync.RWMutex
	tokens  map[string]string
	persist string // file of API-set tokens; "" keeps none
	fromAPI map[string]string
}

// NewTokens holds the configured tokens, then the ones persisted in
// persistFile (when not empty) over them.
func NewTokens(configured map[string]string, persistFile string) (*Tokens, error) {
	t := &Tokens{tokens: map[string]string{}, persist: persistFile, fromAPI: map[string]string{}}
	for k, v := range configured {
		kind, ok := TokenKind(k)
		if !ok {
			return nil, fmt.Errorf("unknown token kind %q", k)
		}
		t.tokens[kind] = v
	}
	if persistFile == "" {
		return t, nil
	}
	b, err := os.ReadFile(persistFile)
	if os.IsNotExist(err) {
		return t, nil
	}
	if err != nil {
		return nil, fmt.Errorf("persisted ACL tokens: %w", err)
	}
	if err := json.Unmarshal(b, &t.fromAPI); err != nil {
		return nil, fmt.Errorf("persisted ACL tokens in %s: %w", persistFile, err)
	}
	for k, v := range t.fromAPI {
		if kind, ok := TokenKind(k); ok {
			t.tokens[kind] = v
		}
	}
	return t, nil
}

func (t *Tokens) get(kind string) string {
	if t == nil {
		return ""
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.tokens[kind]
}

// UserToken is the default token: used for requests without a token.
func (t *Tokens) UserToken() string { return t.get(TokenDefault) }

// AgentToken is the token of the agent's own work, the default token when
// none is set.
func (t *Tokens) AgentToken() string {
	if tok := t.get(TokenAgent); tok != "" {
		return tok
	}
	return t.UserToken()
}

// IsAgentRecovery reports, in constant time, whether secret is the
// agent_recovery token.
func (t *Tokens) IsAgentRecovery(secret string) bool {
	rec := t.get(TokenAgentRecovery)
	return rec != "" && subtle.ConstantTimeCompare([]byte(rec), []byte(secret)) == 1
}

// Set replaces a token (PUT /v1/agent/token/<kind>) and persists it when
// persistence is on.
func (t *Tokens) Set(name, secret string) error {
	kind, ok := TokenKind(name)
	if !ok {
		return fmt.Errorf("Token %q is unknown", name)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tokens[kind] = secret
	if t.persist == "" {
		return nil
	}
	t.fromAPI[kind] = secret
	b, err := json.Marshal(t.fromAPI)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(t.persist), 0o700); err != nil {
		return err
	}
	tmp := t.persist + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("persist ACL token: %w", err)
	}
	return os.Rename(tmp, t.persist)
}
