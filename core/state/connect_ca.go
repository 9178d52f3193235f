package state

import (
	"slices"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/structs"
)

// Scopes of the Connect CA: its configuration and its roots.
const (
	scopeCAConfig = "ca.config"
	scopeCARoots  = "ca.roots"
)

// caSet replaces the CA's configuration and roots, if the configuration
// is still the one the write was worked out from.
func (t *txn) caSet(req *structs.CARequest) error {
	if req.Config == nil {
		return structs.BadInput("a CA write needs a configuration")
	}
	raw, err := t.First(tableCAConfig, "id", true)
	if err != nil {
		return err
	}
	cfg := *req.Config
	cfg.CreateIndex, cfg.ModifyIndex = t.idx, t.idx
	if raw != nil {
		old := raw.(*structs.CAConfiguration)
		if old.ModifyIndex != req.CAS {
			return structs.BadInput("the CA configuration changed at index %d while this change was worked out; try again", old.ModifyIndex)
		}
		cfg.CreateIndex = old.CreateIndex
	} else if req.CAS != 0 {
		return structs.BadInput("the CA configuration this change was worked out from no longer exists; try again")
	}
	if err := t.Insert(tableCAConfig, &cfg); err != nil {
		return err
	}
	t.touch(scopeCAConfig)

	old := map[string]*structs.CARootState{}
	it, err := t.Get(tableCARoots, "id")
	if err != nil {
		return err
	}
	for x := it.Next(); x != nil; x = it.Next() {
		r := x.(*structs.CARootState)
		old[r.ID] = r
	}
	changed := len(old) != len(req.Roots)
	for _, r := range req.Roots {
		row := *r
		row.IntermediateCerts = slices.Clone(r.IntermediateCerts)
		row.CreateIndex, row.ModifyIndex = t.idx, t.idx
		if prev, ok := old[r.ID]; ok {
			delete(old, r.ID)
			row.CreateIndex, row.ModifyIndex = prev.CreateIndex, prev.ModifyIndex
			if prev.Active != row.Active || !slices.Equal(prev.IntermediateCerts, row.IntermediateCerts) {
				row.ModifyIndex = t.idx
				changed = true
			}
		} else {
			changed = true
		}
		if err := t.Insert(tableCARoots, &row); err != nil {
			return err
		}
	}
	for _, gone := range old {
		if err := t.Delete(tableCARoots, gone); err != nil {
			return err
		}
	}
	if changed {
		t.touch(scopeCARoots)
	}
	return nil
}

// CAConfig reads the CA's configuration, nil before the leader made one.
func (s *Store) CAConfig(ws memdb.WatchSet) (uint64, *structs.CAConfiguration, error) {
	idx := s.scopeIndex(ws, scopeCAConfig)
	raw, err := s.readTxn().First(tableCAConfig, "id", true)
	if err != nil || raw == nil {
		return atLeastOne(idx), nil, err
	}
	return atLeastOne(idx), raw.(*structs.CAConfiguration), nil
}

// CARoots reads the CA's roots, with their keys, and its configuration.
func (s *Store) CARoots(ws memdb.WatchSet) (uint64, *structs.CAConfiguration, []*structs.CARootState, error) {
	idx := s.scopeIndex(ws, scopeCARoots)
	tx := s.readTxn()
	var cfg *structs.CAConfiguration
	raw, err := tx.First(tableCAConfig, "id", true)
	if err != nil {
		return 0, nil, nil, err
	}
	if raw != nil {
		cfg = raw.(*structs.CAConfiguration)
	}
	it, err := tx.Get(tableCARoots, "id")
	if err != nil {
		return 0, nil, nil, err
	}
	var roots []*structs.CARootState
	for x := it.Next(); x != nil; x = it.Next() {
		roots = append(roots, x.(*structs.CARootState))
	}
	return atLeastOne(idx), cfg, roots, nil
}
