package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/structs"
)

// tableAutopilot holds the one autopilot configuration row.
const tableAutopilot = "autopilot"

// scopeAutopilot is the index of the autopilot configuration.
const scopeAutopilot = "autopilot"

// singletonIndex indexes the only row of a table under one fixed key.
type singletonIndex struct{}

var singletonKey = []byte("config\x00")

func (singletonIndex) FromObject(interface{}) (bool, []byte, error) { return true, singletonKey, nil }

func (singletonIndex) FromArgs(args ...interface{}) ([]byte, error) {
	if len(args) != 0 {
		return nil, fmt.Errorf("the autopilot table takes no lookup arguments")
	}
	return singletonKey, nil
}

func autopilotSchema() *memdb.TableSchema {
	return &memdb.TableSchema{Name: tableAutopilot, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: singletonIndex{}},
	}}
}

// AutopilotConfig returns the stored autopilot configuration, nil if none
// is stored yet, and the index of its last change.
func (s *Store) AutopilotConfig() (uint64, *structs.AutopilotConfig, error) {
	idx := s.scopeIndex(nil, scopeAutopilot)
	raw, err := s.readTxn().First(tableAutopilot, "id")
	if err != nil || raw == nil {
		return idx, nil, err
	}
	c := *raw.(*structs.AutopilotConfig)
	return idx, &c, nil
}

// autopilotSet stores a new configuration; a check-and-set whose index is
// not the stored one's changes nothing and answers false.
func (t *txn) autopilotSet(req *structs.AutopilotSetRequest) (bool, error) {
	if err := req.Config.Validate(); err != nil {
		return false, err
	}
	raw, err := t.First(tableAutopilot, "id")
	if err != nil {
		return false, err
	}
	var old *structs.AutopilotConfig
	if raw != nil {
		old = raw.(*structs.AutopilotConfig)
	}
	if req.CAS {
		switch {
		case old == nil && req.Config.ModifyIndex != 0,
			old != nil && old.ModifyIndex != req.Config.ModifyIndex:
			return false, nil
		}
	}
	c := req.Config
	c.CreateIndex, c.ModifyIndex = t.idx, t.idx
	if old != nil {
		c.CreateIndex = old.CreateIndex
	}
	if err := t.Insert(tableAutopilot, &c); err != nil {
		return false, err
	}
	t.touch(scopeAutopilot)
	return true, nil
}
