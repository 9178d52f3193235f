package agent

import (
	"fmt"
	"strings"

	"github.com/beacon-sd/beacon/core/structs"
)

const (
	defaultNodeMaintReason    = "Maintenance mode is enabled for this node, but no reason was provided. This is a default message."
	defaultServiceMaintReason = "Maintenance mode is enabled for this service, but no reason was provided. This is a default message."
)

func isMaintCheck(id string) bool {
	return id == structs.NodeMaintCheckID || strings.HasPrefix(id, structs.ServiceMaintPrefix)
}

// EnableNodeMaintenance puts the node in maintenance: a critical check that
// takes every instance on it out of ?passing answers and DNS.
func (a *Agent) EnableNodeMaintenance(reason, token string) {
	if reason == "" {
		reason = defaultNodeMaintReason
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if lc, ok := a.checks[structs.NodeMaintCheckID]; ok && !lc.deleted {
		return
	}
	hc := &structs.HealthCheck{
		Node: a.cfg.Node.Node, CheckID: structs.NodeMaintCheckID, Name: "Node Maintenance Mode",
		Notes: reason, Status: structs.HealthCritical, Type: "maintenance",
	}
	a.addCheckLocked(hc, nil, token, SourceAPI)
	a.persistLocked()
	a.triggerSync()
}

// DisableNodeMaintenance takes the node out of maintenance.
func (a *Agent) DisableNodeMaintenance() {
	_ = a.RemoveCheck(structs.NodeMaintCheckID)
}

// EnableServiceMaintenance puts one local service in maintenance.
func (a *Agent) EnableServiceMaintenance(id, reason, token string) error {
	if reason == "" {
		reason = defaultServiceMaintReason
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ls, ok := a.services[id]
	if !ok || ls.deleted {
		return fmt.Errorf("No service registered with ID %q", id)
	}
	cid := structs.ServiceMaintPrefix + id
	if lc, ok := a.checks[cid]; ok && !lc.deleted {
		return nil
	}
	hc := &structs.HealthCheck{
		Node: a.cfg.Node.Node, CheckID: cid, Name: "Service Maintenance Mode",
		Notes: reason, Status: structs.HealthCritical, Type: "maintenance",
		ServiceID: id, ServiceName: ls.svc.Service, ServiceTags: ls.svc.Tags,
	}
	a.addCheckLocked(hc, nil, token, SourceAPI)
	a.persistLocked()
	a.triggerSync()
	return nil
}

// DisableServiceMaintenance takes one local service out of maintenance.
func (a *Agent) DisableServiceMaintenance(id string) error {
	if a.Service(id) == nil {
		return fmt.Errorf("No service registered with ID %q", id)
	}
	_ = a.RemoveCheck(structs.ServiceMaintPrefix + id)
	return nil
}
