package acl

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/beacon-sd/beacon/core/structs"
)

// Authorizer answers what one token may do. A nil *Authorizer allows
// everything: it is what requests get when ACLs are off.
type Authorizer struct {
	accessor   string
	management bool
	rules      *compiled
	// dflt decides where no rule does: Write under default_policy allow,
	// Deny under deny. It never grants ACL management.
	dflt Access
}

// compiled is a policy set ready for lookups: exact names in maps,
// prefixes longest first so the first match is the most specific.
type compiled struct {
	exact  [numResources]map[string]Access
	prefix [numResources][]prefixRule
	global [numResources]Access
}

type prefixRule struct {
	prefix string
	access Access
}

func compile(r *Rules) *compiled {
	c := &compiled{global: r.global}
	for res := Resource(0); res < numResources; res++ {
		c.exact[res] = r.exact[res]
		for p, a := range r.prefix[res] {
			c.prefix[res] = append(c.prefix[res], prefixRule{p, a})
		}
		sort.Slice(c.prefix[res], func(i, j int) bool {
			pi, pj := c.prefix[res][i].prefix, c.prefix[res][j].prefix
			if len(pi) != len(pj) {
				return len(pi) > len(pj)
			}
			return pi < pj
		})
	}
	return c
}

// level is the most specific rule's level for a name: an exact rule beats
// any prefix rule, a longer prefix a shorter one. accessNone when no rule
// applies.
func (c *compiled) level(res Resource, name string) Access {
	if !res.named() {
		return c.global[res]
	}
	if a, ok := c.exact[res][name]; ok {
		return a
	}
	for _, p := range c.prefix[res] {
		if strings.HasPrefix(name, p.prefix) {
			return p.access
		}
	}
	return accessNone
}

// defaultAccess is the level default_policy gives.
func defaultAccess(policy string) Access {
	if policy == PolicyDeny {
		return Deny
	}
	return Write
}

// Management is an authorizer that may do everything.
func Management(accessor string) *Authorizer {
	return &Authorizer{accessor: accessor, management: true}
}

// AllowAll allows everything but ACL management, as default_policy allow
// does for a token without rules.
func AllowAll() *Authorizer { return &Authorizer{dflt: Write} }

// DenyAll allows nothing.
func DenyAll() *Authorizer { return &Authorizer{dflt: Deny} }

// New builds an authorizer from rules, falling back to defaultPolicy where
// no rule applies.
func New(accessor string, r *Rules, defaultPolicy string) *Authorizer {
	return &Authorizer{accessor: accessor, rules: compile(r), dflt: defaultAccess(defaultPolicy)}
}

// AccessorID is the accessor of the token the authorizer is for.
func (a *Authorizer) AccessorID() string {
	if a == nil {
		return ""
	}
	return a.accessor
}

// IsManagement reports whether the authorizer may do everything.
func (a *Authorizer) IsManagement() bool { return a == nil || a.management }

// Allowed reports whether the token holds need on name of res.
func (a *Authorizer) Allowed(res Resource, name string, need Access) bool {
	if a == nil || a.management {
		return true
	}
	lvl := accessNone
	if a.rules != nil {
		lvl = a.rules.level(res, name)
	}
	if lvl == accessNone {
		if res == ACL {
			return false
		}
		lvl = a.dflt
	}
	return lvl.grants(need)
}

// Check is Allowed as an error: nil, or a PermissionDeniedError.
func (a *Authorizer) Check(res Resource, name string, need Access) error {
	if a.Allowed(res, name, need) {
		return nil
	}
	return &PermissionDeniedError{Accessor: a.AccessorID(), Resource: res, Need: need, Name: name}
}

// MayWrite reports whether the token may write anything at all, which
// any request that changes something needs.
func (a *Authorizer) MayWrite() bool {
	if a == nil || a.management || a.dflt.grants(Write) {
		return true
	}
	if a.rules == nil {
		return false
	}
	for res := Resource(0); res < numResources; res++ {
		if a.rules.global[res].grants(Write) {
			return true
		}
		for _, lvl := range a.rules.exact[res] {
			if lvl.grants(Write) {
				return true
			}
		}
		for _, p := range a.rules.prefix[res] {
			if p.access.grants(Write) {
				return true
			}
		}
	}
	return false
}

// CheckMayWrite is MayWrite as an error.
func (a *Authorizer) CheckMayWrite() error {
	if a.MayWrite() {
		return nil
	}
	return fmt.Errorf("%w: %s lacks write permission on anything", structs.ErrPermissionDenied, holder(a.AccessorID()))
}

// Read, Write are Check for the common levels.
func (a *Authorizer) Read(res Resource, name string) error  { return a.Check(res, name, Read) }
func (a *Authorizer) Write(res Resource, name string) error { return a.Check(res, name, Write) }

// CanReadCheck reports whether a health check may be read: it needs
// node:read on its node and, for a service check (service not empty),
// service:read on its service.
func (a *Authorizer) CanReadCheck(node, service string) bool {
	return a.Allowed(Node, node, Read) && (service == "" || a.Allowed(Service, service, Read))
}

// CheckKeyWritePrefix allows writing every key under prefix (a recursive
// delete): write on the prefix itself, and no rule below it that grants
// less.
func (a *Authorizer) CheckKeyWritePrefix(prefix string) error {
	if err := a.Check(Key, prefix, Write); err != nil || a.IsManagement() || a.rules == nil {
		return err
	}
	below := func(name string, lvl Access) error {
		if strings.HasPrefix(name, prefix) && !lvl.grants(Write) {
			return &PermissionDeniedError{Accessor: a.accessor, Resource: Key, Need: Write, Name: name}
		}
		return nil
	}
	for name, lvl := range a.rules.exact[Key] {
		if err := below(name, lvl); err != nil {
			return err
		}
	}
	for _, p := range a.rules.prefix[Key] {
		if err := below(p.prefix, p.access); err != nil {
			return err
		}
	}
	return nil
}

// PolicyCache keeps parsed policies by ID and modify index, and the
// rules of synthetic policies by their text, so a request does not parse
// the same rules again.
type PolicyCache struct {
	mu        sync.Mutex
	m         map[string]cachedPolicy
	synthetic map[string]*Rules
}

type cachedPolicy struct {
	modify uint64
	rules  *Rules
}

// maxCachedPolicies bounds each cache; beyond it the cache starts over.
const maxCachedPolicies = 4096

func (c *PolicyCache) rules(p *structs.ACLPolicy) (*Rules, error) {
	c.mu.Lock()
	if e, ok := c.m[p.ID]; ok && e.modify == p.ModifyIndex {
		c.mu.Unlock()
		return e.rules, nil
	}
	c.mu.Unlock()
	r, err := Parse(p.Rules)
	if err != nil {
		return nil, fmt.Errorf("policy %q: %w", p.Name, err)
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedPolicies {
		c.m = map[string]cachedPolicy{}
	}
	c.m[p.ID] = cachedPolicy{modify: p.ModifyIndex, rules: r}
	c.mu.Unlock()
	return r, nil
}

func (c *PolicyCache) syntheticRules(text string) (*Rules, error) {
	c.mu.Lock()
	r, ok := c.synthetic[text]
	c.mu.Unlock()
	if ok {
		return r, nil
	}
	r, err := Parse(text)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.synthetic == nil || len(c.synthetic) >= maxCachedPolicies {
		c.synthetic = map[string]*Rules{}
	}
	c.synthetic[text] = r
	c.mu.Unlock()
	return r, nil
}

// Compile builds the authorizer of an identity in datacenter dc: the
// union of its policies in force there (the token's and its roles'), the
// synthetic policies of the service identities, node identities and
// templated policies of the token and its roles, and its legacy inline
// rules.
func (c *PolicyCache) Compile(id *structs.ACLIdentity, dc, defaultPolicy string) (*Authorizer, error) {
	tok := id.Token
	merged := newRules()
	for _, p := range id.Policies {
		if !p.AppliesTo(dc) {
			continue
		}
		if p.ID == structs.ACLPolicyGlobalManagementID {
			return Management(tok.AccessorID), nil
		}
		r, err := c.rules(p)
		if err != nil {
			return nil, err
		}
		merged.Merge(r)
	}
	grants, err := Grants(tok.ServiceIdentities, tok.NodeIdentities, tok.TemplatedPolicies)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	for _, role := range id.Roles {
		g, err := Grants(role.ServiceIdentities, role.NodeIdentities, role.TemplatedPolicies)
		if err != nil {
			return nil, fmt.Errorf("role %q: %w", role.Name, err)
		}
		grants = append(grants, g...)
	}
	for _, g := range grants {
		if !g.AppliesTo(dc) {
			continue
		}
		r, err := c.syntheticRules(g.Rules)
		if err != nil {
			return nil, err
		}
		merged.Merge(r)
	}
	if tok.Rules != "" {
		r, err := Parse(tok.Rules)
		if err != nil {
			return nil, fmt.Errorf("token rules: %w", err)
		}
		merged.Merge(r)
	}
	return New(tok.AccessorID, merged, defaultPolicy), nil
}
