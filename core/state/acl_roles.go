package state

import (
	"sort"
	"strings"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/structs"
)

func (t *txn) aclRoleSet(r *structs.ACLRole) error {
	if r == nil || r.ID == "" || r.Name == "" {
		return structs.BadInput("a role needs an ID and a Name")
	}
	existing, err := t.First(tableACLRoles, "id", r.ID)
	if err != nil {
		return err
	}
	named, err := t.First(tableACLRoles, "name", r.Name)
	if err != nil {
		return err
	}
	if named != nil && named.(*structs.ACLRole).ID != r.ID {
		return structs.BadInput("Invalid Role: A Role with Name %q already exists", r.Name)
	}
	row := *r
	if row.Policies, err = t.namePolicies(r.Policies); err != nil {
		return err
	}
	row.CreateIndex, row.ModifyIndex = t.idx, t.idx
	if existing != nil {
		row.CreateIndex = existing.(*structs.ACLRole).CreateIndex
	}
	row.SetHash()
	if err := t.Insert(tableACLRoles, &row); err != nil {
		return err
	}
	t.touch(tableACLRoles)
	if existing != nil && existing.(*structs.ACLRole).Name != row.Name {
		return t.updateRoleLinks(row.ID, rename(row.Name))
	}
	return nil
}

// updateRoleLinks changes, or drops when keep returns false, every
// token's link to role id.
func (t *txn) updateRoleLinks(id string, keep func(*structs.ACLLink) bool) error {
	return t.updateTokens(func(tok *structs.ACLToken) bool { return tok.HasRole(id) },
		func(tok *structs.ACLToken) { tok.Roles, _ = updateLinks(tok.Roles, id, keep) })
}

func (t *txn) aclRoleDelete(id string) error {
	raw, err := t.First(tableACLRoles, "id", id)
	if err != nil || raw == nil {
		return err
	}
	if err := t.Delete(tableACLRoles, raw); err != nil {
		return err
	}
	t.touch(tableACLRoles)
	return t.updateRoleLinks(id, drop)
}

func (t *txn) aclMethodSet(m *structs.ACLAuthMethod) error {
	if m == nil || m.Name == "" || m.Type == "" {
		return structs.BadInput("an auth method needs a Name and a Type")
	}
	existing, err := t.First(tableACLMethods, "id", m.Name)
	if err != nil {
		return err
	}
	row := *m
	row.CreateIndex, row.ModifyIndex = t.idx, t.idx
	if existing != nil {
		old := existing.(*structs.ACLAuthMethod)
		if old.Type != m.Type {
			return structs.BadInput("the Type field of an Auth Method is immutable")
		}
		row.CreateIndex = old.CreateIndex
	}
	if err := t.Insert(tableACLMethods, &row); err != nil {
		return err
	}
	t.touch(tableACLMethods)
	return nil
}

// aclMethodDelete deletes an auth method with its binding rules and the
// tokens its logins made.
func (t *txn) aclMethodDelete(name string) error {
	raw, err := t.First(tableACLMethods, "id", name)
	if err != nil || raw == nil {
		return err
	}
	if err := t.Delete(tableACLMethods, raw); err != nil {
		return err
	}
	t.touch(tableACLMethods)
	if n, err := t.DeleteAll(tableACLRules, "method", name); err != nil {
		return err
	} else if n > 0 {
		t.touch(tableACLRules)
	}
	it, err := t.Get(tableACLTokens, "id")
	if err != nil {
		return err
	}
	var doomed []interface{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if raw.(*structs.ACLToken).AuthMethod == name {
			doomed = append(doomed, raw)
		}
	}
	for _, d := range doomed {
		if err := t.Delete(tableACLTokens, d); err != nil {
			return err
		}
	}
	if len(doomed) > 0 {
		t.touch(tableACLTokens)
	}
	return nil
}

func (t *txn) aclRuleSet(r *structs.ACLBindingRule) error {
	if r == nil || r.ID == "" || r.AuthMethod == "" {
		return structs.BadInput("a binding rule needs an ID and an AuthMethod")
	}
	if m, err := t.First(tableACLMethods, "id", r.AuthMethod); err != nil {
		return err
	} else if m == nil {
		return structs.BadInput("cannot find auth method with name %q", r.AuthMethod)
	}
	existing, err := t.First(tableACLRules, "id", r.ID)
	if err != nil {
		return err
	}
	row := *r
	row.CreateIndex, row.ModifyIndex = t.idx, t.idx
	if existing != nil {
		old := existing.(*structs.ACLBindingRule)
		if old.AuthMethod != r.AuthMethod {
			return structs.BadInput("the AuthMethod field of a Binding Rule is immutable")
		}
		row.CreateIndex = old.CreateIndex
	}
	if err := t.Insert(tableACLRules, &row); err != nil {
		return err
	}
	t.touch(tableACLRules)
	return nil
}

func (t *txn) aclRuleDelete(id string) error {
	raw, err := t.First(tableACLRules, "id", id)
	if err != nil || raw == nil {
		return err
	}
	if err := t.Delete(tableACLRules, raw); err != nil {
		return err
	}
	t.touch(tableACLRules)
	return nil
}

// ACLRoleGet reads a role by ID, or by name when id is empty.
func (s *Store) ACLRoleGet(ws memdb.WatchSet, id, name string) (uint64, *structs.ACLRole, error) {
	idx := s.scopeIndex(ws, tableACLRoles)
	index, arg := "id", id
	if id == "" {
		index, arg = "name", name
	}
	raw, err := s.readTxn().First(tableACLRoles, index, arg)
	if err != nil || raw == nil {
		return atLeastOne(idx), nil, err
	}
	return atLeastOne(idx), raw.(*structs.ACLRole), nil
}

// ACLRoleList lists roles by name: all, or those linking to policy
// policyID.
func (s *Store) ACLRoleList(ws memdb.WatchSet, policyID string) (uint64, []*structs.ACLRole, error) {
	idx := s.scopeIndex(ws, tableACLRoles)
	it, err := s.readTxn().Get(tableACLRoles, "id")
	if err != nil {
		return 0, nil, err
	}
	out := []*structs.ACLRole{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if r := raw.(*structs.ACLRole); policyID == "" || r.HasPolicy(policyID) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return atLeastOne(idx), out, nil
}

// ACLAuthMethodGet reads an auth method by name.
func (s *Store) ACLAuthMethodGet(ws memdb.WatchSet, name string) (uint64, *structs.ACLAuthMethod, error) {
	idx := s.scopeIndex(ws, tableACLMethods)
	raw, err := s.readTxn().First(tableACLMethods, "id", name)
	if err != nil || raw == nil {
		return atLeastOne(idx), nil, err
	}
	return atLeastOne(idx), raw.(*structs.ACLAuthMethod), nil
}

// ACLAuthMethodList lists auth methods by name.
func (s *Store) ACLAuthMethodList(ws memdb.WatchSet) (uint64, []*structs.ACLAuthMethod, error) {
	idx := s.scopeIndex(ws, tableACLMethods)
	it, err := s.readTxn().Get(tableACLMethods, "id")
	if err != nil {
		return 0, nil, err
	}
	out := []*structs.ACLAuthMethod{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.ACLAuthMethod))
	}
	return atLeastOne(idx), out, nil
}

// ACLBindingRuleGet reads a binding rule by ID.
func (s *Store) ACLBindingRuleGet(ws memdb.WatchSet, id string) (uint64, *structs.ACLBindingRule, error) {
	idx := s.scopeIndex(ws, tableACLRules)
	raw, err := s.readTxn().First(tableACLRules, "id", id)
	if err != nil || raw == nil {
		return atLeastOne(idx), nil, err
	}
	return atLeastOne(idx), raw.(*structs.ACLBindingRule), nil
}

// ACLBindingRuleList lists binding rules, all or those of one auth
// method, in the order they were created.
func (s *Store) ACLBindingRuleList(ws memdb.WatchSet, method string) (uint64, []*structs.ACLBindingRule, error) {
	idx := s.scopeIndex(ws, tableACLRules)
	tx := s.readTxn()
	var it memdb.ResultIterator
	var err error
	if method == "" {
		it, err = tx.Get(tableACLRules, "id")
	} else {
		it, err = tx.Get(tableACLRules, "method", method)
	}
	if err != nil {
		return 0, nil, err
	}
	out := []*structs.ACLBindingRule{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.ACLBindingRule))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreateIndex < out[j].CreateIndex })
	return atLeastOne(idx), out, nil
}
