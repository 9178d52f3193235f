package structs

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Builtin ACL identities, with Consul's fixed IDs.
const (
	ACLPolicyGlobalManagementID   = "00000000-0000-0000-0000-000000000001"
	ACLPolicyGlobalManagementName = "global-management"
	ACLPolicyGlobalManagementDesc = "A built-in policy that grants read and write access to all Consul features"
	ACLPolicyGlobalReadOnlyID     = "00000000-0000-0000-0000-000000000002"
	ACLPolicyGlobalReadOnlyName   = "builtin/global-read-only"
	ACLPolicyGlobalReadOnlyDesc   = "A built-in policy that grants read-only access to all Consul features"
	ACLTokenAnonymousID           = "00000000-0000-0000-0000-000000000002"
	ACLTokenAnonymousSecret       = "anonymous"
	ACLTokenAnonymousDesc         = "Anonymous Token"
	ACLBootstrapDesc              = "Bootstrap Token (Global Management)"
	ACLInitialManagementDesc      = "Initial Management Token"
)

// Legacy token types of the pre-1.4 /v1/acl/create API.
const (
	ACLTypeClient     = "client"
	ACLTypeManagement = "management"
)

// ACL errors. The HTTP API answers both with 403, with these texts.
var (
	ErrACLNotFound          = errors.New("ACL not found")
	ErrACLBootstrapDisabled = errors.New("ACL bootstrap no longer allowed")
	ErrACLDisabled          = errors.New("ACL support disabled")
)

// ACLLink names a policy or role a token or role uses.
type ACLLink struct {
	ID   string
	Name string `json:",omitempty"`
}

// ACLToken is a token as the store keeps it and the API shows it.
// SecretID is the bearer credential; AccessorID names the token in the API
// without granting anything.
type ACLToken struct {
	AccessorID        string
	SecretID          string
	Description       string
	Policies          []ACLLink             `json:",omitempty"`
	Roles             []ACLLink             `json:",omitempty"`
	ServiceIdentities []*ACLServiceIdentity `json:",omitempty"`
	NodeIdentities    []*ACLNodeIdentity    `json:",omitempty"`
	TemplatedPolicies []*ACLTemplatedPolicy `json:",omitempty"`
	Local             bool
	// AuthMethod names the auth method a token made by a login came from.
	AuthMethod     string     `json:",omitempty"`
	ExpirationTime *time.Time `json:",omitempty"`
	CreateTime     time.Time
	Hash           []byte
	// Rules are the inline rules of a token made with the legacy
	// /v1/acl/create API.
	Rules string `json:",omitempty"`
	RaftIndex
}

// Expired reports whether the token has an expiration time before now.
func (t *ACLToken) Expired(now time.Time) bool {
	return t.ExpirationTime != nil && !t.ExpirationTime.After(now)
}

// HasPolicy reports whether the token links to policy id.
func (t *ACLToken) HasPolicy(id string) bool { return hasLink(t.Policies, id) }

// HasRole reports whether the token links to role id.
func (t *ACLToken) HasRole(id string) bool { return hasLink(t.Roles, id) }

// HasServiceIdentity reports whether the token has the service identity
// of service name.
func (t *ACLToken) HasServiceIdentity(name string) bool {
	for _, si := range t.ServiceIdentities {
		if si.ServiceName == name {
			return true
		}
	}
	return false
}

func hasLink(links []ACLLink, id string) bool {
	for _, l := range links {
		if l.ID == id {
			return true
		}
	}
	return false
}

// Redacted is a copy of the token without its secret.
func (t *ACLToken) Redacted() *ACLToken {
	c := *t
	c.SecretID = "<hidden>"
	return &c
}

// SetHash computes the token's content hash, which changes when what the
// token grants changes.
func (t *ACLToken) SetHash() {
	h := sha256.New()
	for _, s := range []string{t.Description, t.Rules, t.AuthMethod} {
		writeField(h, s)
	}
	for _, p := range t.Policies {
		writeField(h, p.ID)
	}
	hashGrants(h, t.Roles, t.ServiceIdentities, t.NodeIdentities, t.TemplatedPolicies)
	if t.Local {
		h.Write([]byte{1})
	}
	if t.ExpirationTime != nil {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(t.ExpirationTime.UnixNano()))
		h.Write(b[:])
	}
	t.Hash = h.Sum(nil)
}

// ACLPolicy is a named set of rules.
type ACLPolicy struct {
	ID          string
	Name        string
	Description string
	Rules       string
	Datacenters []string
	Hash        []byte
	RaftIndex
}

// SetHash computes the policy's content hash.
func (p *ACLPolicy) SetHash() {
	h := sha256.New()
	for _, s := range append([]string{p.Name, p.Description, p.Rules}, p.Datacenters...) {
		writeField(h, s)
	}
	p.Hash = h.Sum(nil)
}

// AppliesTo reports whether the policy is in force in datacenter dc.
func (p *ACLPolicy) AppliesTo(dc string) bool {
	if len(p.Datacenters) == 0 {
		return true
	}
	for _, d := range p.Datacenters {
		if d == dc {
			return true
		}
	}
	return false
}

func writeField(h interface{ Write([]byte) (int, error) }, s string) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(len(s)))
	h.Write(b[:])
	h.Write([]byte(s))
}

// ACLOp is an ACL write operation.
type ACLOp string

// ACL write operations.
const (
	ACLBootstrap    ACLOp = "bootstrap"
	ACLTokenSet     ACLOp = "token-set"
	ACLTokenDelete  ACLOp = "token-delete"
	ACLPolicySet    ACLOp = "policy-set"
	ACLPolicyDelete ACLOp = "policy-delete"
	ACLRoleSet      ACLOp = "role-set"
	ACLRoleDelete   ACLOp = "role-delete"
	ACLMethodSet    ACLOp = "auth-method-set"
	ACLMethodDelete ACLOp = "auth-method-delete"
	ACLRuleSet      ACLOp = "binding-rule-set"
	ACLRuleDelete   ACLOp = "binding-rule-delete"
)

// ACLRequest is one ACL write. ACLToken, ACLPolicy, ACLRole,
// ACLAuthMethod or ACLBindingRule carries the row to set; ID names the row
// to delete (an auth method by its name). A set with CreateOnly fails if
// the row exists (the leader's builtins use it, so a restart never
// overwrites a change).
type ACLRequest struct {
	Datacenter     string
	Op             ACLOp
	ACLToken       *ACLToken       `json:",omitempty"`
	ACLPolicy      *ACLPolicy      `json:",omitempty"`
	ACLRole        *ACLRole        `json:",omitempty"`
	ACLAuthMethod  *ACLAuthMethod  `json:",omitempty"`
	ACLBindingRule *ACLBindingRule `json:",omitempty"`
	ID             string          `json:",omitempty"`
	CreateOnly     bool            `json:",omitempty"`
	WriteRequest
}

// ACLBootstrapError is the refusal of a second bootstrap; ResetIndex is the
// index of the first.
type ACLBootstrapError struct{ ResetIndex uint64 }

func (e *ACLBootstrapError) Error() string {
	return fmt.Sprintf("%s (reset index: %d)", ErrACLBootstrapDisabled, e.ResetIndex)
}

func (e *ACLBootstrapError) Unwrap() error { return ErrACLBootstrapDisabled }

// ACLSpecificRequest reads one token, policy, role, auth method or binding
// rule: by ID (AccessorID for tokens), by Name (policies, roles, auth
// methods), or, for a token, by its own secret (Self).
type ACLSpecificRequest struct {
	Datacenter string
	ID         string
	Name       string
	Self       bool
	QueryOptions
}

// ACLListRequest lists tokens (optionally those using one policy or role,
// made by one auth method, or with one service identity), policies, roles
// (optionally those using one policy), auth methods or binding rules
// (optionally those of one auth method).
type ACLListRequest struct {
	Datacenter  string
	Policy      string `json:",omitempty"`
	Role        string `json:",omitempty"`
	AuthMethod  string `json:",omitempty"`
	ServiceName string `json:",omitempty"`
	QueryOptions
}

// ACLResolveRequest asks a server what a secret grants. A follower that
// does not know the secret yet asks the leader, unless NoForward is set.
type ACLResolveRequest struct {
	Datacenter string
	Secret     string
	NoForward  bool `json:",omitempty"`
}

// ACLIdentity is what a secret grants: the token, the roles it links to
// that exist, and the policies that exist of those the token and its roles
// link to.
type ACLIdentity struct {
	Token    *ACLToken
	Roles    []*ACLRole `json:",omitempty"`
	Policies []*ACLPolicy
}

// IndexedACLTokens are tokens with the query's index.
type IndexedACLTokens struct {
	Tokens []*ACLToken
	QueryMeta
}

// IndexedACLPolicies are policies with the query's index.
type IndexedACLPolicies struct {
	Policies []*ACLPolicy
	QueryMeta
}
