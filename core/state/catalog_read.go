package state

import (
	"github.com/hashicorp/go-memdb"

	"github.com/beacon-sd/beacon/core/structs"
)

// Nodes lists every node, filtered by node meta.
func (s *Store) Nodes(ws memdb.WatchSet, meta map[string]string) (uint64, []*structs.Node, error) {
	idx := s.scopeIndex(ws, tableNodes)
	tx := s.readTxn()
	it, err := tx.Get(tableNodes, "id")
	if err != nil {
		return 0, nil, err
	}
	var out []*structs.Node
	for raw := it.Next(); raw != nil; raw = it.Next() {
		n := raw.(*structs.Node)
		if structs.MetaMatches(n.Meta, meta) {
			out = append(out, n)
		}
	}
	return atLeastOne(idx), out, nil
}

// GetNode returns one node or nil.
func (s *Store) GetNode(ws memdb.WatchSet, name string) (uint64, *structs.Node, error) {
	idx := s.scopeIndex(ws, nodeScope(name))
	tx := s.readTxn()
	raw, err := tx.First(tableNodes, "id", name)
	if err != nil || raw == nil {
		return atLeastOne(idx), nil, err
	}
	return atLeastOne(idx), raw.(*structs.Node), nil
}

// Services maps every service name to the union of its instances' tags,
// counting only instances on nodes that match meta.
func (s *Store) Services(ws memdb.WatchSet, meta map[string]string) (uint64, map[string][]string, error) {
	idx := s.scopeIndex(ws, scopeServiceList)
	if len(meta) > 0 {
		// Node meta can change which instances count.
		idx = max(idx, s.scopeIndex(ws, tableNodes))
	}
	tx := s.readTxn()
	it, err := tx.Get(tableServices, "id")
	if err != nil {
		return 0, nil, err
	}
	union := structs.TagUnion{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		row := raw.(*structs.ServiceRow)
		if len(meta) > 0 {
			n, err := tx.First(tableNodes, "id", row.Node)
			if err != nil {
				return 0, nil, err
			}
			if n == nil || !structs.MetaMatches(n.(*structs.Node).Meta, meta) {
				continue
			}
		}
		union.Add(row.Service, row.Tags)
	}
	return atLeastOne(idx), union.Map(), nil
}

// ServiceInstances returns every service instance joined with its node,
// keeping those whose node matches meta. Its index moves with any change to
// an instance or a node: everything a filter over the instances may read.
func (s *Store) ServiceInstances(ws memdb.WatchSet, meta map[string]string) (uint64, []structs.ServiceNode, error) {
	idx := max(s.scopeIndex(ws, tableServices), s.scopeIndex(ws, tableNodes))
	tx := s.readTxn()
	nodes, err := tx.Get(tableNodes, "id")
	if err != nil {
		return 0, nil, err
	}
	out := []structs.ServiceNode{}
	for raw := nodes.Next(); raw != nil; raw = nodes.Next() {
		node := raw.(*structs.Node)
		if !structs.MetaMatches(node.Meta, meta) {
			continue
		}
		svcs, err := tx.Get(tableServices, "node", node.Node)
		if err != nil {
			return 0, nil, err
		}
		for r := svcs.Next(); r != nil; r = svcs.Next() {
			out = append(out, structs.NewServiceNode(node, &r.(*structs.ServiceRow).NodeService))
		}
	}
	return atLeastOne(idx), out, nil
}

// ServiceNodes returns the instances of a service joined with their nodes,
// keeping those that carry every tag in tags and whose node matches meta.
func (s *Store) ServiceNodes(ws memdb.WatchSet, name string, tags []string, meta map[string]string) (uint64, []structs.ServiceNode, error) {
	idx := s.scopeIndex(ws, svcScope(name))
	tx := s.readTxn()
	it, err := tx.Get(tableServices, "service", name)
	if err != nil {
		return 0, nil, err
	}
	out := []structs.ServiceNode{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		row := raw.(*structs.ServiceRow)
		if !structs.HasTags(row.Tags, tags) {
			continue
		}
		n, err := tx.First(tableNodes, "id", row.Node)
		if err != nil {
			return 0, nil, err
		}
		if n == nil {
			continue
		}
		node := n.(*structs.Node)
		if !structs.MetaMatches(node.Meta, meta) {
			continue
		}
		out = append(out, structs.NewServiceNode(node, &row.NodeService))
	}
	return atLeastOne(idx), out, nil
}

// NodeServices returns a node and its services; the node is nil when it does
// not exist.
func (s *Store) NodeServices(ws memdb.WatchSet, node string) (uint64, *structs.Node, []*structs.NodeService, error) {
	idx := s.scopeIndex(ws, nodeScope(node))
	tx := s.readTxn()
	n, err := tx.First(tableNodes, "id", node)
	if err != nil || n == nil {
		return atLeastOne(idx), nil, nil, err
	}
	it, err := tx.Get(tableServices, "node", node)
	if err != nil {
		return 0, nil, nil, err
	}
	var out []*structs.NodeService
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, &raw.(*structs.ServiceRow).NodeService)
	}
	return atLeastOne(idx), n.(*structs.Node), out, nil
}

// NodeChecks returns the checks of one node.
func (s *Store) NodeChecks(ws memdb.WatchSet, node string) (uint64, []*structs.HealthCheck, error) {
	idx := s.scopeIndex(ws, nodeHealthScope(node))
	tx := s.readTxn()
	out, err := checksOf(tx, node)
	return atLeastOne(idx), out, err
}

func checksOf(tx *memdb.Txn, node string) ([]*structs.HealthCheck, error) {
	it, err := tx.Get(tableChecks, "node", node)
	if err != nil {
		return nil, err
	}
	out := []*structs.HealthCheck{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.HealthCheck))
	}
	return out, nil
}

// ServiceChecks returns the checks of every instance of a service.
func (s *Store) ServiceChecks(ws memdb.WatchSet, name string, meta map[string]string) (uint64, []*structs.HealthCheck, error) {
	idx := s.scopeIndex(ws, svcHealthScope(name))
	tx := s.readTxn()
	it, err := tx.Get(tableServices, "service", name)
	if err != nil {
		return 0, nil, err
	}
	out := []*structs.HealthCheck{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		row := raw.(*structs.ServiceRow)
		if len(meta) > 0 {
			n, err := tx.First(tableNodes, "id", row.Node)
			if err != nil {
				return 0, nil, err
			}
			if n == nil || !structs.MetaMatches(n.(*structs.Node).Meta, meta) {
				continue
			}
		}
		checks, err := checksOf(tx, row.Node)
		if err != nil {
			return 0, nil, err
		}
		for _, c := range checks {
			if c.ServiceID == row.ID {
				out = append(out, c)
			}
		}
	}
	return atLeastOne(idx), out, nil
}

// ChecksInState returns the checks in a state ("any" for all).
func (s *Store) ChecksInState(ws memdb.WatchSet, state string, meta map[string]string) (uint64, []*structs.HealthCheck, error) {
	scope := checkStateScope(state)
	if state == structs.HealthAny {
		scope = tableChecks
	}
	idx := s.scopeIndex(ws, scope)
	if len(meta) > 0 {
		idx = max(idx, s.scopeIndex(ws, tableNodes))
	}
	tx := s.readTxn()
	var it memdb.ResultIterator
	var err error
	if state == structs.HealthAny {
		it, err = tx.Get(tableChecks, "id")
	} else {
		it, err = tx.Get(tableChecks, "status", state)
	}
	if err != nil {
		return 0, nil, err
	}
	out := []*structs.HealthCheck{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		c := raw.(*structs.HealthCheck)
		if len(meta) > 0 {
			n, err := tx.First(tableNodes, "id", c.Node)
			if err != nil {
				return 0, nil, err
			}
			if n == nil || !structs.MetaMatches(n.(*structs.Node).Meta, meta) {
				continue
			}
		}
		out = append(out, c)
	}
	return atLeastOne(idx), out, nil
}

// CheckServiceNodes returns the health entries of a service: each instance
// with its node and the node's and instance's checks. With passingOnly, an
// instance with any check not passing is left out.
func (s *Store) CheckServiceNodes(ws memdb.WatchSet, name string, tags []string, meta map[string]string, passingOnly bool) (uint64, []structs.CheckServiceNode, error) {
	idx := s.scopeIndex(ws, svcHealthScope(name))
	tx := s.readTxn()
	it, err := tx.Get(tableServices, "service", name)
	if err != nil {
		return 0, nil, err
	}
	out := []structs.CheckServiceNode{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		row := raw.(*structs.ServiceRow)
		if !structs.HasTags(row.Tags, tags) {
			continue
		}
		n, err := tx.First(tableNodes, "id", row.Node)
		if err != nil {
			return 0, nil, err
		}
		if n == nil {
			continue
		}
		node := n.(*structs.Node)
		if !structs.MetaMatches(node.Meta, meta) {
			continue
		}
		cit, err := tx.Get(tableChecks, "node", row.Node)
		if err != nil {
			return 0, nil, err
		}
		checks := []*structs.HealthCheck{}
		healthy := true
		for c := cit.Next(); c != nil; c = cit.Next() {
			hc := c.(*structs.HealthCheck)
			if hc.ServiceID != "" && hc.ServiceID != row.ID {
				continue
			}
			if hc.Status != structs.HealthPassing {
				healthy = false
			}
			checks = append(checks, hc)
		}
		if passingOnly && !healthy {
			continue
		}
		out = append(out, structs.CheckServiceNode{Node: node, Service: &row.NodeService, Checks: checks})
	}
	return atLeastOne(idx), out, nil
}
