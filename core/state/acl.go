package state

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/structs"
)

// scopeACLBootstrap keeps the index of the ACL bootstrap in the index
// table; bootstrap is allowed while it is absent.
const scopeACLBootstrap = "acl.bootstrap"

// secretIndex indexes tokens by the SHA-256 of their secret, so that a
// lookup walks the tree by hash bytes and takes no longer for a secret
// that shares a prefix with a real one.
type secretIndex struct{}

func (secretIndex) FromObject(obj interface{}) (bool, []byte, error) {
	t, ok := obj.(*structs.ACLToken)
	if !ok {
		return false, nil, fmt.Errorf("secret index: %T is not a token", obj)
	}
	if t.SecretID == "" {
		return false, nil, nil
	}
	h := sha256.Sum256([]byte(t.SecretID))
	return true, h[:], nil
}

func (secretIndex) FromArgs(args ...interface{}) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("secret index: want one argument")
	}
	s, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("secret index: %T is not a string", args[0])
	}
	h := sha256.Sum256([]byte(s))
	return h[:], nil
}

func (t *txn) aclApply(req *structs.ACLRequest) error {
	switch req.Op {
	case structs.ACLBootstrap:
		return t.aclBootstrap(req.ACLToken)
	case structs.ACLTokenSet:
		return t.aclTokenSet(req.ACLToken, req.CreateOnly)
	case structs.ACLTokenDelete:
		return t.aclTokenDelete(req.ID)
	case structs.ACLPolicySet:
		return t.aclPolicySet(req.ACLPolicy, req.CreateOnly)
	case structs.ACLPolicyDelete:
		return t.aclPolicyDelete(req.ID)
	case structs.ACLRoleSet:
		return t.aclRoleSet(req.ACLRole)
	case structs.ACLRoleDelete:
		return t.aclRoleDelete(req.ID)
	case structs.ACLMethodSet:
		return t.aclMethodSet(req.ACLAuthMethod)
	case structs.ACLMethodDelete:
		return t.aclMethodDelete(req.ID)
	case structs.ACLRuleSet:
		return t.aclRuleSet(req.ACLBindingRule)
	case structs.ACLRuleDelete:
		return t.aclRuleDelete(req.ID)
	}
	return fmt.Errorf("unknown ACL operation %q", req.Op)
}

// aclBootstrap stores the first management token, once.
func (t *txn) aclBootstrap(tok *structs.ACLToken) error {
	raw, err := t.First(tableIndex, "id", scopeACLBootstrap)
	if err != nil {
		return err
	}
	if raw != nil {
		return &structs.ACLBootstrapError{ResetIndex: raw.(*indexEntry).Value}
	}
	if err := t.aclTokenSet(tok, true); err != nil {
		return err
	}
	return t.Insert(tableIndex, &indexEntry{Key: scopeACLBootstrap, Value: t.idx})
}

func (t *txn) aclTokenSet(tok *structs.ACLToken, createOnly bool) error {
	if tok == nil || tok.AccessorID == "" || tok.SecretID == "" {
		return structs.BadInput("a token needs an AccessorID and a SecretID")
	}
	row := *tok
	existing, err := t.First(tableACLTokens, "id", tok.AccessorID)
	if err != nil {
		return err
	}
	if existing != nil && createOnly {
		return structs.BadInput("token %s already exists", tok.AccessorID)
	}
	other, err := t.First(tableACLTokens, "secret", tok.SecretID)
	if err != nil {
		return err
	}
	if other != nil && other.(*structs.ACLToken).AccessorID != tok.AccessorID {
		if createOnly {
			return structs.BadInput("a token with this SecretID already exists")
		}
		return structs.BadInput("SecretID is already in use by another token")
	}
	if row.Policies, err = t.namePolicies(tok.Policies); err != nil {
		return err
	}
	row.Roles = append([]structs.ACLLink(nil), tok.Roles...)
	for i, l := range row.Roles {
		r, err := t.First(tableACLRoles, "id", l.ID)
		if err != nil {
			return err
		}
		if r == nil {
			return structs.BadInput("cannot find role %s", l.ID)
		}
		row.Roles[i].Name = r.(*structs.ACLRole).Name
	}
	row.CreateIndex, row.ModifyIndex = t.idx, t.idx
	if existing != nil {
		old := existing.(*structs.ACLToken)
		row.CreateIndex, row.CreateTime = old.CreateIndex, old.CreateTime
	}
	row.SetHash()
	if err := t.Insert(tableACLTokens, &row); err != nil {
		return err
	}
	t.touch(tableACLTokens)
	return nil
}

func (t *txn) aclTokenDelete(accessor string) error {
	raw, err := t.First(tableACLTokens, "id", accessor)
	if err != nil || raw == nil {
		return err
	}
	if err := t.Delete(tableACLTokens, raw); err != nil {
		return err
	}
	t.touch(tableACLTokens)
	return nil
}

func (t *txn) aclPolicySet(p *structs.ACLPolicy, createOnly bool) error {
	if p == nil || p.ID == "" || p.Name == "" {
		return structs.BadInput("a policy needs an ID and a Name")
	}
	existing, err := t.First(tableACLPolicies, "id", p.ID)
	if err != nil {
		return err
	}
	if existing != nil && createOnly {
		return structs.BadInput("policy %s already exists", p.ID)
	}
	named, err := t.First(tableACLPolicies, "name", p.Name)
	if err != nil {
		return err
	}
	if named != nil && named.(*structs.ACLPolicy).ID != p.ID {
		return structs.BadInput("Invalid Policy: A Policy with Name %q already exists", p.Name)
	}
	row := *p
	row.CreateIndex, row.ModifyIndex = t.idx, t.idx
	if existing != nil {
		row.CreateIndex = existing.(*structs.ACLPolicy).CreateIndex
	}
	row.SetHash()
	if err := t.Insert(tableACLPolicies, &row); err != nil {
		return err
	}
	t.touch(tableACLPolicies)
	if existing != nil && existing.(*structs.ACLPolicy).Name != row.Name {
		return t.updatePolicyLinks(row.ID, rename(row.Name))
	}
	return nil
}

// namePolicies is a copy of policy links with the names of the policies
// they link to; a link to a policy that does not exist is refused.
func (t *txn) namePolicies(links []structs.ACLLink) ([]structs.ACLLink, error) {
	out := append([]structs.ACLLink(nil), links...)
	for i, l := range out {
		p, err := t.First(tableACLPolicies, "id", l.ID)
		if err != nil {
			return nil, err
		}
		if p == nil {
			return nil, structs.BadInput("cannot find policy %s", l.ID)
		}
		out[i].Name = p.(*structs.ACLPolicy).Name
	}
	return out, nil
}

// rename is a link update that gives links a new name.
func rename(name string) func(*structs.ACLLink) bool {
	return func(l *structs.ACLLink) bool {
		l.Name = name
		return true
	}
}

// drop is a link update that removes links.
func drop(*structs.ACLLink) bool { return false }

// updateLinks changes, or drops when keep returns false, the links to id
// in links; nil and false when there is none.
func updateLinks(links []structs.ACLLink, id string, keep func(*structs.ACLLink) bool) ([]structs.ACLLink, bool) {
	if !hasLink(links, id) {
		return nil, false
	}
	var out []structs.ACLLink
	for _, l := range links {
		if l.ID == id && !keep(&l) {
			continue
		}
		out = append(out, l)
	}
	return out, true
}

func hasLink(links []structs.ACLLink, id string) bool {
	for _, l := range links {
		if l.ID == id {
			return true
		}
	}
	return false
}

// updatePolicyLinks changes, or drops when keep returns false, every
// token's and role's link to policy id, so links name policies as they
// are.
func (t *txn) updatePolicyLinks(id string, keep func(*structs.ACLLink) bool) error {
	err := t.updateTokens(func(tok *structs.ACLToken) bool { return tok.HasPolicy(id) },
		func(tok *structs.ACLToken) { tok.Policies, _ = updateLinks(tok.Policies, id, keep) })
	if err != nil {
		return err
	}
	it, err := t.Get(tableACLRoles, "id")
	if err != nil {
		return err
	}
	var changed []*structs.ACLRole
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if r := raw.(*structs.ACLRole); r.HasPolicy(id) {
			c := *r
			c.Policies, _ = updateLinks(r.Policies, id, keep)
			c.ModifyIndex = t.idx
			c.SetHash()
			changed = append(changed, &c)
		}
	}
	for _, c := range changed {
		if err := t.Insert(tableACLRoles, c); err != nil {
			return err
		}
	}
	if len(changed) > 0 {
		t.touch(tableACLRoles)
	}
	return nil
}

// updateTokens rewrites every token for which match holds with change
// applied to a copy of it.
func (t *txn) updateTokens(match func(*structs.ACLToken) bool, change func(*structs.ACLToken)) error {
	it, err := t.Get(tableACLTokens, "id")
	if err != nil {
		return err
	}
	var changed []*structs.ACLToken
	for raw := it.Next(); raw != nil; raw = it.Next() {
		tok := raw.(*structs.ACLToken)
		if !match(tok) {
			continue
		}
		c := *tok
		change(&c)
		c.ModifyIndex = t.idx
		c.SetHash()
		changed = append(changed, &c)
	}
	for _, c := range changed {
		if err := t.Insert(tableACLTokens, c); err != nil {
			return err
		}
	}
	if len(changed) > 0 {
		t.touch(tableACLTokens)
	}
	return nil
}

func (t *txn) aclPolicyDelete(id string) error {
	raw, err := t.First(tableACLPolicies, "id", id)
	if err != nil || raw == nil {
		return err
	}
	if err := t.Delete(tableACLPolicies, raw); err != nil {
		return err
	}
	t.touch(tableACLPolicies)
	return t.updatePolicyLinks(id, drop)
}

// ACLBootstrapIndex is the index of the ACL bootstrap, 0 if there was none.
func (s *Store) ACLBootstrapIndex() uint64 {
	raw, err := s.readTxn().First(tableIndex, "id", scopeACLBootstrap)
	if err != nil || raw == nil {
		return 0
	}
	return raw.(*indexEntry).Value
}

// ACLTokenByAccessor reads a token by its AccessorID.
func (s *Store) ACLTokenByAccessor(ws memdb.WatchSet, accessor string) (uint64, *structs.ACLToken, error) {
	idx := s.scopeIndex(ws, tableACLTokens)
	raw, err := s.readTxn().First(tableACLTokens, "id", accessor)
	if err != nil || raw == nil {
		return atLeastOne(idx), nil, err
	}
	return atLeastOne(idx), raw.(*structs.ACLToken), nil
}

// ACLTokenBySecret reads a token by its SecretID, comparing the secret
// itself in constant time.
func (s *Store) ACLTokenBySecret(ws memdb.WatchSet, secret string) (uint64, *structs.ACLToken, error) {
	idx := s.scopeIndex(ws, tableACLTokens)
	raw, err := s.readTxn().First(tableACLTokens, "secret", secret)
	if err != nil || raw == nil {
		return atLeastOne(idx), nil, err
	}
	tok := raw.(*structs.ACLToken)
	if subtle.ConstantTimeCompare([]byte(tok.SecretID), []byte(secret)) != 1 {
		return atLeastOne(idx), nil, nil
	}
	return atLeastOne(idx), tok, nil
}

// ACLTokenList lists tokens by AccessorID: all, or those that link to
// one policy or role, were made by one auth method, or have the service
// identity of one service (f's fields; at most one is set).
func (s *Store) ACLTokenList(ws memdb.WatchSet, f *structs.ACLListRequest) (uint64, []*structs.ACLToken, error) {
	idx := s.scopeIndex(ws, tableACLTokens)
	it, err := s.readTxn().Get(tableACLTokens, "id")
	if err != nil {
		return 0, nil, err
	}
	match := func(*structs.ACLToken) bool { return true }
	switch {
	case f == nil:
	case f.Policy != "":
		match = func(t *structs.ACLToken) bool { return t.HasPolicy(f.Policy) }
	case f.Role != "":
		match = func(t *structs.ACLToken) bool { return t.HasRole(f.Role) }
	case f.AuthMethod != "":
		match = func(t *structs.ACLToken) bool { return t.AuthMethod == f.AuthMethod }
	case f.ServiceName != "":
		match = func(t *structs.ACLToken) bool { return t.HasServiceIdentity(f.ServiceName) }
	}
	out := []*structs.ACLToken{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if tok := raw.(*structs.ACLToken); match(tok) {
			out = append(out, tok)
		}
	}
	return atLeastOne(idx), out, nil
}

// ACLPolicyGet reads a policy by ID, or by name when id is empty.
func (s *Store) ACLPolicyGet(ws memdb.WatchSet, id, name string) (uint64, *structs.ACLPolicy, error) {
	idx := s.scopeIndex(ws, tableACLPolicies)
	index, arg := "id", id
	if id == "" {
		index, arg = "name", name
	}
	raw, err := s.readTxn().First(tableACLPolicies, index, arg)
	if err != nil || raw == nil {
		return atLeastOne(idx), nil, err
	}
	return atLeastOne(idx), raw.(*structs.ACLPolicy), nil
}

// ACLPolicyList lists policies by name.
func (s *Store) ACLPolicyList(ws memdb.WatchSet) (uint64, []*structs.ACLPolicy, error) {
	idx := s.scopeIndex(ws, tableACLPolicies)
	it, err := s.readTxn().Get(tableACLPolicies, "id")
	if err != nil {
		return 0, nil, err
	}
	out := []*structs.ACLPolicy{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.ACLPolicy))
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return atLeastOne(idx), out, nil
}

// ACLIdentity is what a secret grants: its token, the roles that exist of
// those it links to, and the policies that exist of those the token and
// its roles link to. Nil when no token has the secret.
func (s *Store) ACLIdentity(secret string) (*structs.ACLIdentity, error) {
	_, tok, err := s.ACLTokenBySecret(nil, secret)
	if err != nil || tok == nil {
		return nil, err
	}
	tx := s.readTxn()
	id := &structs.ACLIdentity{Token: tok}
	seen := map[string]bool{}
	addPolicies := func(links []structs.ACLLink) error {
		for _, l := range links {
			if seen[l.ID] {
				continue
			}
			seen[l.ID] = true
			raw, err := tx.First(tableACLPolicies, "id", l.ID)
			if err != nil {
				return err
			}
			if raw != nil {
				id.Policies = append(id.Policies, raw.(*structs.ACLPolicy))
			}
		}
		return nil
	}
	if err := addPolicies(tok.Policies); err != nil {
		return nil, err
	}
	for _, l := range tok.Roles {
		raw, err := tx.First(tableACLRoles, "id", l.ID)
		if err != nil {
			return nil, err
		}
		if raw == nil {
			continue
		}
		role := raw.(*structs.ACLRole)
		id.Roles = append(id.Roles, role)
		if err := addPolicies(role.Policies); err != nil {
			return nil, err
		}
	}
	return id, nil
}
