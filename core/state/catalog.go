package state

import (
	"fmt"
	"sort"
	"strings"

	"github.com/beacon-sd/beacon/core/structs"
)

// ensureRegistration applies a catalog register: the node, then the service,
// then the checks.
func (t *txn) ensureRegistration(req *structs.RegisterRequest) error {
	node := &structs.Node{
		ID:              req.ID,
		Node:            req.Node,
		Address:         req.Address,
		Datacenter:      req.Datacenter,
		TaggedAddresses: req.TaggedAddresses,
		Meta:            req.NodeMeta,
	}
	existing, err := t.First(tableNodes, "id", req.Node)
	if err != nil {
		return err
	}
	if !req.SkipNodeUpdate || existing == nil {
		if err := t.ensureNode(node); err != nil {
			return err
		}
	}
	if req.Service != nil {
		if err := t.ensureService(req.Node, req.Service); err != nil {
			return err
		}
	}
	if req.Check != nil {
		if err := t.ensureCheck(req.Node, req.Check); err != nil {
			return err
		}
	}
	for _, c := range req.Checks {
		if err := t.ensureCheck(req.Node, c); err != nil {
			return err
		}
	}
	return nil
}

func (t *txn) getNode(name string) (*structs.Node, error) {
	raw, err := t.First(tableNodes, "id", name)
	if err != nil || raw == nil {
		return nil, err
	}
	return raw.(*structs.Node), nil
}

// ensureNode inserts or updates a node; an identical node is left alone so
// that its index, and every reader watching it, stays put.
func (t *txn) ensureNode(n *structs.Node) error {
	if n.Node == "" {
		return structs.BadInput("missing node name")
	}
	existing, err := t.getNode(n.Node)
	if err != nil {
		return err
	}
	row := *n
	if existing != nil {
		if row.ID == "" {
			row.ID = existing.ID
		}
		// Node names are case-insensitive; keep the first spelling.
		row.Node = existing.Node
		if existing.IsSame(&row) {
			return nil
		}
		row.CreateIndex = existing.CreateIndex
	} else {
		row.CreateIndex = t.idx
	}
	if row.ID != "" {
		other, err := t.First(tableNodes, "uuid", row.ID)
		if err != nil {
			return err
		}
		if o, ok := other.(*structs.Node); ok && !strings.EqualFold(o.Node, row.Node) {
			return structs.BadInput("node ID %q is already used by node %q", row.ID, o.Node)
		}
	}
	row.ModifyIndex = t.idx
	if err := t.Insert(tableNodes, &row); err != nil {
		return err
	}
	t.touch(tableNodes, nodeScope(row.Node))
	if existing != nil {
		// Service views embed node fields: they changed too.
		return t.touchNodeServices(row.Node)
	}
	return nil
}

// touchNodeServices marks the catalog and health views of every service on a
// node as changed.
func (t *txn) touchNodeServices(node string) error {
	svcs, err := t.nodeServiceRows(node)
	if err != nil {
		return err
	}
	for _, s := range svcs {
		t.touch(svcScope(s.Service), svcHealthScope(s.Service))
	}
	return nil
}

func (t *txn) nodeServiceRows(node string) ([]*structs.ServiceRow, error) {
	it, err := t.Get(tableServices, "node", node)
	if err != nil {
		return nil, err
	}
	var out []*structs.ServiceRow
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.ServiceRow))
	}
	return out, nil
}

func (t *txn) nodeCheckRows(node string) ([]*structs.HealthCheck, error) {
	it, err := t.Get(tableChecks, "node", node)
	if err != nil {
		return nil, err
	}
	var out []*structs.HealthCheck
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.HealthCheck))
	}
	return out, nil
}

// tagSignature describes what /v1/catalog/services shows for one name: ""
// when no instance exists, else the sorted union of tags.
func (t *txn) tagSignature(name string) (string, error) {
	it, err := t.Get(tableServices, "service", name)
	if err != nil {
		return "", err
	}
	seen := map[string]struct{}{}
	any := false
	for raw := it.Next(); raw != nil; raw = it.Next() {
		any = true
		for _, tag := range raw.(*structs.ServiceRow).Tags {
			seen[tag] = struct{}{}
		}
	}
	if !any {
		return "", nil
	}
	tags := make([]string, 0, len(seen))
	for tag := range seen {
		tags = append(tags, tag)
	}
	sort.Strings(tags)
	return "\x01" + strings.Join(tags, "\x00"), nil
}

// withServiceList runs a write and touches the service list scope when the
// name -> tags map changed for any of names.
func (t *txn) withServiceList(names []string, write func() error) error {
	before := make([]string, len(names))
	for i, n := range names {
		sig, err := t.tagSignature(n)
		if err != nil {
			return err
		}
		before[i] = sig
	}
	if err := write(); err != nil {
		return err
	}
	for i, n := range names {
		sig, err := t.tagSignature(n)
		if err != nil {
			return err
		}
		if sig != before[i] {
			t.touch(scopeServiceList)
			break
		}
	}
	return nil
}

func (t *txn) getService(node, id string) (*structs.ServiceRow, error) {
	raw, err := t.First(tableServices, "id", node, id)
	if err != nil || raw == nil {
		return nil, err
	}
	return raw.(*structs.ServiceRow), nil
}

// ensureService inserts or updates a service instance on an existing node.
func (t *txn) ensureService(node string, svc *structs.NodeService) error {
	n, err := t.getNode(node)
	if err != nil {
		return err
	}
	if n == nil {
		return structs.ErrMissingNode
	}
	if svc.ID == "" || svc.Service == "" {
		return structs.BadInput("service needs an ID and a name")
	}
	existing, err := t.getService(node, svc.ID)
	if err != nil {
		return err
	}
	if existing != nil && existing.NodeService.IsSame(svc) {
		return nil
	}
	row := &structs.ServiceRow{Node: n.Node, NodeService: *svc}
	row.ModifyIndex = t.idx
	row.CreateIndex = t.idx
	names := []string{svc.Service}
	if existing != nil {
		row.CreateIndex = existing.CreateIndex
		if !strings.EqualFold(existing.Service, svc.Service) {
			names = append(names, existing.Service)
		}
	}
	err = t.withServiceList(names, func() error { return t.Insert(tableServices, row) })
	if err != nil {
		return err
	}
	t.touch(tableServices, nodeScope(n.Node))
	for _, name := range names {
		t.touch(svcScope(name), svcHealthScope(name))
	}
	if existing != nil && (existing.Service != svc.Service || !structs.StringsEqual(existing.Tags, svc.Tags)) {
		return t.refreshServiceChecks(row)
	}
	return nil
}

// refreshServiceChecks copies a service's name and tags into its checks.
func (t *txn) refreshServiceChecks(svc *structs.ServiceRow) error {
	checks, err := t.nodeCheckRows(svc.Node)
	if err != nil {
		return err
	}
	for _, c := range checks {
		if c.ServiceID != svc.ID {
			continue
		}
		nc := *c
		nc.ServiceName, nc.ServiceTags = svc.Service, svc.Tags
		nc.ModifyIndex = t.idx
		if err := t.Insert(tableChecks, &nc); err != nil {
			return err
		}
		t.touch(tableChecks, nodeHealthScope(svc.Node), checkStateScope(nc.Status))
	}
	return nil
}

// ensureCheck inserts or updates a check on an existing node (and service).
func (t *txn) ensureCheck(node string, c *structs.HealthCheck) error {
	n, err := t.getNode(node)
	if err != nil {
		return err
	}
	if n == nil {
		return structs.ErrMissingNode
	}
	if c.CheckID == "" {
		return structs.BadInput("check needs a CheckID")
	}
	row := *c
	row.Node = n.Node
	if row.Status == "" {
		row.Status = structs.HealthCritical
	}
	if !structs.ValidStatus(row.Status) {
		return structs.BadInput("invalid check status %q", row.Status)
	}
	if row.ServiceID != "" {
		svc, err := t.getService(node, row.ServiceID)
		if err != nil {
			return err
		}
		if svc == nil {
			return fmt.Errorf("%w %q for check %q", structs.ErrMissingService, row.ServiceID, row.CheckID)
		}
		row.ServiceName, row.ServiceTags = svc.Service, svc.Tags
	} else {
		row.ServiceName, row.ServiceTags = "", nil
	}
	raw, err := t.First(tableChecks, "id", node, c.CheckID)
	if err != nil {
		return err
	}
	var existing *structs.HealthCheck
	if raw != nil {
		existing = raw.(*structs.HealthCheck)
		if existing.IsSame(&row) {
			return nil
		}
		row.CreateIndex = existing.CreateIndex
	} else {
		row.CreateIndex = t.idx
	}
	row.ModifyIndex = t.idx
	if err := t.Insert(tableChecks, &row); err != nil {
		return err
	}
	if err := t.touchCheck(&row); err != nil {
		return err
	}
	if existing != nil {
		if err := t.touchCheck(existing); err != nil {
			return err
		}
	}
	if row.Status == structs.HealthCritical {
		return t.invalidateCheckSessions(row.Node, row.CheckID)
	}
	return nil
}

// touchCheck marks every view a check appears in as changed.
func (t *txn) touchCheck(c *structs.HealthCheck) error {
	t.touch(tableChecks, nodeHealthScope(c.Node), checkStateScope(c.Status))
	if c.ServiceID != "" {
		t.touch(svcHealthScope(c.ServiceName))
		return nil
	}
	// A node check bears on the health of every service on the node.
	svcs, err := t.nodeServiceRows(c.Node)
	if err != nil {
		return err
	}
	for _, s := range svcs {
		t.touch(svcHealthScope(s.Service))
	}
	return nil
}

func (t *txn) deregister(req *structs.DeregisterRequest) error {
	if req.Node == "" {
		return structs.BadInput("missing node name")
	}
	switch {
	case req.ServiceID != "":
		return t.deleteService(req.Node, req.ServiceID)
	case req.CheckID != "":
		return t.deleteCheck(req.Node, req.CheckID)
	default:
		return t.deleteNode(req.Node)
	}
}

func (t *txn) deleteCheck(node, id string) error {
	raw, err := t.First(tableChecks, "id", node, id)
	if err != nil || raw == nil {
		return err
	}
	c := raw.(*structs.HealthCheck)
	if err := t.Delete(tableChecks, c); err != nil {
		return err
	}
	if err := t.touchCheck(c); err != nil {
		return err
	}
	return t.invalidateCheckSessions(c.Node, c.CheckID)
}

func (t *txn) deleteService(node, id string) error {
	svc, err := t.getService(node, id)
	if err != nil || svc == nil {
		return err
	}
	checks, err := t.nodeCheckRows(node)
	if err != nil {
		return err
	}
	for _, c := range checks {
		if c.ServiceID == id {
			if err := t.deleteCheck(node, c.CheckID); err != nil {
				return err
			}
		}
	}
	err = t.withServiceList([]string{svc.Service}, func() error { return t.Delete(tableServices, svc) })
	if err != nil {
		return err
	}
	t.touch(tableServices, nodeScope(svc.Node), svcScope(svc.Service), svcHealthScope(svc.Service))
	return nil
}

func (t *txn) deleteNode(name string) error {
	n, err := t.getNode(name)
	if err != nil || n == nil {
		return err
	}
	svcs, err := t.nodeServiceRows(name)
	if err != nil {
		return err
	}
	for _, s := range svcs {
		if err := t.deleteService(name, s.ID); err != nil {
			return err
		}
	}
	checks, err := t.nodeCheckRows(name)
	if err != nil {
		return err
	}
	for _, c := range checks {
		if err := t.deleteCheck(name, c.CheckID); err != nil {
			return err
		}
	}
	if err := t.invalidateNodeSessions(name); err != nil {
		return err
	}
	if err := t.Delete(tableNodes, n); err != nil {
		return err
	}
	t.touch(tableNodes, nodeScope(n.Node), nodeHealthScope(n.Node))
	return nil
}
