package state

import (
	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/structs"
)

// Usage counts the catalog's nodes, services and instances, with the index
// of the last change to nodes or services.
func (s *Store) Usage(ws memdb.WatchSet) (uint64, structs.ServiceUsage, error) {
	idx := max(s.scopeIndex(ws, tableNodes), s.scopeIndex(ws, tableServices))
	out := structs.ServiceUsage{ConnectServiceInstances: map[string]int{}}
	for _, k := range structs.ConnectKinds {
		out.ConnectServiceInstances[k] = 0
	}
	tx := s.readTxn()
	nodes, err := tx.Get(tableNodes, "id")
	if err != nil {
		return 0, out, err
	}
	for raw := nodes.Next(); raw != nil; raw = nodes.Next() {
		out.Nodes++
	}
	it, err := tx.Get(tableServices, "id")
	if err != nil {
		return 0, out, err
	}
	names := map[string]struct{}{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		row := raw.(*structs.ServiceRow)
		out.ServiceInstances++
		names[row.Service] = struct{}{}
		switch {
		case row.Kind != "":
			if _, known := out.ConnectServiceInstances[row.Kind]; known {
				out.ConnectServiceInstances[row.Kind]++
			}
		case row.Service == structs.ConsulServiceName:
		default:
			out.BillableServiceInstances++
		}
	}
	out.Services = len(names)
	return atLeastOne(idx), out, nil
}
